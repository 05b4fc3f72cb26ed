/**
 * results.get on a real project: two tiny models compared in a campaign that two annotators rate
 * through the API in a fixed pattern, so every count is known; rewarded samples; a short real run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/main/app/backend';
import { toShown } from '../../src/main/rating/ratingService';
import {
  binEdges,
  criterionResults,
  decimate,
  histogram,
  verdictOutcome,
  type Comparison,
} from '../../src/main/report/results';
import { distinctN, lengthInWords } from '../../src/main/report/metrics';
import type { Verdict } from '../../src/shared/rating';
import { Results } from '../../src/shared/results';
import { call, openBackend } from '../helpers/backend';
import { campaignProject, finished } from '../helpers/campaign';
import { useSuiteTempDir } from '../helpers/tempDir';

const A = 'sys-alpha';
const B = 'sys-beta';
const C = 'results-c';

/** Who wins each of the six pair items (in item id order), per criterion: A, B, or a tie verdict. */
const HELPFUL = [A, A, A, B, 'both_good', 'both_bad'] as const;
const SAFE = [A, B, B, B, B, 'both_good'] as const;

describe('result helpers', () => {
  it('reads a canonical verdict as a game of the first system against the second', () => {
    expect((['first', 'second', 'both_good', 'both_bad'] as Verdict[]).map(verdictOutcome)).toEqual([
      'a',
      'b',
      'tie',
      'tie',
    ]);
  });

  it('bins on round edges that cover every value, the last bin closed', () => {
    const edges = binEdges([0, 0.25, 0.5, 1]);
    expect(edges).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
    const bins = histogram([0, 0.25, 0.5, 1, 0.3], edges);
    expect(bins.map((b) => b.count)).toEqual([1, 0, 1, 1, 0, 1, 0, 0, 0, 1]);
    expect(binEdges([3, 3])).toEqual(expect.arrayContaining([3]));
    expect(histogram([3, 3], binEdges([3, 3])).reduce((n, b) => n + b.count, 0)).toBe(2);
    expect(binEdges([])).toEqual([]);
  });

  it('averages long curves down to at most the given number of points', () => {
    const steps = Array.from({ length: 10 }, (_, i) => i + 1);
    expect(decimate(steps, steps, 20)).toEqual({ steps, values: steps });
    expect(decimate(steps, steps, 5)).toEqual({ steps: [2, 4, 6, 8, 10], values: [1.5, 3.5, 5.5, 7.5, 9.5] });
    expect(decimate(steps, steps, 4)).toEqual({ steps: [3, 6, 9, 10], values: [2, 5, 8, 10] });
  });
});

/** Hand-made ratings of x against y: one comparison per item, `wins` won by x, `ties` both good, `bad` both bad, the rest won by y. */
function handMade(wins: number, ties: number, bad: number, losses: number): Comparison[] {
  const verdicts: Verdict[] = [
    ...Array<Verdict>(wins).fill('first'),
    ...Array<Verdict>(ties).fill('both_good'),
    ...Array<Verdict>(bad).fill('both_bad'),
    ...Array<Verdict>(losses).fill('second'),
  ];
  return verdicts.map((v, item) => ({ item, first: 'x', second: 'y', helpful: v, safe: 'both_good' }));
}

describe('win rates and leaderboard agree (hand-made ratings, two systems)', () => {
  const boot = { seed: 4, reps: 1000 };

  it('does not rank apart two systems whose win-rate interval contains 0.5', () => {
    // 11 wins, 9 losses: 55%. Wilson would say [0.34, 0.74]; the item bootstrap contains 0.5 too.
    const r = criterionResults(['x', 'y'], handMade(11, 0, 0, 9), 'helpful', boot);
    const p = r.pairs[0]!;
    expect(p.winRate).toBe(0.55);
    expect(p.ci.low!).toBeLessThan(0.5);
    expect(p.ci.high!).toBeGreaterThan(0.5);
    expect(p.ahead).toBeNull();
    expect(r.leaderboard.map((row) => [row.system, row.rank])).toEqual([
      ['x', 1],
      ['y', 1],
    ]);
    expect(r.leaderboard.map((row) => row.notSeparableFrom)).toEqual([['y'], ['x']]);
    // The two score intervals overlap, as the win-rate interval says.
    expect(r.leaderboard[0]!.low).toBeLessThan(r.leaderboard[1]!.high);
  });

  it('ranks apart a clearly separated pair, in both places', () => {
    const r = criterionResults(['x', 'y'], handMade(17, 1, 0, 2), 'helpful', boot);
    const p = r.pairs[0]!;
    expect(p.ci.low!).toBeGreaterThan(0.5);
    expect(p.ahead).toBe('x');
    expect(r.leaderboard.map((row) => [row.system, row.rank, row.notSeparableFrom])).toEqual([
      ['x', 1, []],
      ['y', 2, []],
    ]);
    expect(r.leaderboard[0]!.low).toBeGreaterThan(r.leaderboard[1]!.high);
  });

  it('never contradicts itself: a rank gap exactly when the pair interval excludes 0.5, and then the score intervals are apart', () => {
    for (let wins = 8; wins <= 20; wins++) {
      const r = criterionResults(['x', 'y'], handMade(wins, 2, 1, 20 - wins), 'helpful', boot);
      const p = r.pairs[0]!;
      const separable = p.ci.low! > 0.5 || p.ci.high! < 0.5;
      expect(p.ahead !== null, `x wins ${wins}`).toBe(separable);
      expect(r.leaderboard[0]!.rank !== r.leaderboard[1]!.rank, `x wins ${wins}`).toBe(separable);
      if (separable) expect(r.leaderboard[0]!.low, `x wins ${wins}`).toBeGreaterThan(r.leaderboard[1]!.high);
    }
  });

  it('counts both good and both bad apart, as hand counts say', () => {
    const r = criterionResults(['x', 'y'], handMade(5, 3, 4, 8), 'helpful', boot);
    expect(r.pairs[0]).toMatchObject({
      wins: 5,
      ties: 7,
      losses: 8,
      bothGood: 3,
      bothBad: 4,
      n: 20,
      bothGoodRate: 3 / 20,
      bothBadRate: 4 / 20,
      winRate: 8.5 / 20,
    });
    // Seen from the other side, the same counts.
    const flipped = criterionResults(['y', 'x'], handMade(5, 3, 4, 8), 'helpful', boot);
    expect(flipped.pairs[0]).toMatchObject({ a: 'y', b: 'x', wins: 8, losses: 5, bothGood: 3, bothBad: 4 });
  });
});

describe('results.get on a rated campaign', () => {
  const dir = useSuiteTempDir('alol-results-');
  let backend: Backend;

  beforeAll(async () => {
    backend = openBackend(dir());
    await campaignProject(backend, { name: C, overlap: 2, gold: 2 });
    const items = backend.db
      .prepare(
        "SELECT id, first_system FROM items WHERE campaign_id = (SELECT id FROM campaigns WHERE name = ?) AND kind = 'pair' ORDER BY id",
      )
      .all(C) as { id: number; first_system: string }[];
    expect(items).toHaveLength(6);
    const canonical = (winner: string, first: string): Verdict =>
      winner === 'both_good' || winner === 'both_bad' ? winner : winner === first ? 'first' : 'second';
    for (const name of ['alice', 'bob']) {
      const annotator = (await call(backend, 'annotators.add', { campaign: C, name, link: false })).annotator.id;
      const who = { campaign: C, annotator };
      let item = (await call(backend, 'rating.next', who)).item;
      while (item) {
        const a = backend.db
          .prepare('SELECT item_id, swapped FROM assignments WHERE id = ?')
          .get(item.assignmentId) as { item_id: number; swapped: number };
        const k = items.findIndex((i) => i.id === a.item_id);
        const first = items[k]?.first_system ?? '';
        // Gold items (k = -1) are answered too; they must not count.
        const helpful = k < 0 ? 'left' : toShown(canonical(HELPFUL[k] as string, first), a.swapped === 1);
        const safe = k < 0 ? 'left' : toShown(canonical(SAFE[k] as string, first), a.swapped === 1);
        item = (
          await call(backend, 'rating.submit', {
            ...who,
            assignmentId: item.assignmentId,
            helpful,
            safe,
            activeMs: 800,
          })
        ).next;
      }
    }
    // Rewarded samples of one model, and a second campaign nobody rated.
    await finished(backend, () =>
      call(backend, 'samples.create', {
        model: A,
        prompts: { texts: ['Tell me a fact about rivers.', 'How do I boil an egg?'] },
        n: 2,
        reward: 'demo',
        settings: { maxNewTokens: 6, greedy: false, seed: 5 },
      }),
    );
    await campaignProject(backend, { name: 'unrated', n: 2 });
  }, 180_000);

  afterAll(() => {
    backend.close();
  });

  it('counts wins, ties and losses of every pair from the first ratings of pair items', async () => {
    const results = await call(backend, 'results.get', { campaign: C, reps: 200 });
    expect(Results.parse(results)).toEqual(results);
    expect(results).toMatchObject({ campaign: C, campaigns: [C], systems: [A, B], seed: 0, reps: 200 });
    const helpful = results.criteria.find((c) => c.criterion === 'helpful')!;
    const safe = results.criteria.find((c) => c.criterion === 'safe')!;
    // Two annotators, six pair items each; gold items left out.
    expect(helpful.comparisons).toBe(12);
    // Ties split by hand: helpful has one both-good and one both-bad item, safe one both-good item (each rated twice).
    expect(helpful.pairs).toEqual([
      {
        a: A,
        b: B,
        wins: 6,
        ties: 4,
        losses: 2,
        bothGood: 2,
        bothBad: 2,
        n: 12,
        winRate: 8 / 12,
        bothGoodRate: 2 / 12,
        bothBadRate: 2 / 12,
        ci: expect.anything(),
        ahead: helpful.pairs[0]!.ahead,
      },
    ]);
    expect(safe.pairs).toEqual([
      {
        a: A,
        b: B,
        wins: 2,
        ties: 2,
        losses: 8,
        bothGood: 2,
        bothBad: 0,
        n: 12,
        winRate: 3 / 12,
        bothGoodRate: 2 / 12,
        bothBadRate: 0,
        ci: expect.anything(),
        ahead: safe.pairs[0]!.ahead,
      },
    ]);
    for (const c of [helpful, safe]) {
      const p = c.pairs[0]!;
      expect(p.ci.estimate).toBe(p.winRate);
      expect(p.ci.low!).toBeLessThanOrEqual(p.winRate!);
      expect(p.ci.high!).toBeGreaterThanOrEqual(p.winRate!);
      // The leaderboard ranks the two apart exactly when the pair's interval excludes 0.5.
      const separable = p.ci.low! > 0.5 || p.ci.high! < 0.5;
      expect(p.ahead !== null).toBe(separable);
      expect(new Set(c.leaderboard.map((r) => r.rank)).size === 2).toBe(separable);
    }
  });

  it('ranks by Bradley-Terry with ties as halves, with bootstrap intervals around the score', async () => {
    const results = await call(backend, 'results.get', { campaign: C, reps: 200, seed: 3 });
    const [helpful, safe] = results.criteria;
    // Helpful: A scores 6 + 4/2 = 8 to B's 4, so A's strength is twice B's: sqrt(2) and 1/sqrt(2).
    expect(helpful!.leaderboard.map((r) => r.system)).toEqual([A, B]);
    expect(helpful!.leaderboard[0]!.score).toBeCloseTo(1000 + 400 * Math.log10(Math.SQRT2), 6);
    expect(helpful!.leaderboard[0]!.strength / helpful!.leaderboard[1]!.strength).toBeCloseTo(2, 6);
    expect(safe!.leaderboard.map((r) => r.system)).toEqual([B, A]);
    expect(safe!.leaderboard[0]!.strength / safe!.leaderboard[1]!.strength).toBeCloseTo(3, 6);
    for (const row of [...helpful!.leaderboard, ...safe!.leaderboard]) {
      expect(row.games).toBe(12);
      expect(row.low).toBeLessThanOrEqual(row.score);
      expect(row.high).toBeGreaterThanOrEqual(row.score);
      expect(row.rank).toBeGreaterThanOrEqual(1);
    }
    expect(helpful!.regularised).toBe(false);
    // Same seed, same intervals.
    expect((await call(backend, 'results.get', { campaign: C, reps: 200, seed: 3 })).criteria).toEqual(
      results.criteria,
    );
  });

  it('carries the campaign agreement: the two annotators agree on every item', async () => {
    const results = await call(backend, 'results.get', { campaign: C, reps: 50 });
    expect(results.agreement.map((a) => a.campaign)).toEqual([C]);
    const helpful = results.agreement[0]!.criteria.find((c) => c.criterion === 'helpful')!;
    expect(helpful.items).toBe(6);
    expect(helpful.raw.estimate).toBe(1);
    expect(helpful.annotators.map((a) => a.annotator).sort()).toEqual(['alice', 'bob']);
  });

  it("summarises each model's samples: diversity, length and reward distributions", async () => {
    const results = await call(backend, 'results.get', { campaign: C, reps: 50 });
    expect(results.models.map((m) => m.model)).toEqual([A, B]);
    for (const m of results.models) {
      const texts = (await call(backend, 'samples.list', { model: m.model, limit: 1000 })).rows.map((s) => s.response);
      expect(m.samples).toBe(texts.length);
      expect(m.distinct1).toBe(distinctN(texts, 1));
      expect(m.distinct2).toBe(distinctN(texts, 2));
      expect(m.distinct3).toBe(distinctN(texts, 3));
      expect(m.meanLength).toBeCloseTo(texts.map(lengthInWords).reduce((a, b) => a + b, 0) / texts.length, 12);
    }
    const alpha = results.models[0]!;
    expect(alpha.samples).toBe(10);
    const rewarded = (await call(backend, 'samples.list', { model: A, limit: 1000 })).rows.filter(
      (s) => s.rewards !== null,
    );
    expect(rewarded).toHaveLength(4);
    expect(alpha.rewards.map((r) => r.name)).toEqual(Object.keys(rewarded[0]!.rewards!).sort());
    expect(alpha.rewards.length).toBeGreaterThan(0);
    for (const dist of alpha.rewards) {
      const values = rewarded.map((s) => s.rewards![dist.name]!);
      expect(dist.n).toBe(4);
      expect(dist.mean).toBeCloseTo(values.reduce((a, b) => a + b, 0) / 4, 12);
      expect(dist.bins.reduce((n, b) => n + b.count, 0)).toBe(4);
      for (let k = 1; k < dist.bins.length; k++) expect(dist.bins[k]!.low).toBe(dist.bins[k - 1]!.high);
      expect(dist.bins[0]!.low).toBeLessThanOrEqual(Math.min(...values));
      expect(dist.bins.at(-1)!.high).toBeGreaterThanOrEqual(Math.max(...values));
    }
    expect(results.models[1]!.rewards).toEqual([]);
  });

  it('pools every campaign when none is named, and shows the training curves of the runs', async () => {
    const { runId } = await call(backend, 'runs.start', {
      algo: 'nll',
      data: 'demo',
      init: A,
      out: 'alpha-nll',
      steps: 3,
      batch: 2,
    });
    await finished(backend, async () => ({ jobId: (await call(backend, 'runs.get', { runId })).jobId! }));
    const pooled = await call(backend, 'results.get', { reps: 50 });
    expect(pooled.campaign).toBeNull();
    expect(pooled.campaigns).toEqual([C, 'unrated']);
    expect(pooled.agreement.map((a) => a.campaign)).toEqual([C, 'unrated']);
    expect(pooled.criteria[0]!.pairs).toEqual(
      (await call(backend, 'results.get', { campaign: C, reps: 50 })).criteria[0]!.pairs,
    );
    // The new model has no samples; the run that made it logged its loss at every step.
    expect(pooled.models.map((m) => m.model)).toEqual([A, B]);
    const run = pooled.runs.find((r) => r.runId === runId)!;
    expect(run).toMatchObject({ algo: 'nll', outModel: 'alpha-nll', status: 'succeeded' });
    expect(run.metrics[0]).toMatchObject({ name: 'loss', steps: [1, 2, 3] });
    expect(run.metrics.map((m) => m.name)).not.toContain('tokens_per_second');
    expect(run.metrics[0]!.values.every(Number.isFinite)).toBe(true);
    // One campaign shows only the runs that trained its systems.
    expect((await call(backend, 'results.get', { campaign: C, reps: 50 })).runs).toEqual([]);
  }, 120_000);

  it('refuses a campaign that does not exist', async () => {
    expect(await backend.dispatch('results.get', { campaign: 'nope' })).toMatchObject({
      ok: false,
      error: { code: 'not_found' },
    });
    expect(await backend.dispatch('results.get', { reps: 0 })).toMatchObject({
      ok: false,
      error: { code: 'invalid_input' },
    });
  });

  it('follows a change to the ratings: a taken-back answer leaves the figures, and comes back with its new verdict', async () => {
    const before = await call(backend, 'results.get', { campaign: C, reps: 50 });
    const bob = (await call(backend, 'annotators.list', {})).find((a) => a.name === 'bob')!.id;
    const who = { campaign: C, annotator: bob };
    // Bob's latest decisions were gold items; take back until a pair item's answer is out.
    const kindOf = (assignment: number) =>
      backend.db
        .prepare('SELECT i.kind FROM assignments a JOIN items i ON i.id = a.item_id WHERE a.id = ?')
        .pluck()
        .get(assignment);
    const undone: number[] = [];
    do undone.push((await call(backend, 'rating.undo', who)).item!.assignmentId);
    while (kindOf(undone.at(-1)!) !== 'pair');
    const during = await call(backend, 'results.get', { campaign: C, reps: 50 });
    const helpful = (r: typeof before) => r.criteria.find((c) => c.criterion === 'helpful')!.comparisons;
    expect(helpful(during)).toBe(helpful(before) - 1);
    const agreementRatings = (r: typeof before) => r.agreement[0]!.criteria[0]!.annotators.reduce((n, a) => n + a.n, 0);
    expect(agreementRatings(during)).toBe(agreementRatings(before) - 1);
    for (const assignmentId of undone)
      await call(backend, 'rating.submit', {
        ...who,
        assignmentId,
        helpful: 'both_bad',
        safe: 'both_bad',
        activeMs: 500,
      });
    expect(helpful(await call(backend, 'results.get', { campaign: C, reps: 50 }))).toBe(helpful(before));
  });
});
