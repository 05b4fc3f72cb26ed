/**
 * Text to chunks before any merge: special tokens are cut out whole first, then the text between
 * them is split with GPT-2's pattern, and no merge ever crosses a chunk boundary.
 *
 *   splitSpecial('hi<|endoftext|>yo', specialPattern(['<|endoftext|>']))
 *     -> [{ text: 'hi' }, { special: '<|endoftext|>' }, { text: 'yo' }]
 *   pretokenize("Hello world's  2024!\n\n") -> ['Hello', ' world', "'s", ' ', ' 2024', '!', '\n\n']
 */

/**
 * GPT-2's split pattern (encoder.py), with the `u` flag so \p{L} and \p{N} are Unicode classes:
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * The contractions are lowercase only: "'S" falls to ` ?[^\s\p{L}\p{N}]+` then `\p{L}+`, as in GPT-2.
 * `\s+(?!\S)` leaves the last space of a run to start the next word: '  a' -> [' ', ' a'].
 * \s is written \p{White_Space}: the Unicode property that Hugging Face's tokenizers (Oniguruma)
 * matches for \s, checked code point by code point against it. JavaScript's own \s differs in two
 * code points, taking U+FEFF and leaving out U+0085 (NEL), so JavaScript ports such as
 * gpt-3-encoder split ' \u0085x' and '\uFEFF!' differently from Hugging Face.
 */
export const GPT2_SPLIT_PATTERN =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;

/** GPT-2's chunks of a text that holds no special tokens. */
export function pretokenize(text: string): string[] {
  return text.match(GPT2_SPLIT_PATTERN) ?? [];
}

export type Segment = { text: string } | { special: string };

/** A pattern matching any of the given strings, the longest first where one is a prefix of another. */
export function specialPattern(tokens: Iterable<string>): RegExp | null {
  const sorted = [...tokens].sort((a, b) => b.length - a.length || (a < b ? -1 : a > b ? 1 : 0));
  if (sorted.length === 0) return null;
  const escaped = sorted.map((t) => t.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&'));
  return new RegExp(escaped.join('|'), 'gu');
}

/** The text cut around whole matches of `pattern` (from specialPattern); no empty text segments. */
export function splitSpecial(text: string, pattern: RegExp | null): Segment[] {
  if (pattern === null) return text === '' ? [] : [{ text }];
  const segments: Segment[] = [];
  let start = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index > start) segments.push({ text: text.slice(start, match.index) });
    segments.push({ special: match[0] });
    start = match.index + match[0].length;
  }
  if (start < text.length) segments.push({ text: text.slice(start) });
  return segments;
}
