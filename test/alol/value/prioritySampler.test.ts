/** Priority sampling: p = A+ / sum A+ (or R / sum R, or uniform), i.i.d. with replacement, from a seed. */
import { describe, expect, it } from 'vitest';
import { PrioritySampler, samplerFor, stepsFor } from '../../../src/main/alol/prioritySampler';
import { Rng } from '../../../src/main/core/rng';

const DRAWS = 100_000;

function counts(sampler: PrioritySampler, seed: number, n = DRAWS): number[] {
  const c = new Array<number>(sampler.size).fill(0);
  const rng = new Rng(seed);
  for (let i = 0; i < n; i++) c[sampler.draw(rng)]!++;
  return c;
}

/** Pearson's chi-square statistic of observed counts against n * p, over the items with p > 0. */
function chiSquare(observed: number[], p: ArrayLike<number>, n: number): { stat: number; df: number } {
  let stat = 0;
  let cells = 0;
  observed.forEach((o, i) => {
    if (p[i]! === 0) return;
    const e = n * p[i]!;
    stat += (o - e) ** 2 / e;
    cells++;
  });
  return { stat, df: cells - 1 };
}

/** Upper 0.1% points of chi-square: a correct sampler fails one seeded run in a thousand. */
const CHI2_999: Record<number, number> = { 3: 16.266, 6: 22.458, 9: 27.877 };

describe('priority sampling', () => {
  const A = [0.5, -0.2, 0.1, 0, 1.2, 0.3, -1, 0.05, 0.8, 2.0];

  it('p = A+ / sum(A+)', () => {
    const sampler = PrioritySampler.byAdvantage(A);
    const total = A.reduce((s, a) => s + Math.max(a, 0), 0);
    expect(sampler.kind).toBe('advantage');
    expect(sampler.size).toBe(10);
    expect(sampler.drawable).toBe(7);
    A.forEach((a, i) => expect(sampler.probabilities[i]).toBeCloseTo(Math.max(a, 0) / total, 15));
  });

  it('never draws an item with A <= 0, and its frequencies match A+ / sum(A+) (chi-square)', () => {
    const sampler = PrioritySampler.byAdvantage(A);
    const c = counts(sampler, 11);
    for (const i of [1, 3, 6]) expect(c[i], `item ${i} (A = ${A[i]})`).toBe(0);
    const { stat, df } = chiSquare(c, sampler.probabilities, DRAWS);
    expect(df).toBe(6);
    expect(stat).toBeLessThan(CHI2_999[6]!);
  });

  it('never draws a non-positive item among many, next to tiny positive ones', () => {
    const rng = new Rng(3);
    // 1,000 items, 990 of them at or below zero; the positive ones span twelve orders of magnitude.
    const advantages = Array.from({ length: 1000 }, (_, i) =>
      i % 100 === 0 ? 10 ** -(i / 100) : -rng.uniform() * (i % 3),
    );
    const sampler = PrioritySampler.byAdvantage(advantages);
    expect(sampler.drawable).toBe(10);
    const c = counts(sampler, 12);
    c.forEach((n, i) => {
      if (advantages[i]! <= 0) expect(n, `item ${i}`).toBe(0);
    });
    expect(c[0]).toBeGreaterThan(DRAWS * 0.8); // A = 1 against 0.1 + 0.01 + ...: p ~ 0.9
  });

  it('repeats from the seed, and a different seed draws differently', () => {
    const sampler = PrioritySampler.byAdvantage(A);
    const a = sampler.drawMany(new Rng(5), 200);
    expect(sampler.drawMany(new Rng(5), 200)).toEqual(a);
    expect(sampler.drawMany(new Rng(6), 200)).not.toEqual(a);
    // Continuing one stream: the second half of 400 is what comes after the first 200.
    const rng = new Rng(5);
    const first = sampler.drawMany(rng, 200);
    expect(first).toEqual(a);
    expect([...first, ...sampler.drawMany(rng, 200)]).toEqual(sampler.drawMany(new Rng(5), 400));
  });

  it('refuses advantages that are all non-positive or not numbers', () => {
    expect(() => PrioritySampler.byAdvantage([-1, 0, -0.5])).toThrow(/none of the 3 items has a positive advantage/);
    expect(() => PrioritySampler.byAdvantage([0.5, Number.NaN])).toThrow(/item 1 has advantage NaN/);
  });

  it('stepsFor = round(budget x positive fraction), at least 1 when any is positive', () => {
    expect(stepsFor(1000, 0.4137)).toBe(414);
    expect(stepsFor(1000, 1)).toBe(1000);
    expect(stepsFor(7, 0.5)).toBe(4);
    expect(stepsFor(10, 0.01)).toBe(1);
    expect(stepsFor(10, 0)).toBe(0);
    expect(stepsFor(0, 0.5)).toBe(0);
    expect(() => stepsFor(10, 1.5)).toThrow(/positiveFraction/);
    expect(() => stepsFor(2.5, 0.5)).toThrow(/budget/);
  });

  describe('reward-based (wbc, r_gold, r_lol)', () => {
    const R = [0.2, 0, 1, 0.45, 0.05];

    it('draws in proportion to R, nothing filtered but zero rewards', () => {
      const sampler = PrioritySampler.byReward(R);
      expect(sampler.kind).toBe('reward');
      const total = R.reduce((a, b) => a + b, 0);
      R.forEach((r, i) => expect(sampler.probabilities[i]).toBeCloseTo(r / total, 15));
      const c = counts(sampler, 21);
      expect(c[1]).toBe(0);
      const { stat, df } = chiSquare(c, sampler.probabilities, DRAWS);
      expect(df).toBe(3);
      expect(stat).toBeLessThan(CHI2_999[3]!);
    });

    it('names the first negative reward', () => {
      expect(() => PrioritySampler.byReward([0.2, 0, -0.5, -1])).toThrow(/item 2 has reward -0\.5/);
      expect(() => PrioritySampler.byReward([0.2, 0, -0.5, -1])).toThrow(/rewards must be >= 0/);
      expect(() => PrioritySampler.byReward([0, 0])).toThrow(/all 2 rewards are 0/);
    });
  });

  it('uniform (nll, dpo): every item alike', () => {
    const sampler = PrioritySampler.uniform(10);
    expect(sampler.kind).toBe('uniform');
    const c = counts(sampler, 31);
    const { stat, df } = chiSquare(c, sampler.probabilities, DRAWS);
    expect(df).toBe(9);
    expect(stat).toBeLessThan(CHI2_999[9]!);
    expect(() => PrioritySampler.uniform(0)).toThrow(/> 0/);
  });

  it("samplerFor picks by the loss's signal and checks the data fits", () => {
    expect(samplerFor('advantage', { count: 10, advantages: A }).kind).toBe('advantage');
    expect(samplerFor('reward', { count: 3, rewards: [1, 2, 3] }).kind).toBe('reward');
    expect(samplerFor(null, { count: 4 }).kind).toBe('uniform');
    expect(() => samplerFor('advantage', { count: 10 })).toThrow(/needs the items' advantages/);
    expect(() => samplerFor('reward', { count: 4, rewards: [1, 2, 3] })).toThrow(/3 rewards for 4 items/);
  });
});
