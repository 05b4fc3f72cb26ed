/**
 * The two file formats of a byte-level BPE tokenizer, read into a BpeSpec and written back:
 * Hugging Face's one-file tokenizer.json, and GPT-2's original vocab.json + merges.txt.
 *
 *   parseTokenizerJson({ model: { type: 'BPE', vocab: { '!': 0, ... }, merges: ['Ġ t', ...] },
 *                        pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false }, ... }, 'tokenizer.json')
 *     -> { spec: { vocab, merges: [['Ġ', 't'], ...], addedTokens: [...], addPrefixSpace: false },
 *          origin: { vocab: 'tokenizer.json', merge: (i) => 'tokenizer.json: model.merges[i]' } }
 *   parseMergesText('#version: 0.2\nĠ t\nĠ a\n', 'merges.txt') -> [[['Ġ', 't'], ['Ġ', 'a']], [2, 3]]
 *
 * Only what changes the ids is checked hard: a setting this tokenizer would not honour (another
 * model type, a normalizer, merges dropout, a template post-processor) is an error that names the
 * file and the setting, never silently different ids.
 */
import { END_OF_TEXT, type AddedToken, type BpeSpec } from './spec';

/** Where a spec was read from, for the errors that checking it may raise. */
export interface Origin {
  /** Names the vocabulary's file (and the added tokens'). */
  vocab: string;
  /** Names where merge i was read: "merges.txt:7" or "tokenizer.json: model.merges[5]". */
  merge: (i: number) => string;
}

export interface Parsed {
  spec: BpeSpec;
  origin: Origin;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value);
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

function typeName(part: unknown): string {
  return isObject(part) && typeof part.type === 'string' ? `"${part.type}"` : describe(part);
}

/** An object's own entries as a Map: tokens such as "__proto__" stay ordinary keys. */
function vocabMap(value: unknown, where: string): Map<string, unknown> {
  if (!isObject(value)) throw new Error(`${where} must be an object of token -> id, got ${describe(value)}`);
  return new Map(Object.entries(value));
}

function mergeFromString(text: string): [string, string] | null {
  const parts = text.split(' ');
  return parts.length === 2 && parts[0] !== '' && parts[1] !== '' ? [parts[0]!, parts[1]!] : null;
}

function mergeFromJson(value: unknown): [string, string] | null {
  if (typeof value === 'string') return mergeFromString(value);
  if (
    Array.isArray(value) &&
    value.length === 2 &&
    typeof value[0] === 'string' &&
    typeof value[1] === 'string' &&
    value[0] !== '' &&
    value[1] !== ''
  ) {
    return [value[0], value[1]];
  }
  return null;
}

function addedToken(value: unknown, where: string): AddedToken {
  if (!isObject(value) || typeof value.content !== 'string' || typeof value.id !== 'number') {
    throw new Error(`${where}: expected an object with a numeric "id" and a string "content", got ${describe(value)}`);
  }
  // Stripping neighbouring spaces or matching only whole words would change ids; refuse rather than ignore.
  for (const flag of ['single_word', 'lstrip', 'rstrip'] as const) {
    if (value[flag] === true)
      throw new Error(`${where} (${JSON.stringify(value.content)}): "${flag}": true is not supported`);
  }
  return { id: value.id, content: value.content, special: value.special === true };
}

function isAbsent(value: unknown): boolean {
  return value === undefined || value === null;
}

/** A tokenizer.json of a byte-level BPE model, as Hugging Face's tokenizers library writes it. */
export function parseTokenizerJson(json: unknown, file: string): Parsed {
  if (!isObject(json)) throw new Error(`${file}: expected a tokenizer.json object, got ${describe(json)}`);
  const model = json.model;
  if (!isObject(model)) throw new Error(`${file}: "model" is missing or not an object`);
  // Files from before the "type" field existed hold a BPE model when they hold merges.
  if (model.type !== 'BPE' && !(model.type === undefined && Array.isArray(model.merges))) {
    throw new Error(`${file}: model type ${describe(model.type)} is not supported; only "BPE" is`);
  }
  if (!isAbsent(model.dropout) && model.dropout !== 0)
    throw new Error(
      `${file}: model.dropout ${describe(model.dropout)} is not supported (encoding here is deterministic)`,
    );
  for (const key of ['continuing_subword_prefix', 'end_of_word_suffix'] as const) {
    if (!isAbsent(model[key]) && model[key] !== '')
      throw new Error(`${file}: model.${key} ${describe(model[key])} is not supported by byte-level BPE`);
  }
  if (model.ignore_merges === true) throw new Error(`${file}: model.ignore_merges true is not supported`);
  if (!isAbsent(json.normalizer))
    throw new Error(
      `${file}: normalizer ${typeName(json.normalizer)} is not supported; byte-level BPE as in GPT-2 has none`,
    );

  const pre = json.pre_tokenizer;
  if (!isObject(pre) || pre.type !== 'ByteLevel')
    throw new Error(`${file}: pre_tokenizer ${typeName(pre)} is not supported; expected "ByteLevel"`);
  if (pre.use_regex === false)
    throw new Error(`${file}: pre_tokenizer ByteLevel with use_regex false is not supported`);
  for (const key of ['post_processor', 'decoder'] as const) {
    const part = json[key];
    if (!isAbsent(part) && !(isObject(part) && part.type === 'ByteLevel'))
      throw new Error(`${file}: ${key} ${typeName(part)} is not supported; expected "ByteLevel" or null`);
  }

  const vocab = vocabMap(model.vocab, `${file}: model.vocab`);
  if (!Array.isArray(model.merges))
    throw new Error(`${file}: model.merges must be an array, got ${describe(model.merges)}`);
  const merges = model.merges.map((m: unknown, i) => {
    const merge = mergeFromJson(m);
    if (merge === null)
      throw new Error(`${file}: model.merges[${i}]: expected "a b" or ["a", "b"], got ${describe(m)}`);
    return merge;
  });
  const added = json.added_tokens ?? [];
  if (!Array.isArray(added)) throw new Error(`${file}: added_tokens must be an array, got ${describe(added)}`);

  return {
    spec: {
      // checkVocab (in the Tokenizer) turns the unknown ids into numbers or names the bad one.
      vocab: vocab as Map<string, number>,
      merges,
      addedTokens: added.map((t: unknown, i) => addedToken(t, `${file}: added_tokens[${i}]`)),
      // Hugging Face's ByteLevel defaults to adding the space when the file does not say.
      addPrefixSpace: pre.add_prefix_space !== false,
    },
    origin: { vocab: file, merge: (i) => `${file}: model.merges[${i}]` },
  };
}

/** merges.txt's merges in rank order and the line (from 1) each came from: "#version" and blank lines skipped. */
export function parseMergesText(text: string, file: string): [merges: [string, string][], lines: number[]] {
  const merges: [string, string][] = [];
  const lines: number[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '' || (i === 0 && line.startsWith('#version'))) return;
    const merge = mergeFromString(line);
    if (merge === null)
      throw new Error(`${file}:${i + 1}: expected two tokens separated by one space, got ${describe(line)}`);
    merges.push(merge);
    lines.push(i + 1);
  });
  return [merges, lines];
}

/**
 * GPT-2's vocab.json (token -> id) and merges.txt. These files do not say which tokens are special,
 * so <|endoftext|>, GPT-2's only one, is special when the vocabulary holds it.
 */
export function parseVocabAndMerges(
  vocabJson: unknown,
  mergesText: string,
  files: { vocab: string; merges: string },
): Parsed {
  const vocab = vocabMap(vocabJson, files.vocab);
  const [merges, lines] = parseMergesText(mergesText, files.merges);
  const eos = vocab.get(END_OF_TEXT);
  return {
    spec: {
      // As above: the Tokenizer's checkVocab names any id that is not a number.
      vocab: vocab as Map<string, number>,
      merges,
      addedTokens: typeof eos === 'number' ? [{ id: eos, content: END_OF_TEXT, special: true }] : [],
      addPrefixSpace: false,
    },
    origin: { vocab: files.vocab, merge: (i) => `${files.merges}:${lines[i]}` },
  };
}

/**
 * A tokenizer.json that Hugging Face's tokenizers library loads as GPT-2's: ByteLevel
 * pre-tokenizer, post-processor and decoder, a BPE model, the added tokens. Merges are written as
 * "a b" strings, which every version of the library reads (byte-level tokens never hold a space),
 * or as ["a", "b"] pairs (library 0.20 on) when some token does.
 */
export function toTokenizerJson(spec: BpeSpec): object {
  // A null prototype, so that a token named "__proto__" is an ordinary key.
  const vocab: Record<string, number> = Object.create(null) as Record<string, number>;
  for (const [token, id] of [...spec.vocab].sort((x, y) => x[1] - y[1])) vocab[token] = id;
  // Only a token loaded from elsewhere can hold a space; then only the pair form is unambiguous.
  const spacedMerges = spec.merges.some(([a, b]) => a.includes(' ') || b.includes(' '));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: spec.addedTokens.map((t) => ({
      id: t.id,
      content: t.content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: t.special,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: spec.addPrefixSpace, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: spacedMerges ? spec.merges.map(([a, b]) => [a, b]) : spec.merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}
