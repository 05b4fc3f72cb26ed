/**
 * Merges applied by rank, as GPT-2's encoder.py does it: in a word (one pre-tokenised chunk, as
 * token ids), find the adjacent pair whose merge was learned first, replace every occurrence of
 * it left to right, and repeat until no adjacent pair has a merge.
 *
 *   with merges (a,b)->X at rank 0 and (X,b)->Y at rank 1:
 *   applyMerges([a, b, b, a, b], table) -> [Y, X]
 *   (rank 0 first: [X, b, X]; then rank 1: [Y, X])
 */

/** Token ids stay below 2^26, so a pair packs into one exactly representable number. */
export const MAX_TOKEN_ID = 2 ** 26 - 1;

/** The pair (a, b) as one Map key; ordering keys orders pairs by a, then b. */
export function pairKey(a: number, b: number): number {
  return a * 2 ** 26 + b;
}

export function pairOf(key: number): [number, number] {
  const b = key % 2 ** 26;
  return [(key - b) / 2 ** 26, b];
}

export interface MergeTable {
  /** pairKey(a, b) -> rank: the merge's position in the merges list. */
  readonly rank: ReadonlyMap<number, number>;
  /** The id that the merge of each rank makes. */
  readonly merged: readonly number[];
}

/** A table from merges given as id pairs, in rank order; a repeated pair keeps its last rank, as in encoder.py. */
export function mergeTable(merges: readonly (readonly [number, number, number])[]): MergeTable {
  const rank = new Map<number, number>();
  const merged: number[] = [];
  merges.forEach(([a, b, to], r) => {
    rank.set(pairKey(a, b), r);
    merged.push(to);
  });
  return { rank, merged };
}

/** The ids of one word after all merges; `ids` is not changed. */
export function applyMerges(ids: readonly number[], table: MergeTable): number[] {
  let word = ids.slice();
  while (word.length >= 2) {
    let best = Infinity;
    let at = -1;
    for (let i = 0; i + 1 < word.length; i++) {
      const r = table.rank.get(pairKey(word[i]!, word[i + 1]!));
      if (r !== undefined && r < best) {
        best = r;
        at = i;
      }
    }
    if (at < 0) break;
    const a = word[at]!;
    const b = word[at + 1]!;
    const to = table.merged[best]!;
    const next: number[] = word.slice(0, at);
    for (let i = at; i < word.length;) {
      if (word[i] === a && word[i + 1] === b) {
        next.push(to);
        i += 2;
      } else {
        next.push(word[i]!);
        i += 1;
      }
    }
    word = next;
  }
  return word;
}
