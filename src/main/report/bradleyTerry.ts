/**
 * Bradley-Terry strengths for systems compared in pairs, fitted by the MM algorithm (Hunter 2004,
 * "MM algorithms for generalized Bradley-Terry models"), with a percentile bootstrap over games and
 * Chatbot Arena's interval-respecting ranks. Pure arithmetic: no I/O.
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
import { Rng } from '../lm/rng';

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
    if (i === undefined || j === undefined) throw new RangeError(`game ${g.a} vs ${g.b} names a system not in the list`);
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
    if (g.outcome !== 'a' && g.outcome !== 'b' && g.outcome !== 'tie') throw new RangeError(`outcome must be 'a', 'b' or 'tie', got ${String(g.outcome)}`);
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
  return reachesAll((i, j) => (beats[i] as boolean[])[j] as boolean) && reachesAll((i, j) => (beats[j] as boolean[])[i] as boolean);
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
export function bradleyTerry(systems: readonly string[], games: readonly Game[], opts: BradleyTerryOptions = {}): BradleyTerryFit {
  const prior = opts.prior ?? 1;
  const tolerance = opts.tolerance ?? 1e-13;
  const maxIterations = opts.maxIterations ?? 100_000;
  if (!(Number.isFinite(prior) && prior >= 0)) throw new RangeError(`prior must be a finite number >= 0, got ${prior}`);
  const { wins, games: n, beats } = tally(systems, games);
  const k = systems.length;
  if (k === 0) return { systems: [], regularised: false, iterations: 0 };

  const regularised = !stronglyConnected(beats);
  if (regularised && prior === 0) {
    throw new RangeError('the Bradley-Terry maximum is not finite (a group of systems won or lost every game against the rest, or never met it); pass prior > 0');
  }
  const virtual = regularised ? prior : 0;

  let p = new Array<number>(k).fill(1);
  let iterations = 0;
  for (;;) {
    if (iterations >= maxIterations) throw new Error(`Bradley-Terry MM did not converge in ${maxIterations} iterations`);
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
    for (let i = 0; i < k; i++) moved = Math.max(moved, Math.abs(Math.log(scaled[i] as number) - Math.log(p[i] as number)));
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

/**
 * Chatbot Arena's rank rule: rank = 1 + the number of systems whose interval lies wholly above
 * this one's (their low > this high). Overlapping systems share a rank, so a rank is never claimed
 * that the intervals do not support.
 *
 *   arenaRanks([{ low: 10, high: 20 }, { low: 15, high: 25 }, { low: 0, high: 5 }])  // [1, 1, 3]
 */
export function arenaRanks(intervals: readonly { low: number; high: number }[]): number[] {
  return intervals.map((me) => 1 + intervals.filter((other) => other.low > me.high).length);
}

export interface BootstrapOptions extends BradleyTerryOptions {
  seed: number;
  /** Bootstrap replicates; 1000 unless given. */
  reps?: number;
  /** Interval coverage, in (0, 1); 0.95 unless given. */
  level?: number;
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
  /** arenaRanks over the score intervals. */
  rank: number;
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
 * Bradley-Terry with a percentile bootstrap: each replicate redraws as many games as there are,
 * with replacement, and refits (each replicate decides on its own whether it needs the prior, so
 * keep prior > 0 here). Scores of every replicate are on the same scale (geometric mean 1).
 * Returned best first: by rank, then score, then name. Same games and seed -> same result.
 *
 *   // x-y 12:8, y-z 14:6, x-z 15:5
 *   bradleyTerryBootstrap(['x', 'y', 'z'], games, { seed: 1 })
 *   // [{ system: 'x', strength: 1.658, score: 1087.9, low: 1013.5, high: 1182.7, rank: 1 },
 *   //  { system: 'y', strength: 1.156, score: 1025.2, low: 948.9,  high: 1107.5, rank: 1 },
 *   //  { system: 'z', strength: 0.521, score: 886.9,  low: 783.7,  high: 964.3,  rank: 2 }]
 *   // z is 2nd, not 3rd: only x's interval lies wholly above its own.
 */
export function bradleyTerryBootstrap(systems: readonly string[], games: readonly Game[], opts: BootstrapOptions): RankedSystem[] {
  const reps = opts.reps ?? 1000;
  const level = opts.level ?? 0.95;
  if (!(Number.isInteger(reps) && reps >= 1)) throw new RangeError(`reps must be a whole number >= 1, got ${reps}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be in (0, 1), got ${level}`);
  const fit = bradleyTerry(systems, games, opts);
  const rng = new Rng(opts.seed);
  const scores: number[][] = systems.map(() => []);
  for (let r = 0; r < reps; r++) {
    const sample: Game[] = [];
    for (let g = 0; g < games.length; g++) sample.push(games[rng.int(games.length)] as Game);
    bradleyTerry(systems, sample, opts).systems.forEach((s, i) => (scores[i] as number[]).push(s.score));
  }
  const tail = (1 - level) / 2;
  const intervals = scores.map((values) => {
    const sorted = values.sort((x, y) => x - y);
    return { low: quantile(sorted, tail), high: quantile(sorted, 1 - tail) };
  });
  const ranks = arenaRanks(intervals);
  return fit.systems
    .map((s, i) => ({ system: s.system, strength: s.strength, score: s.score, ...(intervals[i] as { low: number; high: number }), rank: ranks[i] as number }))
    .sort((x, y) => x.rank - y.rank || y.score - x.score || (x.system < y.system ? -1 : x.system > y.system ? 1 : 0));
}
