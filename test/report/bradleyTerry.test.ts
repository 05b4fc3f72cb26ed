/** Bradley-Terry by MM against closed forms, the score equations, the item bootstrap and its rank rule. */
import { describe, expect, it } from 'vitest';
import {
  bradleyTerry,
  pairedBootstrap,
  pairwiseRanks,
  type Game,
  type GameOutcome,
  type UnitGame,
} from '../../src/main/stats/bradleyTerry';

/** `count` games of a against b, all with the same outcome. */
const games = (a: string, b: string, outcome: GameOutcome, count: number): Game[] =>
  Array.from({ length: count }, () => ({ a, b, outcome }));

const strengthOf = (fit: ReturnType<typeof bradleyTerry>, system: string): number =>
  fit.systems.find((s) => s.system === system)!.strength;

/** Wins with ties as halves, and games per pair, counted independently of the module. */
function tallies(systems: string[], gs: Game[]): { w: Map<string, number>; n: (i: string, j: string) => number } {
  const w = new Map(systems.map((s) => [s, 0]));
  for (const g of gs) {
    if (g.outcome === 'a') w.set(g.a, w.get(g.a)! + 1);
    else if (g.outcome === 'b') w.set(g.b, w.get(g.b)! + 1);
    else {
      w.set(g.a, w.get(g.a)! + 0.5);
      w.set(g.b, w.get(g.b)! + 0.5);
    }
  }
  const n = (i: string, j: string) => gs.filter((g) => (g.a === i && g.b === j) || (g.a === j && g.b === i)).length;
  return { w, n };
}

/** Log-likelihood with ties as half a win each way. */
function logLik(systems: string[], gs: Game[], p: Map<string, number>): number {
  let ll = 0;
  for (const g of gs) {
    const pa = p.get(g.a)!;
    const pb = p.get(g.b)!;
    const la = Math.log(pa / (pa + pb));
    const lb = Math.log(pb / (pa + pb));
    ll += g.outcome === 'a' ? la : g.outcome === 'b' ? lb : (la + lb) / 2;
  }
  return ll;
}

describe('bradleyTerry', () => {
  it('gives a strength ratio of exactly 3 for 3 wins to 1, geometric mean 1, Elo-like scores', () => {
    const fit = bradleyTerry(['x', 'y'], [...games('x', 'y', 'a', 3), ...games('y', 'x', 'a', 1)]);
    expect(fit.regularised).toBe(false);
    const [x, y] = fit.systems;
    expect(x!.strength / y!.strength).toBeCloseTo(3, 12);
    expect(x!.strength * y!.strength).toBeCloseTo(1, 12);
    expect(x!.strength).toBeCloseTo(Math.sqrt(3), 12);
    expect(x!.logStrength).toBeCloseTo(Math.log(3) / 2, 12);
    // score = 400 log10(sqrt 3) + 1000 = 1095.42; the gap 400 log10 3 = 190.85 means 3:1 odds.
    expect(x!.score).toBeCloseTo(1000 + 200 * Math.log10(3), 9);
    expect(y!.score).toBeCloseTo(1000 - 200 * Math.log10(3), 9);
  });

  it('solves the score equations on a 3-system example, at the likelihood maximum', () => {
    const systems = ['A', 'B', 'C'];
    const gs = [
      ...games('A', 'B', 'a', 4),
      ...games('A', 'B', 'b', 2),
      ...games('A', 'B', 'tie', 1),
      ...games('B', 'C', 'a', 3),
      ...games('C', 'B', 'a', 1),
      ...games('A', 'C', 'a', 2),
      ...games('A', 'C', 'b', 2),
      ...games('C', 'A', 'tie', 2),
    ];
    const fit = bradleyTerry(systems, gs);
    expect(fit.regularised).toBe(false);
    const p = new Map(fit.systems.map((s) => [s.system, s.strength]));
    const { w, n } = tallies(systems, gs);
    // W_A = 4 + 0.5 + 2 + 1 = 7.5, W_B = 2 + 0.5 + 3 = 5.5, W_C = 1 + 2 + 1 = 4.
    expect([w.get('A'), w.get('B'), w.get('C')]).toEqual([7.5, 5.5, 4]);
    for (const i of systems) {
      let expected = 0;
      for (const j of systems) if (j !== i) expected += (n(i, j) * p.get(i)!) / (p.get(i)! + p.get(j)!);
      expect(Math.abs(expected - w.get(i)!)).toBeLessThan(1e-9);
    }
    // Nudging any strength either way lowers the likelihood.
    const best = logLik(systems, gs, p);
    for (const s of systems) {
      for (const f of [0.99, 1.01]) {
        const q = new Map(p);
        q.set(s, q.get(s)! * f);
        expect(logLik(systems, gs, q)).toBeLessThan(best);
      }
    }
    expect(strengthOf(fit, 'A')).toBeGreaterThan(strengthOf(fit, 'B'));
    expect(strengthOf(fit, 'B')).toBeGreaterThan(strengthOf(fit, 'C'));
    expect(fit.systems.map((s) => s.logStrength).reduce((a, b) => a + b)).toBeCloseTo(0, 12);
  });

  it('counts a tie as half a win to each side', () => {
    // 2 wins + 2 ties vs 0 wins + 2 ties: W = 3 and 1 of 4 games, the same as 3 wins to 1.
    const withTies = bradleyTerry(['x', 'y'], [...games('x', 'y', 'a', 2), ...games('x', 'y', 'tie', 2)]);
    expect(withTies.regularised).toBe(false);
    expect(strengthOf(withTies, 'x') / strengthOf(withTies, 'y')).toBeCloseTo(3, 12);
    // All ties: equal strengths (and a finite MLE, since a tie is half a win both ways).
    const allTies = bradleyTerry(['x', 'y'], games('y', 'x', 'tie', 3));
    expect(allTies.regularised).toBe(false);
    expect(strengthOf(allTies, 'x')).toBeCloseTo(1, 12);
  });

  it('keeps strengths finite with the prior when a system won everything', () => {
    const fit = bradleyTerry(['x', 'y'], games('x', 'y', 'a', 5));
    expect(fit.regularised).toBe(true);
    const x = strengthOf(fit, 'x');
    const y = strengthOf(fit, 'y');
    expect(Number.isFinite(x) && x > 1).toBe(true);
    expect(x * y).toBeCloseTo(1, 12);
    // By symmetry the fit against the strength-1 reference already has x * y = 1, so the MAP equation
    // for x reads: 5 + 1/2 = 5 x / (x + 1/x) + x / (x + 1).
    expect(5 + 0.5 - ((5 * x) / (x + 1 / x) + x / (x + 1))).toBeCloseTo(0, 9);
    expect(() => bradleyTerry(['x', 'y'], games('x', 'y', 'a', 5), { prior: 0 })).toThrow(RangeError);
  });

  it('regularises disconnected comparisons and systems without games', () => {
    const fit = bradleyTerry(
      ['a', 'b', 'c', 'd', 'e'],
      [...games('a', 'b', 'a', 2), ...games('b', 'a', 'a', 1), ...games('c', 'd', 'a', 1), ...games('d', 'c', 'a', 1)],
    );
    expect(fit.regularised).toBe(true);
    for (const s of fit.systems) expect(Number.isFinite(s.score)).toBe(true);
    expect(strengthOf(fit, 'a')).toBeGreaterThan(strengthOf(fit, 'b'));
    // c and d split evenly and e never played: all three sit at the reference.
    expect(strengthOf(fit, 'c')).toBeCloseTo(strengthOf(fit, 'e'), 9);
    expect(strengthOf(fit, 'd')).toBeCloseTo(strengthOf(fit, 'e'), 9);
  });

  it('handles no systems and a single system, and refuses bad games', () => {
    expect(bradleyTerry([], [])).toEqual({ systems: [], regularised: false, iterations: 0 });
    expect(bradleyTerry(['x'], []).systems).toEqual([{ system: 'x', strength: 1, logStrength: 0, score: 1000 }]);
    expect(() => bradleyTerry(['x', 'y'], games('x', 'z', 'a', 1))).toThrow(RangeError);
    expect(() => bradleyTerry(['x', 'y'], games('x', 'x', 'a', 1))).toThrow(RangeError);
    expect(() => bradleyTerry(['x', 'x'], [])).toThrow(RangeError);
    expect(() => bradleyTerry(['x', 'y'], [{ a: 'x', b: 'y', outcome: 'draw' as GameOutcome }])).toThrow(RangeError);
  });
});

describe('pairwiseRanks', () => {
  it('ranks 1 + the systems ahead on a separable pair', () => {
    // x ahead of z, y ahead of z, x-y not separable: x and y share rank 1, z is 3rd.
    const pairs = [
      { a: 'x', b: 'y', ahead: null },
      { a: 'x', b: 'z', ahead: 'x' },
      { a: 'y', b: 'z', ahead: 'y' },
    ];
    expect(pairwiseRanks(['x', 'y', 'z'], pairs)).toEqual([1, 1, 3]);
    // Only x-z separable: y shares rank 1 with both, z sits below x alone.
    expect(pairwiseRanks(['x', 'y', 'z'], [pairs[0]!, pairs[1]!, { a: 'y', b: 'z', ahead: null }])).toEqual([1, 1, 2]);
    expect(pairwiseRanks([], [])).toEqual([]);
  });
});

/** Games with each its own unit (item). */
const units = (gs: Game[]): UnitGame[] => gs.map((g, i) => ({ ...g, unit: i }));

describe('pairedBootstrap', () => {
  const systems = ['weak', 'strong', 'middle'];
  const gs = units([
    ...games('strong', 'middle', 'a', 25),
    ...games('strong', 'middle', 'b', 5),
    ...games('middle', 'weak', 'a', 25),
    ...games('middle', 'weak', 'b', 5),
    ...games('strong', 'weak', 'a', 28),
    ...games('strong', 'weak', 'b', 2),
    ...games('strong', 'weak', 'tie', 2),
  ]);

  it('repeats exactly for a seed, sorts best first, and ranks by separable pairs', () => {
    const a = pairedBootstrap(systems, gs, { seed: 9, reps: 300 });
    expect(pairedBootstrap(systems, gs, { seed: 9, reps: 300 })).toEqual(a);
    expect(pairedBootstrap(systems, gs, { seed: 10, reps: 300 })).not.toEqual(a);
    expect(a.leaderboard.map((s) => s.system)).toEqual(['strong', 'middle', 'weak']);
    expect(a.leaderboard.map((s) => s.rank)).toEqual([1, 2, 3]);
    const fit = bradleyTerry(systems, gs);
    for (const s of a.leaderboard) {
      expect(s.strength).toBe(strengthOf(fit, s.system));
      expect(s.low).toBeLessThan(s.score);
      expect(s.high).toBeGreaterThan(s.score);
      expect(s.notSeparableFrom).toEqual([]);
    }
    // Pairs in the order given, each interval around its own win rate (strong over middle: 25/30).
    expect(a.pairs.map((p) => [p.a, p.b, p.ahead])).toEqual([
      ['weak', 'strong', 'strong'],
      ['weak', 'middle', 'middle'],
      ['strong', 'middle', 'strong'],
    ]);
    const sm = a.pairs[2]!;
    expect(sm.low!).toBeLessThan(25 / 30);
    expect(sm.high!).toBeGreaterThan(25 / 30);
  });

  it('shares a rank exactly when the pair interval contains 0.5', () => {
    // x and y nearly even, both far above z.
    const close = units([
      ...games('x', 'y', 'a', 6),
      ...games('x', 'y', 'b', 5),
      ...games('x', 'z', 'a', 18),
      ...games('x', 'z', 'b', 2),
      ...games('y', 'z', 'a', 18),
      ...games('y', 'z', 'b', 2),
    ]);
    const r = pairedBootstrap(['z', 'y', 'x'], close, { seed: 3, reps: 300 });
    expect(r.leaderboard.map((s) => [s.system, s.rank])).toEqual([
      ['x', 1],
      ['y', 1],
      ['z', 3],
    ]);
    const xy = r.pairs.find((p) => p.a === 'y' && p.b === 'x')!;
    expect(xy.low!).toBeLessThan(0.5);
    expect(xy.high!).toBeGreaterThan(0.5);
    expect(xy.ahead).toBeNull();
    expect(r.leaderboard.find((s) => s.system === 'x')!.notSeparableFrom).toEqual(['y']);
  });

  it('resamples whole items: ratings of one item by several annotators move together', () => {
    // 6 items, each rated twice the same way: 4 won by x, 2 by y. Resampling items, a replicate's win rate
    // is k/6 for whole k, as with one rating per item; resampling the 12 ratings one by one would differ.
    const twice: UnitGame[] = [];
    for (let item = 0; item < 6; item++)
      for (let rater = 0; rater < 2; rater++) twice.push({ a: 'x', b: 'y', outcome: item < 4 ? 'a' : 'b', unit: item });
    const r = pairedBootstrap(['x', 'y'], twice, { seed: 1, reps: 200, level: 0.5 });
    // Equal outcomes within an item: the two-rater data has exactly the intervals of one rater per item.
    const once = twice.filter((_, i) => i % 2 === 0);
    expect(pairedBootstrap(['x', 'y'], once, { seed: 1, reps: 200, level: 0.5 }).pairs).toEqual(r.pairs);
  });

  it('gives no interval to a pair that never met, and never separates it', () => {
    const r = pairedBootstrap(['x', 'y', 'z'], units([...games('x', 'y', 'a', 20), ...games('y', 'z', 'a', 20)]), {
      seed: 2,
      reps: 100,
    });
    const xz = r.pairs.find((p) => p.a === 'x' && p.b === 'z')!;
    expect(xz).toEqual({ a: 'x', b: 'z', low: null, high: null, ahead: null });
    expect(r.leaderboard.map((s) => [s.system, s.rank])).toEqual([
      ['x', 1],
      ['y', 2],
      ['z', 2],
    ]);
  });

  it('refuses nonsense options', () => {
    expect(() => pairedBootstrap(systems, gs, { seed: 1, reps: 0 })).toThrow(RangeError);
    expect(() => pairedBootstrap(systems, gs, { seed: 1, level: 0 })).toThrow(RangeError);
  });
});
