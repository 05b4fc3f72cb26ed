/** Wilson intervals and win/tie/loss tallies against values worked out by hand. */
import { describe, expect, it } from 'vitest';
import { wilson, winTieLoss } from '../../src/main/stats/winRates';

describe('wilson', () => {
  it('gives [0.490, 0.943] for 8 of 10 at z = 1.96', () => {
    // z^2/n = 0.38416; centre = (0.8 + 0.19208)/1.38416 = 0.716737;
    // half = (1.96/1.38416) * sqrt(0.016 + 0.009604) = 1.416022 * 0.160012 = 0.226581.
    const w = wilson(8, 10);
    expect(w.estimate).toBe(0.8);
    expect(w.low!).toBeCloseTo(0.49, 3);
    expect(w.high!).toBeCloseTo(0.943, 3);
    expect(w.low!).toBeCloseTo(0.716737 - 0.226581, 5);
  });
  it('pins the bound at 0 for no successes and at 1 for all', () => {
    // 0/10: centre = half = 0.19208/1.38416 = 0.138770, so [0, 0.278].
    expect(wilson(0, 10)).toEqual({ estimate: 0, low: 0, high: expect.closeTo(0.27754, 5) });
    const all = wilson(10, 10);
    expect(all.high).toBe(1);
    expect(all.low!).toBeCloseTo(1 - 0.27754, 5);
  });
  it('is symmetric: the interval for n - s failures mirrors that for s successes', () => {
    const a = wilson(3, 17);
    const b = wilson(14, 17);
    expect(a.low!).toBeCloseTo(1 - b.high!, 12);
    expect(a.high!).toBeCloseTo(1 - b.low!, 12);
  });
  it('takes fractional successes (ties as halves)', () => {
    // 7.5/10: centre = (0.75 + 0.19208)/1.38416 = 0.680615; half = 1.416022 * sqrt(0.01875 + 0.009604) = 0.238442.
    const w = wilson(7.5, 10);
    expect(w.estimate).toBe(0.75);
    expect(w.low!).toBeCloseTo(0.442, 3);
    expect(w.high!).toBeCloseTo(0.919, 3);
  });
  it('narrows with a smaller z and with more data', () => {
    const z1 = wilson(8, 10, 1);
    // z = 1: z^2/n = 0.1; centre = 0.85/1.1 = 0.772727; half = (1/1.1) * sqrt(0.016 + 0.0025) = 0.123652.
    expect(z1.low!).toBeCloseTo(0.649075, 5);
    expect(z1.high!).toBeCloseTo(0.896379, 5);
    const big = wilson(80, 100);
    expect(big.high! - big.low!).toBeLessThan(wilson(8, 10).high! - wilson(8, 10).low!);
  });
  it('is all null for n = 0 and refuses impossible counts', () => {
    expect(wilson(0, 0)).toEqual({ estimate: null, low: null, high: null });
    expect(() => wilson(11, 10)).toThrow(RangeError);
    expect(() => wilson(-1, 10)).toThrow(RangeError);
    expect(() => wilson(1, -1)).toThrow(RangeError);
    expect(() => wilson(1, 10, 0)).toThrow(RangeError);
    expect(() => wilson(Number.NaN, 10)).toThrow(RangeError);
  });
});

describe('winTieLoss', () => {
  it('counts a tie as half a win', () => {
    const r = winTieLoss(['a', 'a', 'tie', 'b']);
    expect(r).toEqual({ wins: 2, ties: 1, losses: 1, n: 4, winRate: 0.625, ci: wilson(2.5, 4) });
  });
  it("gives b's win rate as 1 - a's", () => {
    const outcomes = ['a', 'b', 'b', 'tie', 'tie', 'a', 'b'] as const;
    const flipped = outcomes.map((o) => (o === 'a' ? 'b' : o === 'b' ? 'a' : 'tie'));
    expect(winTieLoss(outcomes).winRate! + winTieLoss(flipped).winRate!).toBeCloseTo(1, 12);
  });
  it('matches wilson(8, 10) for 8 wins, 2 losses', () => {
    const r = winTieLoss([...Array<'a'>(8).fill('a'), 'b', 'b']);
    expect(r.ci.low!).toBeCloseTo(0.49, 3);
    expect(r.ci.high!).toBeCloseTo(0.943, 3);
  });
  it('has a null rate and interval with no outcomes, and refuses unknown outcomes', () => {
    expect(winTieLoss([])).toEqual({
      wins: 0,
      ties: 0,
      losses: 0,
      n: 0,
      winRate: null,
      ci: { estimate: null, low: null, high: null },
    });
    expect(() => winTieLoss(['a', 'x' as 'a'])).toThrow(RangeError);
  });
});
