import { describe, expect, it } from 'vitest';
import { PackedExamples } from '../../src/main/lm/packedExamples';
import { Rng } from '../../src/main/core/rng';

describe('PackedExamples', () => {
  it('gives back every example exactly, across many growths of its arrays', () => {
    const rng = new Rng(4);
    const store = new PackedExamples();
    const kept: { prompt: number[]; response: number[] }[] = [];
    for (let i = 0; i < 50_000; i++) {
      const e = {
        prompt: Array.from({ length: 1 + rng.int(40) }, () => rng.int(200_000)),
        response: Array.from({ length: rng.int(30) }, () => rng.int(200_000)),
      };
      expect(store.push(e)).toBe(i);
      kept.push(e);
    }
    expect(store.length).toBe(50_000);
    for (const i of [0, 1, 777, 31_337, 49_999]) {
      expect(store.get(i)).toEqual(kept[i]);
      expect(store.prompt(i)).toEqual(kept[i]!.prompt);
      expect(store.tokenCount(i)).toBe(kept[i]!.prompt.length + kept[i]!.response.length);
    }
    let longest = 0;
    for (const e of kept) longest = Math.max(longest, e.prompt.length + e.response.length);
    expect(store.longest()).toBe(longest);
    expect(new PackedExamples().longest()).toBe(0);
    // Every one, not only the samples above.
    expect(kept.every((e, i) => JSON.stringify(store.get(i)) === JSON.stringify(e))).toBe(true);
    // A copy, not a view: changing it leaves the store as it was.
    store.get(5).prompt[0] = -1;
    expect(store.get(5)).toEqual(kept[5]);
  });

  it('refuses an index it does not hold', () => {
    const store = new PackedExamples();
    store.push({ prompt: [1], response: [2] });
    expect(() => store.get(1)).toThrow(/example 1 is not in a store of 1/);
    expect(() => store.get(-1)).toThrow(RangeError);
  });
});
