/**
 * Llama-family tokenizer.json files through Hugging Face's Tokenizers.js (@huggingface/tokenizers),
 * a kept pure-JS port of the Rust library: byte-level BPE behind each family's split regex (Llama 3,
 * Qwen2, SmolLM's digits), SentencePiece-style BPE with byte fallback (Llama 2, TinyLlama, Mistral),
 * normalizers, added and special tokens, and template post-processors.
 *
 *   const tok = HfTokenizer.fromJson(tokenizerJson, tokenizerConfig, { source: 'models/qwen/tokenizer.json' });
 *   tok.encode('Hello world')                    // [9707, 1879]
 *   tok.decode([9707, 1879])                     // 'Hello world'
 *
 * Ids equal the Rust library's (tokenizers 0.23.2) on test/fixtures/lm/tokenizers (see
 * test/lm/tokenizer/hfTokenizer.test.ts). What this file adds to the library:
 *   - encode's allowedSpecial, which the library lacks (the Rust library's encode_special_tokens):
 *     a special token that is not allowed is encoded as the plain text it is;
 *   - decode as the Rust library does: no clean-up of spaces before punctuation (transformers' option,
 *     which loses text), a byte-fallback run that is not UTF-8 becomes one U+FFFD per byte, and a
 *     U+FEFF is kept wherever it is;
 *   - the special tokens and chat template of tokenizer_config.json, and errors that name the file.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ByteFallbackDecoder,
  ByteLevelPreTokenizer,
  DigitsPreTokenizer,
  SequenceDecoder,
  SequencePreTokenizer,
  Tokenizer as Library,
  type Decoder,
  type PreTokenizer,
} from '@huggingface/tokenizers';
import { GPT2_SPLIT_PATTERN } from './pretokenize';
import { CONFIG_LIMITS } from '../configLimits';
import type { AllowedSpecial, EncodeOptions, SpecialTokenNames, TextTokenizer } from './textTokenizer';

interface AddedTokenJson {
  id: number;
  content: string;
  special: boolean;
  lstrip: boolean;
  rstrip: boolean;
}

export interface HfSources {
  /** Names tokenizer.json in errors. */
  source?: string;
  /** chat_template.jinja's text, which takes precedence over tokenizer_config.json's chat_template. */
  chatTemplateFile?: string;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** tokenizer_config.json writes a special token as its text or as an AddedToken object { content, ... }. */
function tokenText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value.content === 'string') return value.content;
  return undefined;
}

/**
 * tokenizer_config.json's chat_template: a string, or a list of named templates (then the one named
 * "default", as transformers picks).
 */
function chatTemplateOf(config: Record<string, unknown>, file: string): string | undefined {
  const t = config.chat_template;
  if (t === undefined || t === null) return undefined;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const named = t.find(
      (x): x is { name: string; template: string } =>
        isObject(x) && x.name === 'default' && typeof x.template === 'string',
    );
    if (named) return named.template;
  }
  throw new Error(`${file}: chat_template must be a string or a list with a template named "default"`);
}

/**
 * The Rust library's ByteFallback: bytes that form UTF-8 become their text (U+FEFF kept), else each
 * byte becomes U+FFFD. Tokens.js decodes with a default TextDecoder, which drops a leading U+FEFF
 * and replaces invalid bytes per maximal part; this replaces its decoder's text_decoder.
 */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const rustByteFallback = {
  decode(bytes: Uint8Array): string {
    try {
      return strictUtf8.decode(bytes);
    } catch {
      return '\uFFFD'.repeat(bytes.length);
    }
  },
};

function patchByteFallback(decoder: Decoder | null): void {
  if (decoder instanceof ByteFallbackDecoder)
    (decoder as unknown as { text_decoder: typeof rustByteFallback }).text_decoder = rustByteFallback;
  if (decoder instanceof SequenceDecoder)
    for (const d of (decoder as unknown as { decoders: Decoder[] }).decoders) patchByteFallback(d);
}

/**
 * Where Tokenizers.js's pre-tokenizers differ from the Rust library's (both found by the seeded
 * random strings of test/fixtures/lm/tokenizers/fuzz-reference.json.gz), the instances are set right:
 *  - ByteLevel with use_regex splits with GPT-2's pattern written with JavaScript's \s, which takes
 *    U+FEFF and leaves out U+0085; the Rust library's \s is Unicode White_Space. Our GPT-2 pattern
 *    (pretokenize.ts) is written with \p{White_Space}.
 *  - Digits: see below.
 */
function patchPreTokenizers(preTokenizer: PreTokenizer | null): void {
  if (preTokenizer instanceof ByteLevelPreTokenizer) {
    (preTokenizer as unknown as { pattern: RegExp }).pattern = new RegExp(GPT2_SPLIT_PATTERN.source, 'gu');
  }
  patchDigits(preTokenizer);
  if (preTokenizer instanceof SequencePreTokenizer) {
    for (const p of (preTokenizer as unknown as { tokenizers: PreTokenizer[] }).tokenizers) patchPreTokenizers(p);
  }
}

/**
 * The Rust library's Digits pre-tokenizer splits at chars that are numeric (char::is_numeric: Unicode
 * Nd, Nl, No, so "½", "²", "١" too); Tokenizers.js's splits at JavaScript's \d, ASCII digits only,
 * which gives other ids on such text under SmolLM's pipeline. This sets its pattern to \p{N}.
 */
function patchDigits(preTokenizer: PreTokenizer | null): void {
  if (preTokenizer instanceof DigitsPreTokenizer) {
    const digits = preTokenizer as unknown as { config: { individual_digits?: boolean }; pattern: RegExp };
    digits.pattern = new RegExp(`[^\\p{N}]+|\\p{N}${digits.config.individual_digits === true ? '' : '+'}`, 'gu');
  }
}

/** Splits text at the given tokens, leftmost first and longest at the same place, as the library does. */
function splitAt(text: string, tokens: readonly string[]): string[] {
  if (tokens.length === 0) return [text];
  const sorted = [...tokens].sort((a, b) => b.length - a.length);
  const parts: string[] = [];
  let start = 0;
  let at = 0;
  while (at < text.length) {
    const found = sorted.find((t) => text.startsWith(t, at));
    if (found === undefined) {
      at++;
      continue;
    }
    if (at > start) parts.push(text.slice(start, at));
    parts.push(found);
    at += found.length;
    start = at;
  }
  if (start < text.length) parts.push(text.slice(start));
  return parts;
}

/** The largest token id a file may use: ids size arrays (tokenOf, a model's embedding). */
const MAX_TOKEN_ID = CONFIG_LIMITS.vocab - 1;

function isTokenId(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_TOKEN_ID;
}

/**
 * The BPE model's vocabulary and merges, checked before Tokenizers.js builds from them, as the
 * Rust library (the reference) checks them: every id a whole number in range, and both parts of
 * every merge and the token it makes in the vocabulary. Tokenizers.js itself would take a merge of
 * unknown tokens and fail, or tokenize differently, only when text reached it.
 */
function checkBpeModel(model: Record<string, unknown>, source: string): void {
  const vocab = model.vocab;
  if (!isObject(vocab)) throw new Error(`${source}: model.vocab must be an object of token -> id`);
  for (const [token, id] of Object.entries(vocab)) {
    if (!isTokenId(id))
      throw new Error(
        `${source}: model.vocab ${JSON.stringify(token)} has id ${JSON.stringify(id)}, not a whole number in [0, ${MAX_TOKEN_ID}]`,
      );
  }
  const merges = model.merges ?? [];
  if (!Array.isArray(merges)) throw new Error(`${source}: model.merges must be an array`);
  const has = (token: string) => Object.prototype.hasOwnProperty.call(vocab, token);
  merges.forEach((merge: unknown, i) => {
    const pair =
      typeof merge === 'string'
        ? merge.split(' ')
        : Array.isArray(merge)
          ? merge.map((part) => (typeof part === 'string' ? part : ''))
          : [];
    if (pair.length !== 2 || pair[0] === '' || pair[1] === '')
      throw new Error(`${source}: model.merges[${i}]: expected "a b" or ["a", "b"], got ${JSON.stringify(merge)}`);
    const [a, b] = pair as [string, string];
    const shown = JSON.stringify(`${a} ${b}`);
    for (const part of [a, b])
      if (!has(part))
        throw new Error(
          `${source}: model.merges[${i}]: merge ${shown}: ${JSON.stringify(part)} is not in the vocabulary`,
        );
    if (!has(a + b))
      throw new Error(
        `${source}: model.merges[${i}]: merge ${shown}: the merged token ${JSON.stringify(a + b)} is not in the vocabulary`,
      );
  });
}

export class HfTokenizer implements TextTokenizer {
  readonly kind = 'huggingface' as const;
  readonly vocabSize: number;
  readonly eosTokenId: number | undefined;
  readonly bosTokenId: number | undefined;
  readonly specialTokens: Readonly<SpecialTokenNames>;
  readonly chatTemplate: string | undefined;

  private readonly library: Library;
  private readonly added: readonly AddedTokenJson[];
  private readonly addedByContent: ReadonlyMap<string, AddedTokenJson>;
  private readonly specials: readonly string[];
  /** Each id's token text, for decode's check; undefined for ids no token has. */
  private readonly tokenOf: readonly (string | undefined)[];
  private readonly unkId: number | undefined;

  private constructor(
    private readonly json: Record<string, unknown>,
    private readonly config: Record<string, unknown>,
    private readonly files: { source: string; chatTemplateFile: string | undefined },
  ) {
    const source = files.source;
    const model = json.model;
    if (!isObject(model)) throw new Error(`${source}: "model" is missing or not an object`);
    // Only BPE models are checked against the reference here (Llama, Qwen, SmolLM, Mistral use it).
    if (model.type !== 'BPE')
      throw new Error(`${source}: model type ${JSON.stringify(model.type)} is not supported; only "BPE" is`);
    if (model.dropout !== undefined && model.dropout !== null && model.dropout !== 0)
      throw new Error(
        `${source}: model.dropout ${String(model.dropout)} is not supported (encoding here is deterministic)`,
      );
    checkBpeModel(model, source);
    const addedJson = json.added_tokens ?? [];
    if (!Array.isArray(addedJson)) throw new Error(`${source}: added_tokens must be an array`);
    this.added = addedJson.map((t: unknown, i) => {
      if (!isObject(t) || !isTokenId(t.id) || typeof t.content !== 'string' || t.content === '') {
        throw new Error(
          `${source}: added_tokens[${i}]: expected an object with a numeric "id" and a non-empty string "content"`,
        );
      }
      if (t.single_word === true)
        throw new Error(
          `${source}: added_tokens[${i}] (${JSON.stringify(t.content)}): "single_word": true is not supported`,
        );
      return {
        id: t.id,
        content: t.content,
        special: t.special === true,
        lstrip: t.lstrip === true,
        rstrip: t.rstrip === true,
      };
    });
    this.addedByContent = new Map(this.added.map((t) => [t.content, t]));
    this.specials = this.added.filter((t) => t.special).map((t) => t.content);

    try {
      // The library reads tokenizer_config.json only for quirks of transformers' slow tokenizers;
      // the Rust library, the reference, reads tokenizer.json alone, so it gets an empty config.
      this.library = new Library(json, {});
    } catch (error) {
      throw new Error(`${source}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    patchByteFallback(this.library.decoder);
    patchPreTokenizers(this.library.pre_tokenizer);

    const tokenOf: (string | undefined)[] = [];
    for (const [token, id] of this.library.get_vocab(true)) tokenOf[id] = token;
    for (const t of this.added) tokenOf[t.id] = t.content;
    this.tokenOf = tokenOf;
    this.vocabSize = tokenOf.length;
    this.unkId = typeof model.unk_token === 'string' ? this.library.token_to_id(model.unk_token) : undefined;

    const configFile = source.replace(/tokenizer\.json$/, 'tokenizer_config.json');
    const names: SpecialTokenNames = {};
    for (const key of ['bos', 'eos', 'unk', 'pad'] as const) {
      const text = tokenText(config[`${key}_token`]);
      if (text === undefined) continue;
      if (this.tokenId(text) === undefined)
        throw new Error(`${configFile}: ${key}_token ${JSON.stringify(text)} is not a token of ${source}`);
      names[key] = text;
    }
    this.specialTokens = names;
    this.eosTokenId = names.eos !== undefined ? this.tokenId(names.eos) : this.tokenId('<|endoftext|>');
    this.bosTokenId = names.bos !== undefined ? this.tokenId(names.bos) : undefined;
    this.chatTemplate = files.chatTemplateFile ?? chatTemplateOf(config, configFile);
  }

  /**
   * From a parsed tokenizer.json and tokenizer_config.json ({} when the folder has none).
   * `sources.source` names tokenizer.json in errors (tokenizer_config.json is named beside it).
   */
  static fromJson(tokenizerJson: unknown, tokenizerConfig: unknown = {}, sources: HfSources = {}): HfTokenizer {
    const source = sources.source ?? 'tokenizer.json';
    if (!isObject(tokenizerJson)) throw new Error(`${source}: expected a tokenizer.json object`);
    if (!isObject(tokenizerConfig))
      throw new Error(`${source.replace(/tokenizer\.json$/, 'tokenizer_config.json')}: expected an object`);
    return new HfTokenizer(tokenizerJson, tokenizerConfig, { source, chatTemplateFile: sources.chatTemplateFile });
  }

  describe(): string {
    const model = this.json.model as Record<string, unknown>;
    const kind = model.byte_fallback === true ? 'SentencePiece-style BPE with byte fallback' : 'byte-level BPE';
    return `${kind}, ${this.vocabSize} tokens${this.chatTemplate !== undefined ? ', chat template' : ''}`;
  }

  tokenId(token: string): number | undefined {
    return this.addedByContent.get(token)?.id ?? this.library.token_to_id(token);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const addSpecialTokens = options.addSpecialTokens ?? false;
    const refused = this.refusedSpecials(options.allowedSpecial ?? 'all');
    if (!refused.some((s) => text.includes(s)))
      return this.library.encode(text, { add_special_tokens: addSpecialTokens }).ids;
    return this.encodeWithout(text, new Set(refused), addSpecialTokens);
  }

  decode(ids: readonly number[]): string {
    for (const id of ids) {
      if (!Number.isInteger(id) || this.tokenOf[id] === undefined)
        throw new RangeError(`decode: ${id} is not a token id of this tokenizer (vocabulary size ${this.vocabSize})`);
    }
    if (ids.length === 0) return '';
    return this.library.decode([...ids], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  toHuggingFaceJson(): object {
    return this.json;
  }

  /** Writes tokenizer.json and tokenizer_config.json as they were read (and chat_template.jinja when it was a file). */
  async save(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    const write = async (name: string, text: string) => {
      const path = join(dir, name);
      const temporary = `${path}.${process.pid}.tmp`;
      await writeFile(temporary, text);
      await rename(temporary, path);
    };
    await write('tokenizer.json', `${JSON.stringify(this.json)}\n`);
    await write('tokenizer_config.json', `${JSON.stringify(this.config, null, 2)}\n`);
    if (this.files.chatTemplateFile !== undefined) await write('chat_template.jinja', this.files.chatTemplateFile);
  }

  private refusedSpecials(allowed: AllowedSpecial): string[] {
    if (allowed === 'all') return [];
    if (allowed === 'none') return [...this.specials];
    for (const s of allowed)
      if (this.addedByContent.get(s)?.special !== true)
        throw new Error(`encode: allowedSpecial holds ${JSON.stringify(s)}, which is not a special token`);
    return this.specials.filter((s) => !allowed.has(s));
  }

  /**
   * The library's encode with some special tokens read as plain text: the text is split at the added
   * tokens that still match, and each piece between them goes through the library's normalizer,
   * pre-tokenizer and model, as its encode does (the Rust library's encode_special_tokens).
   */
  private encodeWithout(text: string, refused: ReadonlySet<string>, addSpecialTokens: boolean): number[] {
    const matching = this.added.filter((t) => !refused.has(t.content));
    const sections = splitAt(
      text,
      matching.map((t) => t.content),
    );
    sections.forEach((section, i) => {
      const token = this.addedByContent.get(section);
      if (token === undefined || refused.has(section)) return;
      if (token.lstrip && i > 0) sections[i - 1] = sections[i - 1]!.trimEnd();
      if (token.rstrip && i < sections.length - 1) sections[i + 1] = sections[i + 1]!.trimStart();
    });
    const { normalizer, pre_tokenizer: preTokenizer, model } = this.library;
    const tokens = sections.flatMap((section, sectionIndex) => {
      if (section.length === 0) return [];
      if (this.addedByContent.has(section) && !refused.has(section)) return [section];
      const normalized = normalizer ? normalizer(section) : section;
      if (normalized.length === 0) return [];
      const pieces = preTokenizer ? preTokenizer(normalized, { section_index: sectionIndex }) : [normalized];
      return model!(pieces);
    });
    const processed =
      addSpecialTokens && this.library.post_processor ? this.library.post_processor(tokens, null, true).tokens : tokens;
    return processed.map((t) => {
      const id = this.library.token_to_id(t) ?? this.unkId;
      if (id === undefined) throw new Error(`encode: the model gave token ${JSON.stringify(t)}, which has no id`);
      return id;
    });
  }
}
