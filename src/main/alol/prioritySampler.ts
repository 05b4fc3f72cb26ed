/**
 * Which training item each step draws (ALOL.md step 4): i.i.d. WITH replacement, from an Rng, so a
 * run repeats from its seed and a checkpoint that stores the Rng's state resumes the same draws.
 *
 * - byAdvantage (the A-LoL losses): p_i = A+_i / sum_j A+_j; an item with A <= 0 is never drawn.
 * - byReward (wbc, r_gold, r_lol): p_i = R_i / sum_j R_j, nothing filtered; rewards must be >= 0.
 * - uniform (nll, dpo): p_i = 1 / N.
 *
 * Draws use Vose's alias table, built over the drawable items only: one table lookup per draw
 * whatever N, and an item of weight 0 is not in the table at all (an alias table over every item
 * can, by rounding, give a zero-weight item a nonzero column).
 *
 *   const sampler = PrioritySampler.byAdvantage([0.5, -0.2, 0.1]); // p = [0.833, 0, 0.167]
 *   const steps = stepsFor(1000, 2 / 3);                           // 667
 *   const rng = new Rng(seed);
 *   sampler.drawMany(rng, 16)                                       // [0, 0, 2, 0, ...]
 */
import type { Rng } from '../core/rng';

export type SamplingKind = 'advantage' | 'reward' | 'uniform';

export class PrioritySampler {
  readonly kind: SamplingKind;
  /** p_i for every item, float64; sums to 1. */
  readonly probabilities: Float64Array;
  /** The items that can be drawn (p > 0), ascending. */
  private readonly support: Int32Array;
  /** Column j keeps support[j] with probability accept[j], else gives support[alias[j]]. */
  private readonly accept: Float64Array;
  private readonly alias: Int32Array;

  private constructor(kind: SamplingKind, weights: Float64Array) {
    this.kind = kind;
    let total = 0;
    for (const w of weights) total += w;
    this.probabilities = weights.map((w) => w / total);
    const support: number[] = [];
    weights.forEach((w, i) => {
      if (w > 0) support.push(i);
    });
    this.support = Int32Array.from(support);
    const m = support.length;
    this.accept = new Float64Array(m);
    this.alias = new Int32Array(m);
    // Vose: scale to mean 1, then pair each column under 1 with one over 1 that tops it up.
    const scaled = Float64Array.from(support, (i) => (weights[i]! / total) * m);
    const small: number[] = [];
    const large: number[] = [];
    scaled.forEach((s, j) => (s < 1 ? small : large).push(j));
    while (small.length > 0 && large.length > 0) {
      const s = small.pop()!;
      const l = large.pop()!;
      this.accept[s] = scaled[s]!;
      this.alias[s] = l;
      scaled[l] = scaled[l]! + scaled[s]! - 1;
      (scaled[l]! < 1 ? small : large).push(l);
    }
    // What is left is 1 up to rounding: those columns keep their own item.
    for (const j of [...small, ...large]) {
      this.accept[j] = 1;
      this.alias[j] = j;
    }
  }

  /**
   * p_i = A+_i / sum_j A+_j. Throws when no advantage is positive (there is nothing to train on:
   * stepsFor gives 0 steps then) or when one is not a number.
   */
  static byAdvantage(advantages: ArrayLike<number>): PrioritySampler {
    const weights = new Float64Array(advantages.length);
    for (let i = 0; i < advantages.length; i++) {
      const a = advantages[i]!;
      if (!Number.isFinite(a)) throw new Error(`advantage sampling: item ${i} has advantage ${a}, not a finite number`);
      weights[i] = Math.max(a, 0);
    }
    if (!weights.some((w) => w > 0))
      throw new Error(`advantage sampling: none of the ${advantages.length} items has a positive advantage`);
    return new PrioritySampler('advantage', weights);
  }

  /** p_i = R_i / sum_j R_j, for the reward-weighted baselines; every reward must be >= 0. */
  static byReward(rewards: ArrayLike<number>): PrioritySampler {
    const weights = new Float64Array(rewards.length);
    for (let i = 0; i < rewards.length; i++) {
      const r = rewards[i]!;
      if (!Number.isFinite(r)) throw new Error(`reward sampling: item ${i} has reward ${r}, not a finite number`);
      if (r < 0) {
        throw new Error(
          `reward sampling (wbc, r_gold, r_lol) draws items in proportion to their reward, so rewards must be >= 0; ` +
            `item ${i} has reward ${r} (shift or rescale the rewards into a non-negative range)`,
        );
      }
      weights[i] = r;
    }
    if (!weights.some((w) => w > 0))
      throw new Error(`reward sampling: all ${rewards.length} rewards are 0; nothing can be drawn`);
    return new PrioritySampler('reward', weights);
  }

  /** p_i = 1 / count, for nll and dpo. */
  static uniform(count: number): PrioritySampler {
    if (!(Number.isInteger(count) && count > 0))
      throw new Error(`uniform sampling needs a whole number of items > 0, got ${count}`);
    return new PrioritySampler('uniform', new Float64Array(count).fill(1));
  }

  /** Items in all, drawable or not. */
  get size(): number {
    return this.probabilities.length;
  }

  /** Items that can be drawn (p > 0). */
  get drawable(): number {
    return this.support.length;
  }

  /** One item index; two numbers from rng. */
  draw(rng: Rng): number {
    const j = rng.int(this.support.length);
    const column = rng.uniform() < this.accept[j]! ? j : this.alias[j]!;
    return this.support[column]!;
  }

  /** n independent draws, in order. */
  drawMany(rng: Rng, n: number): number[] {
    if (!(Number.isInteger(n) && n >= 0)) throw new Error(`drawMany: n must be a whole number >= 0, got ${n}`);
    return Array.from({ length: n }, () => this.draw(rng));
  }
}

/**
 * The sampler a loss needs, by what it reads (LossNeeds.signal in losses/index.ts): 'advantage'
 * for the A-LoL variants, 'reward' for wbc, r_gold and r_lol, null (uniform) for nll and dpo.
 */
export function samplerFor(
  signal: 'advantage' | 'reward' | null,
  data: { count: number; advantages?: ArrayLike<number>; rewards?: ArrayLike<number> },
): PrioritySampler {
  const sized = <T extends ArrayLike<number>>(what: string, xs: T | undefined): T => {
    if (!xs) throw new Error(`${what} sampling needs the items' ${what}s`);
    if (xs.length !== data.count) throw new Error(`${what} sampling: ${xs.length} ${what}s for ${data.count} items`);
    return xs;
  };
  switch (signal) {
    case 'advantage':
      return PrioritySampler.byAdvantage(sized('advantage', data.advantages));
    case 'reward':
      return PrioritySampler.byReward(sized('reward', data.rewards));
    case null:
      return PrioritySampler.uniform(data.count);
  }
}

/**
 * Update steps for a budget when only the positive-advantage fraction of the data is trained on:
 * round(budget * positiveFraction), and at least 1 when anything is positive (and budget > 0).
 *
 *   stepsFor(1000, 0.4137) // 414;  stepsFor(10, 0.01) // 1;  stepsFor(10, 0) // 0
 */
export function stepsFor(budget: number, positiveFraction: number): number {
  if (!(Number.isInteger(budget) && budget >= 0))
    throw new Error(`stepsFor: budget must be a whole number >= 0, got ${budget}`);
  if (!(positiveFraction >= 0 && positiveFraction <= 1))
    throw new Error(`stepsFor: positiveFraction must be in [0, 1], got ${positiveFraction}`);
  if (positiveFraction === 0 || budget === 0) return 0;
  return Math.max(1, Math.round(budget * positiveFraction));
}
