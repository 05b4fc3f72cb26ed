/**
 * results.get on a real project: two tiny models compared in a campaign that two annotators rate
 * through the API in a fixed pattern, so every count is known; rewarded samples; a short real run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/main/api/backend';
import { toShown } from '../../src/main/rating/ratingService';
import { binEdges, decimate, histogram, verdictOutcome } from '../../src/main/report/results';
import { wilson } from '../../src/main/report/winRates';
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
    expect((['first', 'second', 'both_good', 'both_bad'] as Verdict[]).map(verdictOutcome)).toEqual(['a', 'b', 'tie', 'tie']);
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

describe('results.get on a rated campaign', () => {
  const dir = useSuiteTempDir('alol-results-');
  let backend: Backend;

  beforeAll(async () => {
    backend = openBackend(dir());
    await campaignProject(backend, { name: C, overlap: 2, gold: 2 });
    const items = backend.db
      .prepare("SELECT id, first_system FROM items WHERE campaign_id = (SELECT id FROM campaigns WHERE name = ?) AND kind = 'pair' ORDER BY id")
      .all(C) as { id: number; first_system: string }[];
    expect(items).toHaveLength(6);
    const canonical = (winner: string, first: string): Verdict => (winner === 'both_good' || winner === 'both_bad' ? winner : winner === first ? 'first' : 'second');
    for (const name of ['alice', 'bob']) {
      const annotator = (await call(backend, 'annotators.add', { campaign: C, name, link: false })).annotator.id;
      const who = { campaign: C, annotator };
      let item = (await call(backend, 'rating.next', who)).item;
      while (item) {
        const a = backend.db.prepare('SELECT item_id, swapped FROM assignments WHERE id = ?').get(item.assignmentId) as { item_id: number; swapped: number };
        const k = items.findIndex((i) => i.id === a.item_id);
        const first = items[k]?.first_system ?? '';
        // Gold items (k = -1) are answered too; they must not count.
        const helpful = k < 0 ? 'left' : toShown(canonical(HELPFUL[k] as string, first), a.swapped === 1);
        const safe = k < 0 ? 'left' : toShown(canonical(SAFE[k] as string, first), a.swapped === 1);
        item = (await call(backend, 'rating.submit', { ...who, assignmentId: item.assignmentId, helpful, safe, activeMs: 800 })).next;
      }
    }
    // Rewarded samples of one model, and a second campaign nobody rated.
    await finished(backend, () =>
      call(backend, 'samples.create', { model: A, prompts: { texts: ['Tell me a fact about rivers.', 'How do I boil an egg?'] }, n: 2, reward: 'demo', settings: { maxNewTokens: 6, greedy: false, seed: 5 } }),
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
    expect(helpful.pairs).toEqual([{ a: A, b: B, wins: 6, ties: 4, losses: 2, n: 12, winRate: 8 / 12, ci: wilson(8, 12) }]);
    expect(safe.pairs).toEqual([{ a: A, b: B, wins: 2, ties: 2, losses: 8, n: 12, winRate: 3 / 12, ci: wilson(3, 12) }]);
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
    expect((await call(backend, 'results.get', { campaign: C, reps: 200, seed: 3 })).criteria).toEqual(results.criteria);
  });

  it('carries the campaign agreement: the two annotators agree on every item', async () => {
    const results = await call(backend, 'results.get', { campaign: C, reps: 50 });
    expect(results.agreement.map((a) => a.campaign)).toEqual([C]);
    const helpful = results.agreement[0]!.criteria.find((c) => c.criterion === 'helpful')!;
    expect(helpful.items).toBe(6);
    expect(helpful.raw.estimate).toBe(1);
    expect(helpful.annotators.map((a) => a.annotator).sort()).toEqual(['alice', 'bob']);
  });

  it('summarises each model\'s samples: diversity, length and reward distributions', async () => {
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
    const rewarded = (await call(backend, 'samples.list', { model: A, limit: 1000 })).rows.filter((s) => s.rewards !== null);
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
    const { runId } = await call(backend, 'runs.start', { algo: 'nll', data: 'demo', init: A, out: 'alpha-nll', steps: 3, batch: 2 });
    await finished(backend, async () => ({ jobId: (await call(backend, 'runs.get', { runId })).jobId! }));
    const pooled = await call(backend, 'results.get', { reps: 50 });
    expect(pooled.campaign).toBeNull();
    expect(pooled.campaigns).toEqual([C, 'unrated']);
    expect(pooled.agreement.map((a) => a.campaign)).toEqual([C, 'unrated']);
    expect(pooled.criteria[0]!.pairs).toEqual((await call(backend, 'results.get', { campaign: C, reps: 50 })).criteria[0]!.pairs);
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
    expect(await backend.dispatch('results.get', { campaign: 'nope' })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await backend.dispatch('results.get', { reps: 0 })).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
  });

  it('follows a change to the ratings: a taken-back answer leaves the figures, and comes back with its new verdict', async () => {
    const before = await call(backend, 'results.get', { campaign: C, reps: 50 });
    const bob = (await call(backend, 'annotators.list', {})).find((a) => a.name === 'bob')!.id;
    const who = { campaign: C, annotator: bob };
    // Bob's latest decisions were gold items; take back until a pair item's answer is out.
    const kindOf = (assignment: number) => backend.db.prepare('SELECT i.kind FROM assignments a JOIN items i ON i.id = a.item_id WHERE a.id = ?').pluck().get(assignment);
    const undone: number[] = [];
    do undone.push((await call(backend, 'rating.undo', who)).item!.assignmentId);
    while (kindOf(undone.at(-1)!) !== 'pair');
    const during = await call(backend, 'results.get', { campaign: C, reps: 50 });
    const helpful = (r: typeof before) => r.criteria.find((c) => c.criterion === 'helpful')!.comparisons;
    expect(helpful(during)).toBe(helpful(before) - 1);
    const agreementRatings = (r: typeof before) => r.agreement[0]!.criteria[0]!.annotators.reduce((n, a) => n + a.n, 0);
    expect(agreementRatings(during)).toBe(agreementRatings(before) - 1);
    for (const assignmentId of undone) await call(backend, 'rating.submit', { ...who, assignmentId, helpful: 'both_bad', safe: 'both_bad', activeMs: 500 });
    expect(helpful(await call(backend, 'results.get', { campaign: C, reps: 50 }))).toBe(helpful(before));
  });
});
