/**
 * The experiment's statistics: a mean over seeds and prompts, and a two-level bootstrap interval
 * for it (resample seeds, then prompts within each drawn seed), seeded so a results file always
 * reads the same. The two levels matter: a seed's whole pipeline (initialisation, pi_ref, the
 * algorithm's sampling) moves every prompt's reward at once, so resampling prompts alone would
 * treat 5 x 100 correlated numbers as 500 independent ones and give intervals far too narrow.
 *
 *   const d = pairedDifference(alol, nll);                 // seed x prompt, same seed and prompt
 *   const est = twoLevelBootstrap(d, { resamples: 2000, seed: 1 });
 *   verdict(est, 'NLL');                                    // 'better than NLL' | 'no better than NLL: interval includes 0' | ...
 */
import { Rng } from '../core/rng';

export interface Interval {
  /** Mean over seeds of each seed's mean over prompts. */
  mean: number;
  /** 95% percentile interval of that mean under the two-level bootstrap. */
  lo: number;
  hi: number;
}

export interface BootstrapSettings {
  resamples: number;
  seed: number;
}

/** The mean of a seed x prompt table: each seed's mean over its prompts, then the mean of those. */
export function meanOfSeeds(table: readonly (readonly number[])[]): number {
  if (table.length === 0) throw new RangeError('meanOfSeeds: no seeds');
  let total = 0;
  for (const row of table) {
    if (row.length === 0) throw new RangeError('meanOfSeeds: a seed without prompts');
    let s = 0;
    for (const x of row) s += x;
    total += s / row.length;
  }
  return total / table.length;
}

/** a - b, seed by seed and prompt by prompt; both tables must have the same shape (same seeds, same prompts, same order). */
export function pairedDifference(a: readonly (readonly number[])[], b: readonly (readonly number[])[]): number[][] {
  if (a.length !== b.length) throw new RangeError(`pairedDifference: ${a.length} seeds against ${b.length}`);
  return a.map((row, i) => {
    const other = b[i]!;
    if (row.length !== other.length)
      throw new RangeError(`pairedDifference: seed ${i} has ${row.length} prompts against ${other.length}`);
    return row.map((x, j) => x - other[j]!);
  });
}

/** The q-quantile of sorted values, linear between neighbours. */
function quantile(sorted: Float64Array, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/**
 * The mean of a seed x prompt table with a 95% interval: each resample draws as many seeds as there
 * are, with replacement, and within each drawn seed as many of its prompts, with replacement.
 * With one seed only the prompt level varies (the interval then says nothing about seeds).
 */
export function twoLevelBootstrap(table: readonly (readonly number[])[], settings: BootstrapSettings): Interval {
  const mean = meanOfSeeds(table);
  if (!(Number.isInteger(settings.resamples) && settings.resamples >= 1))
    throw new RangeError(`twoLevelBootstrap: resamples must be a whole number >= 1, got ${settings.resamples}`);
  const rng = new Rng(settings.seed);
  const means = new Float64Array(settings.resamples);
  const seeds = table.length;
  for (let b = 0; b < settings.resamples; b++) {
    let total = 0;
    for (let s = 0; s < seeds; s++) {
      const row = table[rng.int(seeds)]!;
      let sum = 0;
      for (let p = 0; p < row.length; p++) sum += row[rng.int(row.length)]!;
      total += sum / row.length;
    }
    means[b] = total / seeds;
  }
  means.sort();
  return { mean, lo: quantile(means, 0.025), hi: quantile(means, 0.975) };
}

/** What an interval of a difference (system - baseline) says, in words, never more than it shows. */
export function verdict(difference: Interval, baseline: string): string {
  if (difference.lo > 0) return `better than ${baseline}`;
  if (difference.hi < 0) return `worse than ${baseline}`;
  return `no better than ${baseline}: interval includes 0`;
}
