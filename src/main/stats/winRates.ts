/**
 * Win rates between two systems from pairwise judgements, with Wilson score intervals. Pure
 * arithmetic: no I/O.
 *
 * Wilson rather than the normal ("Wald") interval because judgement counts here are small and
 * rates often sit near 0 or 1, where Wald collapses to zero width or leaves [0, 1]; Wilson stays
 * inside [0, 1] and keeps close to nominal coverage.
 */

/** A rate and its interval; all null when there is nothing to estimate from (n = 0). */
export interface RateInterval {
  estimate: number | null;
  low: number | null;
  high: number | null;
}

/**
 * The Wilson score interval for a binomial proportion successes / n:
 *   centre = (p + z^2/(2n)) / (1 + z^2/n)
 *   half   = z / (1 + z^2/n) * sqrt(p(1 - p)/n + z^2/(4n^2))
 * z = 1.96 is a 95% interval. estimate is the plain p = successes / n.
 *
 * successes may be fractional: with ties counted as half a win, "successes" is wins + ties/2.
 * That is an approximation: a win/tie/loss score has smaller variance than a binomial with the same
 * mean, so the interval is on the wide (conservative) side when there are ties.
 * n = 0 gives all nulls. Throws on negative n, successes outside [0, n] or z <= 0.
 *
 *   wilson(8, 10)   // { estimate: 0.8, low: 0.490, high: 0.943 }
 *   wilson(0, 10)   // { estimate: 0, low: 0, high: 0.278 }
 *   wilson(7.5, 10) // ties as halves: { estimate: 0.75, low: 0.442, high: 0.919 }
 */
export function wilson(successes: number, n: number, z = 1.96): RateInterval {
  if (!(Number.isFinite(n) && n >= 0)) throw new RangeError(`n must be a finite number >= 0, got ${n}`);
  if (!(Number.isFinite(successes) && successes >= 0 && successes <= n)) {
    throw new RangeError(`successes must be in [0, n = ${n}], got ${successes}`);
  }
  if (!(Number.isFinite(z) && z > 0)) throw new RangeError(`z must be a finite number > 0, got ${z}`);
  if (n === 0) return { estimate: null, low: null, high: null };
  const p = successes / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // At p = 0 or 1 the bound is exactly 0 or 1 in exact arithmetic; pin it so rounding cannot leak outside.
  return {
    estimate: p,
    low: successes === 0 ? 0 : Math.max(0, centre - half),
    high: successes === n ? 1 : Math.min(1, centre + half),
  };
}

/** Who won one comparison of system a with system b. */
export type PairOutcome = 'a' | 'b' | 'tie';

export interface WinTieLoss {
  /** Comparisons a won, tied, lost. */
  wins: number;
  ties: number;
  losses: number;
  n: number;
  /** (wins + ties/2) / n; null when n = 0. */
  winRate: number | null;
  /** Wilson interval on wins + ties/2 out of n. */
  ci: RateInterval;
}

/**
 * Win / tie / loss counts of system a against system b, and a's win rate with a tie counted as
 * half a win (so a's and b's win rates add to 1).
 *
 *   winTieLoss(['a', 'a', 'tie', 'b'])
 *   // { wins: 2, ties: 1, losses: 1, n: 4, winRate: 0.625, ci: wilson(2.5, 4) }
 */
export function winTieLoss(outcomes: readonly PairOutcome[], z = 1.96): WinTieLoss {
  let wins = 0;
  let ties = 0;
  let losses = 0;
  for (const o of outcomes) {
    if (o === 'a') wins += 1;
    else if (o === 'b') losses += 1;
    else if (o === 'tie') ties += 1;
    else throw new RangeError(`outcome must be 'a', 'b' or 'tie', got ${String(o)}`);
  }
  const n = outcomes.length;
  const score = wins + ties / 2;
  return { wins, ties, losses, n, winRate: n === 0 ? null : score / n, ci: wilson(score, n, z) };
}
