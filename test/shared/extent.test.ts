import { describe, expect, it } from 'vitest';
import { maxOf, minOf } from '../../src/shared/extent';

describe('maxOf and minOf', () => {
  it('find the extremes of 500,000 values, where spreading them into Math.max throws', () => {
    const values = Array.from({ length: 500_000 }, (_, i) => (i * 7919) % 500_009);
    values[321_123] = 1e9;
    values[123_321] = -5;
    expect(() => Math.max(...values)).toThrow(RangeError);
    expect(maxOf(values)).toBe(1e9);
    expect(minOf(values)).toBe(-5);
    expect(maxOf(new Float32Array([0.25, 3, -1]))).toBe(3);
  });

  it('start from the floor or ceiling given, which an empty list returns', () => {
    expect(maxOf([0.2, 0.7], 1)).toBe(1);
    expect(maxOf([0.2, 1.7], 1)).toBe(1.7);
    expect(maxOf([])).toBe(-Infinity);
    expect(minOf([], 3)).toBe(3);
    expect(minOf([4, 2, 9])).toBe(2);
  });
});
