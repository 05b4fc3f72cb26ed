/**
 * The seeded coins of an annotator's queue: on which side each response goes, and whether an item
 * comes back later as a swapped repeat. Pure functions of (seed, annotator, item), so the queue can
 * count an annotator's repeats before their items are even handed out (ratingService, campaignStore).
 */

/** A well-mixed 32-bit hash of small integers. */
export function mix(...values: number[]): number {
  let h = 0x811c9dc5;
  for (const v of values) {
    h = Math.imul(h ^ (v >>> 0), 0x01000193) >>> 0;
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
    h = Math.imul(h ^ (h >>> 12), 0x297a2d39) >>> 0;
    h = (h ^ (h >>> 15)) >>> 0;
  }
  return h;
}

/** 1 when this annotator sees the item's second response on the left. */
export function swappedFor(seed: number, annotatorId: number, itemId: number): 0 | 1 {
  return (mix(seed, annotatorId, itemId) & 1) as 0 | 1;
}

/** Whether this annotator's rating of a pair item is to be repeated with the sides swapped (gold items never are). */
export function wantsRepeat(
  kind: 'pair' | 'gold',
  seed: number,
  annotatorId: number,
  itemId: number,
  share: number,
): boolean {
  return kind === 'pair' && mix(seed, annotatorId, itemId, 1) / 4294967296 < share;
}
