/**
 * Learns a byte-level BPE from texts, as GPT-2's vocabulary was made: 256 byte tokens, then merges
 * of the most frequent adjacent pair, never across a pre-tokenised chunk or a special token, then
 * the special tokens.
 *
 *   trainBpe(['low lower lowest'], 260, ['<|endoftext|>'])
 *     chunks: 'low' x1, ' lower' x1, ' lowest' x1
 *     merge 1: ('l','o') (3 times) -> 'lo'         id 256
 *     merge 2: ('lo','w') (3 times) -> 'low'       id 257
 *     merge 3: ('Ġ','low') (2 times) -> 'Ġlow'     id 258
 *     then '<|endoftext|>'                          id 259
 *
 * Ties go to the pair of smallest ids (a, then b), so the same texts always give the same merges,
 * whatever order equal counts happen to be met in.
 *
 * Speed: pairs are counted over unique chunks weighted by how often each occurs, and after each
 * merge only the chunks that held the pair are recounted (an index from pair to chunks finds them).
 * Finding the most frequent pair scans the live pair counts: a few hundred merges are cheap.
 */
import { pairKey, pairOf } from './bpe';
import { BYTE_ORDER, byteToChar } from './bytes';
import { pretokenize, specialPattern, splitSpecial } from './pretokenize';
import { END_OF_TEXT, type BpeSpec } from './spec';

export interface TrainOptions {
  /** The whole vocabulary: 256 byte tokens + merges + special tokens. */
  vocabSize: number;
  /** Appended last, in this order; <|endoftext|> is added first when missing. */
  specialTokens?: readonly string[];
}

/** Each distinct chunk's byte-level token ids and how many times it occurs. */
function countChunks(
  texts: Iterable<string>,
  specials: readonly string[],
  byteId: readonly number[],
): { words: number[][]; counts: number[] } {
  const counts = new Map<string, number>();
  const pattern = specialPattern(specials);
  for (const text of texts) {
    for (const segment of splitSpecial(text, pattern)) {
      if (!('text' in segment)) continue;
      for (const chunk of pretokenize(segment.text)) counts.set(chunk, (counts.get(chunk) ?? 0) + 1);
    }
  }
  const utf8 = new TextEncoder();
  const words: number[][] = [];
  const weights: number[] = [];
  for (const [chunk, n] of counts) {
    words.push(Array.from(utf8.encode(chunk), (b) => byteId[b]!));
    weights.push(n);
  }
  return { words, counts: weights };
}

function specialList(given: readonly string[] | undefined): string[] {
  const specials = [...new Set(given ?? [])];
  for (const s of specials)
    if (typeof s !== 'string' || s === '')
      throw new Error(`train: special tokens must be non-empty strings, got ${JSON.stringify(s)}`);
  if (!specials.includes(END_OF_TEXT)) specials.unshift(END_OF_TEXT);
  return specials;
}

export function trainBpe(texts: Iterable<string>, options: TrainOptions): BpeSpec {
  const specials = specialList(options.specialTokens);
  const { vocabSize } = options;
  const smallest = 256 + specials.length;
  if (!Number.isInteger(vocabSize) || vocabSize < smallest) {
    throw new RangeError(
      `train: vocabSize must be an integer of at least ${smallest} (256 bytes + ${specials.length} special tokens), got ${vocabSize}`,
    );
  }

  const tokens: string[] = BYTE_ORDER.map((b) => byteToChar[b]!); // id -> byte-level text
  const idOf = new Map(tokens.map((t, id) => [t, id]));
  const byteId: number[] = [];
  BYTE_ORDER.forEach((b, id) => (byteId[b] = id));

  const { words, counts } = countChunks(texts, specials, byteId);

  // pair -> occurrences weighted by chunk frequency; pair -> chunks that may hold it (stale entries allowed).
  const pairCounts = new Map<number, number>();
  const chunksWith = new Map<number, number[]>();
  const add = (key: number, n: number) => {
    const total = (pairCounts.get(key) ?? 0) + n;
    if (total === 0) pairCounts.delete(key);
    else pairCounts.set(key, total);
  };
  const index = (key: number, w: number) => {
    const list = chunksWith.get(key);
    if (list === undefined) chunksWith.set(key, [w]);
    else list.push(w);
  };
  words.forEach((word, w) => {
    for (let i = 0; i + 1 < word.length; i++) {
      const key = pairKey(word[i]!, word[i + 1]!);
      add(key, counts[w]!);
      index(key, w);
    }
  });

  const merges: [string, string][] = [];
  // A merge can make a token that already exists (a+bc and ab+c); its pairs may then recur, and
  // are applied with the merge already recorded rather than recorded twice.
  const mergedTo = new Map<number, number>();
  const seenAt = new Int32Array(words.length).fill(-1);
  const target = vocabSize - specials.length;
  for (let step = 0; tokens.length < target; step++) {
    let best = -1;
    let bestCount = 0;
    for (const [key, n] of pairCounts) {
      if (n > bestCount || (n === bestCount && key < best)) {
        best = key;
        bestCount = n;
      }
    }
    if (best < 0) {
      throw new Error(
        `train: the texts allow only ${tokens.length - 256} new tokens, but vocabSize ${vocabSize} needs ${target - 256} (plus 256 bytes and ${specials.length} special tokens); give more text or a smaller vocabSize`,
      );
    }

    const [a, b] = pairOf(best);
    let to = mergedTo.get(best);
    if (to === undefined) {
      const text = tokens[a]! + tokens[b]!;
      to = idOf.get(text);
      if (to === undefined) {
        to = tokens.length;
        tokens.push(text);
        idOf.set(text, to);
      }
      mergedTo.set(best, to);
      merges.push([tokens[a]!, tokens[b]!]);
    }

    for (const w of chunksWith.get(best) ?? []) {
      if (seenAt[w] === step) continue;
      seenAt[w] = step;
      const word = words[w]!;
      const n = counts[w]!;
      const merged: number[] = [];
      for (let i = 0; i < word.length;) {
        if (word[i] === a && word[i + 1] === b) {
          merged.push(to);
          i += 2;
        } else {
          merged.push(word[i]!);
          i += 1;
        }
      }
      if (merged.length === word.length) continue; // a stale index entry
      for (let i = 0; i + 1 < word.length; i++) add(pairKey(word[i]!, word[i + 1]!), -n);
      for (let i = 0; i + 1 < merged.length; i++) {
        const key = pairKey(merged[i]!, merged[i + 1]!);
        add(key, n);
        // Pairs without the new token were in the chunk before, so the index already has it.
        if (merged[i] === to || merged[i + 1] === to) index(key, w);
      }
      words[w] = merged;
    }
    chunksWith.delete(best);
  }

  const vocab = new Map(idOf);
  const addedTokens = specials.map((content) => {
    if (vocab.has(content))
      throw new Error(
        `train: special token ${JSON.stringify(content)} is also the byte-level text of an ordinary token; choose another`,
      );
    const id = vocab.size;
    vocab.set(content, id);
    return { id, content, special: true };
  });
  return { vocab, merges, addedTokens, addPrefixSpace: false };
}
