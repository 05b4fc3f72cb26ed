/**
 * Bradley-Terry strengths for systems compared in pairs, fitted by the MM algorithm (Hunter 2004,
 * "MM algorithms for generalized Bradley-Terry models"), with one percentile bootstrap over rated items
 * for the scores and every pair's win rate, and ranks that follow the pairs' intervals. Pure
 * arithmetic: no I/O.
 *
 * Model: P(i beats j) = p_i / (p_i + p_j). A tie counts as half a win to each side (as Chatbot
 * Arena does), so W_i = wins_i + ties_i / 2 and the maximum-likelihood strengths solve the score
 * equations W_i = sum_j n_ij p_i / (p_i + p_j), n_ij the games between i and j.
 *
 * Reporting: strengths are scaled so their geometric mean is 1 (only ratios are identified), and
 * score = 400 log10(p) + 1000, an Elo-like scale where the average system sits at 1000 and a
 * 400-point gap means 10:1 odds: P(i beats j) = 1 / (1 + 10^((score_j - score_i) / 400)).
 *
 * When the maximum does not exist: the MLE is finite only when the "won at least half a game
 * against" graph is strongly connected (Ford 1957) — otherwise some group won (or lost) every game
 * against the rest, or never met it, and its strength runs off to infinity or is unidentified.
 * Only then, every system also plays `prior` virtual games (default 1) against a fixed reference of
 * strength 1, half won and half lost. That is a mild shrinkage towards the average which keeps
 * every strength finite; the result says `regularised: true`. When the MLE exists it is returned
 * untouched (two systems at 3 wins to 1 get a strength ratio of exactly 3).
 */
import { Rng } from '../core/rng';

export type GameOutcome = 'a' | 'b' | 'tie';

/** One comparison: system a against system b, and who won. */
export interface Game {
  a: string;
  b: string;
  outcome: GameOutcome;
}

export interface BradleyTerryOptions {
  /** Virtual games per system against a strength-1 reference, used only when the MLE does not exist. Default 1; 0 makes that case throw. */
  prior?: number;
  /** Stop when no log-strength moves more than this in one iteration. Default 1e-13. */
  tolerance?: number;
  /** Give up (throw) after this many iterations. Default 100000. */
  maxIterations?: number;
}

export interface SystemStrength {
  system: string;
  /** Geometric mean over systems is 1. */
  strength: number;
  /** ln(strength); mean over systems is 0. */
  logStrength: number;
  /** 400 log10(strength) + 1000. */
  score: number;
}

export interface BradleyTerryFit {
  /** In the order of the systems given. */
  systems: SystemStrength[];
  /** True when the MLE did not exist and the prior's virtual games were added. */
  regularised: boolean;
  iterations: number;
}

/** Wins (ties as halves) and game counts per pair, by system index. */
interface Tally {
  wins: number[];
  games: number[][];
  /** beats[i][j]: i scored at least half a win against j. */
  beats: boolean[][];
}

function tally(systems: readonly string[], games: readonly Game[]): Tally {
  const index = new Map<string, number>();
  systems.forEach((s, i) => {
    if (index.has(s)) throw new RangeError(`system ${s} is listed twice`);
    index.set(s, i);
  });
  const k = systems.length;
  const wins = new Array<number>(k).fill(0);
  const games2 = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const beats = Array.from({ length: k }, () => new Array<boolean>(k).fill(false));
  for (const g of games) {
    const i = index.get(g.a);
    const j = index.get(g.b);
    if (i === undefined || j === undefined)
      throw new RangeError(`game ${g.a} vs ${g.b} names a system not in the list`);
    if (i === j) throw new RangeError(`game of ${g.a} against itself`);
    (games2[i] as number[])[j] = ((games2[i] as number[])[j] as number) + 1;
    (games2[j] as number[])[i] = ((games2[j] as number[])[i] as number) + 1;
    if (g.outcome === 'a' || g.outcome === 'tie') {
      wins[i] = (wins[i] as number) + (g.outcome === 'a' ? 1 : 0.5);
      (beats[i] as boolean[])[j] = true;
    }
    if (g.outcome === 'b' || g.outcome === 'tie') {
      wins[j] = (wins[j] as number) + (g.outcome === 'b' ? 1 : 0.5);
      (beats[j] as boolean[])[i] = true;
    }
    if (g.outcome !== 'a' && g.outcome !== 'b' && g.outcome !== 'tie')
      throw new RangeError(`outcome must be 'a', 'b' or 'tie', got ${String(g.outcome)}`);
  }
  return { wins, games: games2, beats };
}

/** Every system reaches every other along "beats" edges (and back): the MLE exists and is unique. */
function stronglyConnected(beats: readonly (readonly boolean[])[]): boolean {
  const k = beats.length;
  const reachesAll = (edge: (i: number, j: number) => boolean): boolean => {
    const seen = new Array<boolean>(k).fill(false);
    seen[0] = true;
    const stack = [0];
    let count = 1;
    while (stack.length > 0) {
      const i = stack.pop() as number;
      for (let j = 0; j < k; j++) {
        if (!seen[j] && edge(i, j)) {
          seen[j] = true;
          count += 1;
          stack.push(j);
        }
      }
    }
    return count === k;
  };
  return (
    reachesAll((i, j) => (beats[i] as boolean[])[j] as boolean) &&
    reachesAll((i, j) => (beats[j] as boolean[])[i] as boolean)
  );
}

/**
 * Bradley-Terry strengths by MM. Each iteration updates every strength at once:
 *   p_i <- W_i / sum_j n_ij / (p_i + p_j)
 * (plus prior/2 virtual wins and prior / (p_i + 1) in the denominator when regularised), which
 * never decreases the likelihood and converges to its maximum.
 *
 *   bradleyTerry(['x', 'y'], [x beats y three times, y beats x once])
 *   // { systems: [{ system: 'x', strength: 1.732, logStrength: 0.549, score: 1095.4 },
 *   //             { system: 'y', strength: 0.577, logStrength: -0.549, score: 904.6 }],
 *   //   regularised: false, iterations: 2 }   // 1.732 / 0.577 = 3 = 3 wins / 1
 */
export function bradleyTerry(
  systems: readonly string[],
  games: readonly Game[],
  opts: BradleyTerryOptions = {},
): BradleyTerryFit {
  const prior = opts.prior ?? 1;
  const tolerance = opts.tolerance ?? 1e-13;
  const maxIterations = opts.maxIterations ?? 100_000;
  if (!(Number.isFinite(prior) && prior >= 0)) throw new RangeError(`prior must be a finite number >= 0, got ${prior}`);
  const { wins, games: n, beats } = tally(systems, games);
  const k = systems.length;
  if (k === 0) return { systems: [], regularised: false, iterations: 0 };

  const regularised = !stronglyConnected(beats);
  if (regularised && prior === 0) {
    throw new RangeError(
      'the Bradley-Terry maximum is not finite (a group of systems won or lost every game against the rest, or never met it); pass prior > 0',
    );
  }
  const virtual = regularised ? prior : 0;

  let p = new Array<number>(k).fill(1);
  let iterations = 0;
  for (;;) {
    if (iterations >= maxIterations)
      throw new Error(`Bradley-Terry MM did not converge in ${maxIterations} iterations`);
    iterations += 1;
    const next = p.map((pi, i) => {
      let denom = virtual / (pi + 1);
      const row = n[i] as number[];
      for (let j = 0; j < k; j++) if (row[j]) denom += (row[j] as number) / (pi + (p[j] as number));
      const w = (wins[i] as number) + virtual / 2;
      // A system with no games (possible only in the regularised case) keeps strength 1 of the reference.
      return denom === 0 ? 1 : w / denom;
    });
    // Without the reference the scale is free: pin it each step so it cannot drift (ratios are unaffected).
    const scaled = regularised ? next : normalise(next);
    let moved = 0;
    for (let i = 0; i < k; i++)
      moved = Math.max(moved, Math.abs(Math.log(scaled[i] as number) - Math.log(p[i] as number)));
    p = scaled;
    if (moved <= tolerance) break;
  }

  const strengths = normalise(p);
  return {
    systems: systems.map((system, i) => {
      const strength = strengths[i] as number;
      return { system, strength, logStrength: Math.log(strength), score: 400 * Math.log10(strength) + 1000 };
    }),
    regularised,
    iterations,
  };
}

/** Scale so the geometric mean is 1. */
function normalise(p: readonly number[]): number[] {
  let logSum = 0;
  for (const x of p) logSum += Math.log(x);
  const g = Math.exp(logSum / p.length);
  return p.map((x) => x / g);
}

export interface BootstrapOptions extends BradleyTerryOptions {
  seed: number;
  /** Bootstrap replicates; 1000 unless given. */
  reps?: number;
  /** Interval coverage, in (0, 1); 0.95 unless given. */
  level?: number;
}

/** A game and the unit it is resampled with: the rated item, so an item's ratings by several annotators travel together. */
export interface UnitGame extends Game {
  unit: number | string;
}

/** The win rate of a over b (a tie half a win) in the replicates, as a percentile interval. */
export interface PairInterval {
  a: string;
  b: string;
  /** null when the two never met. */
  low: number | null;
  high: number | null;
  /** The system the interval puts ahead (it excludes 0.5), or null: not separable. */
  ahead: string | null;
}

export interface RankedSystem {
  system: string;
  /** From the fit on all games (geometric mean 1). */
  strength: number;
  /** Elo-like score from the fit on all games. */
  score: number;
  /** Percentile bootstrap interval of the score. */
  low: number;
  high: number;
  /** 1 + the systems ahead of this one on a separable pair (pairwiseRanks). */
  rank: number;
  /** The other systems ranked whose pair with this one is not separable (its interval contains 0.5, or they never met). */
  notSeparableFrom: string[];
}

export interface PairedBootstrap {
  /** Best first: by rank, then score, then name. */
  leaderboard: RankedSystem[];
  /** Every pair of the systems once, a before b in the order given. */
  pairs: PairInterval[];
}

/**
 * The rank rule shared by the leaderboard and the win rates: rank = 1 + the systems that are ahead
 * of this one on a separable pair (a pair whose win-rate interval excludes 0.5). So a system is
 * never ranked below another unless their own head-to-head interval says so.
 *
 *   pairwiseRanks(['x', 'y', 'z'], [{ a: 'x', b: 'y', ahead: null }, { a: 'x', b: 'z', ahead: 'x' }, { a: 'y', b: 'z', ahead: null }])
 *   // [1, 1, 2]
 */
export function pairwiseRanks(
  systems: readonly string[],
  pairs: readonly Pick<PairInterval, 'a' | 'b' | 'ahead'>[],
): number[] {
  return systems.map(
    (s) => 1 + pairs.filter((p) => (p.a === s || p.b === s) && p.ahead !== null && p.ahead !== s).length,
  );
}

/** Type-7 quantile (linear between order statistics) of sorted values; same rule as the agreement bootstrap. */
function quantile(sorted: readonly number[], q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const a = sorted[lo] as number;
  const b = sorted[Math.ceil(h)] as number;
  return a + (h - lo) * (b - a);
}

/**
 * One percentile bootstrap for the whole leaderboard and every pair's win rate: each replicate
 * redraws as many units (rated items) as there are, with replacement, takes all their games, refits
 * Bradley-Terry and tallies each pair's win rate (ties as halves). The score intervals and the pair
 * intervals are percentiles of the same replicates, and ranks follow the pair intervals
 * (pairwiseRanks), so the two tables cannot disagree on which systems are apart. With two systems
 * the score gap is a monotone function of the win rate in every replicate, so their intervals also
 * agree (the two score intervals are disjoint exactly when the win-rate interval excludes 0.5, up
 * to interpolation between replicates). Games without a unit of their own should each get a distinct
 * one. Each replicate decides on its own whether it needs the prior, so keep prior > 0 here.
 * Same games and seed -> same result.
 *
 *   // x-y 12:8, y-z 14:6, x-z 15:5, each game its own item
 *   pairedBootstrap(['x', 'y', 'z'], games, { seed: 1 })
 *   // leaderboard: x rank 1, y rank 1, z rank 2 (x is ahead of z on their pair; x-y and y-z contain 0.5)
 */
export function pairedBootstrap(
  systems: readonly string[],
  games: readonly UnitGame[],
  opts: BootstrapOptions,
): PairedBootstrap {
  const reps = opts.reps ?? 1000;
  const level = opts.level ?? 0.95;
  if (!(Number.isInteger(reps) && reps >= 1)) throw new RangeError(`reps must be a whole number >= 1, got ${reps}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be in (0, 1), got ${level}`);
  const fit = bradleyTerry(systems, games, opts);
  const k = systems.length;
  const index = new Map(systems.map((s, i) => [s, i]));
  const byUnit = new Map<number | string, UnitGame[]>();
  for (const g of games) {
    const list = byUnit.get(g.unit);
    if (list) list.push(g);
    else byUnit.set(g.unit, [g]);
  }
  const units = [...byUnit.values()];
  const rng = new Rng(opts.seed);
  const scores: number[][] = systems.map(() => []);
  // rates[i * k + j], i < j: i's win rate over j in each replicate where they met.
  const rates: number[][] = Array.from({ length: k * k }, () => []);
  const score = new Float64Array(k * k);
  const met = new Float64Array(k * k);
  for (let r = 0; r < reps; r++) {
    const sample: Game[] = [];
    score.fill(0);
    met.fill(0);
    for (let u = 0; u < units.length; u++) {
      for (const g of units[rng.int(units.length)] as UnitGame[]) {
        sample.push(g);
        const i = index.get(g.a) as number;
        const j = index.get(g.b) as number;
        const [lo, hi, points] =
          i < j
            ? [i, j, g.outcome === 'a' ? 1 : g.outcome === 'b' ? 0 : 0.5]
            : [j, i, g.outcome === 'b' ? 1 : g.outcome === 'a' ? 0 : 0.5];
        score[lo * k + hi] = (score[lo * k + hi] as number) + points;
        met[lo * k + hi] = (met[lo * k + hi] as number) + 1;
      }
    }
    bradleyTerry(systems, sample, opts).systems.forEach((s, i) => (scores[i] as number[]).push(s.score));
    for (let p = 0; p < k * k; p++)
      if ((met[p] as number) > 0) (rates[p] as number[]).push((score[p] as number) / (met[p] as number));
  }
  const tail = (1 - level) / 2;
  const pairs: PairInterval[] = [];
  for (let i = 0; i < k; i++) {
    for (let j = i + 1; j < k; j++) {
      const values = (rates[i * k + j] as number[]).sort((x, y) => x - y);
      const a = systems[i] as string;
      const b = systems[j] as string;
      if (values.length === 0) {
        pairs.push({ a, b, low: null, high: null, ahead: null });
        continue;
      }
      const low = quantile(values, tail);
      const high = quantile(values, 1 - tail);
      pairs.push({ a, b, low, high, ahead: low > 0.5 ? a : high < 0.5 ? b : null });
    }
  }
  const intervals = scores.map((values) => {
    const sorted = values.sort((x, y) => x - y);
    return { low: quantile(sorted, tail), high: quantile(sorted, 1 - tail) };
  });
  const ranks = pairwiseRanks(systems, pairs);
  const leaderboard = fit.systems
    .map((s, i) => ({
      system: s.system,
      strength: s.strength,
      score: s.score,
      ...(intervals[i] as { low: number; high: number }),
      rank: ranks[i] as number,
      notSeparableFrom: pairs
        .filter((p) => (p.a === s.system || p.b === s.system) && p.ahead === null)
        .map((p) => (p.a === s.system ? p.b : p.a)),
    }))
    .sort((x, y) => x.rank - y.rank || y.score - x.score || (x.system < y.system ? -1 : x.system > y.system ? 1 : 0));
  return { leaderboard, pairs };
}
