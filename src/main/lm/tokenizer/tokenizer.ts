/**
 * The byte-level BPE tokenizer: GPT-2's ids from GPT-2's files, Hugging Face's tokenizer.json in
 * and out, and training on texts.
 *
 *   const tok = await Tokenizer.load('models/gpt2');     // tokenizer.json, or vocab.json + merges.txt
 *   tok.encode("Hello world's<|endoftext|>")            // [15496, 995, 338, 50256]
 *   tok.decode([15496, 995])                             // 'Hello world'
 *   tok.encode('<|endoftext|>', { allowedSpecial: 'none' }) // [27, 91, 437, 1659, 5239, 91, 29]
 *
 * Encoding: special tokens are cut out whole (when allowed), the text between them is split with
 * GPT-2's pattern, each chunk's UTF-8 bytes become byte tokens, and merges are applied by rank.
 * Decoding: token bytes are joined and read as UTF-8, an invalid sequence becoming U+FFFD per
 * maximal invalid part, as Hugging Face's decoder (Rust's from_utf8_lossy) does.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { applyMerges, mergeTable, type MergeTable } from './bpe';
import { byteToChar, tokenTextToBytes } from './bytes';
import { BoundedCache } from './cache';
import { parseTokenizerJson, parseVocabAndMerges, toTokenizerJson, type Origin } from './huggingface';
import { pretokenize, specialPattern, splitSpecial } from './pretokenize';
import { checkAddedTokens, checkVocab, END_OF_TEXT, resolveMerges, type AddedToken, type BpeSpec } from './spec';
import { trainBpe, type TrainOptions } from './train';
import type { AllowedSpecial, EncodeOptions, SpecialTokenNames, TextTokenizer } from './textTokenizer';

export type { AllowedSpecial };

/** Chunks whose ids are remembered; most words of a text are met again. */
const CACHE_SIZE = 50_000;

const utf8 = new TextEncoder();
// ignoreBOM keeps a leading U+FEFF, which is text like any other character here.
const utf8Lossy = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

export async function readJson(path: string): Promise<unknown> {
  const text = await readFile(path, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`${path}: not valid JSON: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}

/** Ours, for GPT-2's files and the tokenizers `model new` trains; index.ts's Tokenizer.load picks it or hfTokenizer.ts. */
export class BpeTokenizer implements TextTokenizer {
  readonly kind = 'bpe' as const;
  /** highest id + 1: the rows a model's embedding needs. */
  readonly vocabSize: number;
  /** The id of <|endoftext|>, when the vocabulary has it. */
  readonly eosTokenId: number | undefined;
  /** GPT-2 writes no BOS; its tokenizer_config's bos_token is <|endoftext|>, which a raw prompt does not start with. */
  readonly bosTokenId = undefined;
  readonly specialTokens: Readonly<SpecialTokenNames>;
  /** GPT-2 and the tokenizers trained here have no chat template. */
  readonly chatTemplate = undefined;

  private readonly ids: ReadonlyMap<string, number>;
  private readonly table: MergeTable;
  /** The id of each byte value's token. */
  private readonly byteIds: readonly number[];
  /** Each id's bytes, for decoding; undefined for ids no token has. */
  private readonly bytesOf: readonly (Uint8Array | undefined)[];
  private readonly added: ReadonlyMap<string, AddedToken>;
  private readonly allSpecialsPattern: RegExp | null;
  private readonly cache = new BoundedCache<string, readonly number[]>(CACHE_SIZE);

  private constructor(
    private readonly spec: BpeSpec,
    origin: Origin,
  ) {
    checkVocab(spec.vocab, origin.vocab);
    checkAddedTokens(spec.vocab, spec.addedTokens, origin.vocab);
    this.ids = spec.vocab;
    this.table = mergeTable(resolveMerges(spec.vocab, spec.merges, origin.merge));
    this.added = new Map(spec.addedTokens.map((t) => [t.content, t]));
    this.allSpecialsPattern = specialPattern(this.added.keys());

    const byteIds: number[] = [];
    for (let b = 0; b < 256; b++) byteIds.push(this.ids.get(byteToChar[b]!)!);
    this.byteIds = byteIds;

    const bytesOf: (Uint8Array | undefined)[] = [];
    // Hugging Face falls back to a token's own UTF-8 when its text is not byte-level (a special token).
    for (const [text, id] of spec.vocab) bytesOf[id] = tokenTextToBytes(text) ?? utf8.encode(text);
    for (const t of spec.addedTokens) bytesOf[t.id] = utf8.encode(t.content);
    this.bytesOf = bytesOf;
    this.vocabSize = bytesOf.length;
    this.eosTokenId = this.tokenId(END_OF_TEXT);
    this.specialTokens = this.eosTokenId === undefined ? {} : { eos: END_OF_TEXT };
  }

  /** From a parsed tokenizer.json; `source` names the file in errors. */
  static fromHuggingFaceJson(json: unknown, source = 'tokenizer.json'): BpeTokenizer {
    const { spec, origin } = parseTokenizerJson(json, source);
    return new BpeTokenizer(spec, origin);
  }

  /**
   * From GPT-2's vocab.json (parsed) and merges.txt (text). `source` is the folder they came from,
   * so errors name `${source}/vocab.json` or `${source}/merges.txt:LINE`.
   */
  static fromVocabAndMerges(vocabJson: unknown, mergesText: string, source?: string): BpeTokenizer {
    const files =
      source === undefined
        ? { vocab: 'vocab.json', merges: 'merges.txt' }
        : { vocab: join(source, 'vocab.json'), merges: join(source, 'merges.txt') };
    const { spec, origin } = parseVocabAndMerges(vocabJson, mergesText, files);
    return new BpeTokenizer(spec, origin);
  }

  /** dir/tokenizer.json when present, else dir/vocab.json + dir/merges.txt. */
  static async load(dir: string): Promise<BpeTokenizer> {
    const json = join(dir, 'tokenizer.json');
    if (existsSync(json)) return BpeTokenizer.fromHuggingFaceJson(await readJson(json), json);
    const vocab = join(dir, 'vocab.json');
    const merges = join(dir, 'merges.txt');
    const has = [existsSync(vocab), existsSync(merges)];
    if (!has[0] || !has[1]) {
      const missing = has[0] ? 'merges.txt' : has[1] ? 'vocab.json' : 'vocab.json or merges.txt';
      throw new Error(`${dir}: no tokenizer.json, and no ${missing} beside it: cannot load a tokenizer`);
    }
    return BpeTokenizer.fromVocabAndMerges(await readJson(vocab), await readFile(merges, 'utf8'), dir);
  }

  /** A new byte-level BPE learned from `texts` (see train.ts). */
  static train(texts: Iterable<string>, options: TrainOptions): BpeTokenizer {
    return new BpeTokenizer(trainBpe(texts, options), { vocab: 'train', merge: (i) => `train: merge ${i}` });
  }

  describe(): string {
    return `byte-level BPE, ${this.vocabSize} tokens`;
  }

  toHuggingFaceJson(): object {
    return toTokenizerJson(this.spec);
  }

  /** Writes dir/tokenizer.json (creating dir), through a temporary file so a reader never sees half of it. */
  async save(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    const path = join(dir, 'tokenizer.json');
    const temporary = `${path}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(this.toHuggingFaceJson(), null, 2)}\n`);
    await rename(temporary, path);
  }

  /** The id of a token by its vocabulary text ('Ġthe' for " the") or an added token's content. */
  tokenId(token: string): number | undefined {
    return this.added.get(token)?.id ?? this.ids.get(token);
  }

  /**
   * Token ids of `text`. allowedSpecial: which special tokens match as such ('all' by default); others
   * are plain text. addSpecialTokens adds nothing: GPT-2's post-processor writes no BOS or EOS.
   */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const ids: number[] = [];
    for (const segment of splitSpecial(text, this.specialsPattern(options.allowedSpecial ?? 'all'))) {
      if ('special' in segment) ids.push(this.added.get(segment.special)!.id);
      else this.encodeOrdinary(segment.text, ids);
    }
    return ids;
  }

  /** The text of token ids; throws on an id no token has. */
  decode(ids: readonly number[]): string {
    const parts: Uint8Array[] = [];
    let length = 0;
    for (const id of ids) {
      const bytes = this.bytesOf[id];
      if (bytes === undefined)
        throw new RangeError(`decode: ${id} is not a token id of this tokenizer (vocabulary size ${this.vocabSize})`);
      parts.push(bytes);
      length += bytes.length;
    }
    const all = new Uint8Array(length);
    let at = 0;
    for (const part of parts) {
      all.set(part, at);
      at += part.length;
    }
    return utf8Lossy.decode(all);
  }

  private specialsPattern(allowed: AllowedSpecial): RegExp | null {
    if (allowed === 'all') return this.allSpecialsPattern;
    if (allowed !== 'none') {
      for (const s of allowed)
        if (this.added.get(s)?.special !== true)
          throw new Error(`encode: allowedSpecial holds ${JSON.stringify(s)}, which is not a special token`);
    }
    // Added tokens that are not special always match, as in Hugging Face.
    const tokens = [...this.added.values()].filter((t) => !t.special || (allowed !== 'none' && allowed.has(t.content)));
    return specialPattern(tokens.map((t) => t.content));
  }

  private encodeOrdinary(text: string, out: number[]): void {
    // Hugging Face's add_prefix_space applies to each piece between added tokens.
    const input = this.spec.addPrefixSpace && !text.startsWith(' ') ? ` ${text}` : text;
    for (const chunk of pretokenize(input)) {
      let ids = this.cache.get(chunk);
      if (ids === undefined) {
        ids = applyMerges(
          Array.from(utf8.encode(chunk), (b) => this.byteIds[b]!),
          this.table,
        );
        this.cache.set(chunk, ids);
      }
      for (const id of ids) out.push(id);
    }
  }
}
