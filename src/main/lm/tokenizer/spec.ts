/**
 * What a byte-level BPE tokenizer is, as plain data (the shape of a tokenizer.json's model and
 * added tokens), and the checks that every way of making one passes through.
 *
 *   { vocab: Map { '!' => 0, ..., 'Ġt' => 256, ..., '<|endoftext|>' => 50256 },
 *     merges: [['Ġ', 't'], ['Ġ', 'a'], ...],          // rank order: the first is applied first
 *     addedTokens: [{ id: 50256, content: '<|endoftext|>', special: true }],
 *     addPrefixSpace: false }
 */
import { MAX_TOKEN_ID } from './bpe';
import { BYTE_ORDER, byteToChar } from './bytes';

export interface AddedToken {
  id: number;
  /** Matched as a whole string in the input before pre-tokenisation; decoded as itself. */
  content: string;
  /** Special tokens can be refused by encode's allowedSpecial; other added tokens always match. */
  special: boolean;
}

export interface BpeSpec {
  /** Byte-level token text -> id. May also hold added tokens (GPT-2's vocab.json holds <|endoftext|>). */
  vocab: ReadonlyMap<string, number>;
  /** Merges in rank order, each as the byte-level texts of its two parts. */
  merges: readonly (readonly [string, string])[];
  addedTokens: readonly AddedToken[];
  /** Hugging Face's ByteLevel option: a space before each text that does not start with one. GPT-2: false. */
  addPrefixSpace: boolean;
}

/** The end-of-text token of GPT-2 and of the tokenizers trained here. */
export const END_OF_TEXT = '<|endoftext|>';

function isTokenId(id: unknown): id is number {
  return typeof id === 'number' && Number.isInteger(id) && id >= 0 && id <= MAX_TOKEN_ID;
}

function show(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}...` : text);
}

/** Throws, naming `source`, unless ids are unique integers in range and all 256 byte tokens are there. */
export function checkVocab(
  vocab: ReadonlyMap<string, unknown>,
  source: string,
): asserts vocab is ReadonlyMap<string, number> {
  const owner = new Map<number, string>();
  for (const [token, id] of vocab) {
    if (!isTokenId(id))
      throw new Error(
        `${source}: token ${show(token)} has id ${JSON.stringify(id)}; ids are integers from 0 to ${MAX_TOKEN_ID}`,
      );
    const other = owner.get(id);
    if (other !== undefined) throw new Error(`${source}: tokens ${show(other)} and ${show(token)} both have id ${id}`);
    owner.set(id, token);
  }
  for (const b of BYTE_ORDER) {
    const char = byteToChar[b]!;
    if (!vocab.has(char)) {
      throw new Error(
        `${source}: the vocabulary lacks ${show(char)}, the token of byte 0x${b.toString(16).padStart(2, '0')}, so it is not a byte-level BPE vocabulary`,
      );
    }
  }
}

/**
 * The merges as id triples [a, b, merged], in rank order. `where(i)` says where merge i was read
 * (such as "merges.txt:7"), for errors.
 */
export function resolveMerges(
  vocab: ReadonlyMap<string, number>,
  merges: BpeSpec['merges'],
  where: (i: number) => string,
): [number, number, number][] {
  return merges.map(([a, b], i) => {
    const ia = vocab.get(a);
    const ib = vocab.get(b);
    const to = vocab.get(a + b);
    const missing = ia === undefined ? a : ib === undefined ? b : undefined;
    if (missing !== undefined)
      throw new Error(`${where(i)}: merge ${show(`${a} ${b}`)}: ${show(missing)} is not in the vocabulary`);
    if (to === undefined)
      throw new Error(
        `${where(i)}: merge ${show(`${a} ${b}`)}: the merged token ${show(a + b)} is not in the vocabulary`,
      );
    return [ia!, ib!, to];
  });
}

/** Throws, naming `source`, when an added token is empty, repeated, shares an id, or has another id in the vocabulary. */
export function checkAddedTokens(
  vocab: ReadonlyMap<string, number>,
  added: readonly AddedToken[],
  source: string,
): void {
  const seen = new Set<string>();
  const seenIds = new Set<number>();
  const idsInVocab = new Set(vocab.values());
  for (const token of added) {
    if (!isTokenId(token.id))
      throw new Error(
        `${source}: added token ${show(token.content)} has id ${JSON.stringify(token.id)}; ids are integers from 0 to ${MAX_TOKEN_ID}`,
      );
    if (token.content === '') throw new Error(`${source}: added token ${token.id} is the empty string`);
    if (seen.has(token.content)) throw new Error(`${source}: added token ${show(token.content)} appears twice`);
    if (seenIds.has(token.id)) throw new Error(`${source}: two added tokens have id ${token.id}`);
    seen.add(token.content);
    seenIds.add(token.id);
    const id = vocab.get(token.content);
    if (id !== undefined && id !== token.id)
      throw new Error(`${source}: added token ${show(token.content)} has id ${token.id} but ${id} in the vocabulary`);
    if (id === undefined && idsInVocab.has(token.id))
      throw new Error(
        `${source}: added token ${show(token.content)} has id ${token.id}, which the vocabulary gives another token`,
      );
  }
}
