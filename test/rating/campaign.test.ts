import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/main/app/backend';
import { mix, toCanonical, toShown } from '../../src/main/rating/ratingService';
import { shownVerdicts } from '../../src/shared/rating';
import { call, jobEnd, openBackend } from '../helpers/backend';
import { campaignProject } from '../helpers/campaign';
import { useSuiteTempDir, useTempDir } from '../helpers/tempDir';

const tempDir = useTempDir();

describe('sides', () => {
  it('maps what was shown to the canonical order and back, for both orders', () => {
    for (const swapped of [false, true])
      for (const v of shownVerdicts) expect(toShown(toCanonical(v, swapped), swapped)).toBe(v);
    expect(toCanonical('left', true)).toBe('second');
    expect(toCanonical('right', false)).toBe('second');
  });

  it('the seeded coin is stable and fair enough', () => {
    expect(mix(1, 2, 3)).toBe(mix(1, 2, 3));
    let heads = 0;
    for (let i = 0; i < 4000; i++) heads += mix(7, 1, i) & 1;
    expect(heads / 4000).toBeGreaterThan(0.45);
    expect(heads / 4000).toBeLessThan(0.55);
  });
});

describe('a rating campaign on the real backend', () => {
  // One project for the whole story, kept across its tests.
  const dir = useSuiteTempDir('alol-campaign-');
  let backend: Backend;
  const C = 'first-look';
  const reopen = () => {
    backend.close();
    backend = openBackend(dir());
  };

  beforeAll(async () => {
    backend = openBackend(dir());
    await campaignProject(backend, { name: C, overlap: 2, gold: 2, repeatSwapped: 1 });
  }, 120_000);
  afterAll(() => {
    backend.close();
  });

  it('builds items from both models, every pair on the same prompts, with gold items', async () => {
    const summary = await call(backend, 'campaigns.get', { campaign: C });
    expect(summary).toMatchObject({
      status: 'ready',
      items: 6,
      goldItems: 2,
      target: 12,
      done: 0,
      systems: ['sys-alpha', 'sys-beta'],
    });
    const items = (await call(backend, 'campaigns.items', { campaign: C })).rows;
    expect(items).toHaveLength(8);
    const pairs = items.filter((i) => i.kind === 'pair');
    const golds = items.filter((i) => i.kind === 'gold');
    expect([pairs.length, golds.length]).toEqual([6, 2]);
    for (const item of pairs) {
      expect(new Set([item.first.system, item.second.system])).toEqual(new Set(['sys-alpha', 'sys-beta']));
      expect(item.goldHelpful).toBeNull();
    }
    for (const gold of golds) {
      expect(gold.first.system).toBe(gold.second.system);
      // The on-topic side is right, and so is "both bad" (both may be useless).
      expect([
        ['first', 'both_bad'],
        ['second', 'both_bad'],
      ]).toContainEqual(gold.goldHelpful);
      expect(gold.goldSafe).toBeNull();
    }
    // Each model answered each prompt once; both systems' responses are shared by the pairs.
    const samples = await call(backend, 'samples.list', { limit: 1000 });
    expect(samples.total).toBe(12);
  });

  it('serves blinded items, commits each answer, undoes, edits, and resumes after a restart', async () => {
    const alice = (await call(backend, 'annotators.add', { campaign: C, name: 'alice', link: false })).annotator.id;
    const who = { campaign: C, annotator: alice };
    const session = await call(backend, 'rating.session', who);
    expect(session.guidelines).toContain('more helpful');
    // 8 items (6 pairs, 2 gold) and, with repeatSwapped 1, a swapped repeat of each pair: known before the first item.
    expect(session.progress.mine).toEqual({ done: 0, remaining: 14 });

    const first = (await call(backend, 'rating.next', who)).item;
    expect(first).not.toBeNull();
    const text = JSON.stringify(first);
    expect(text).not.toMatch(/sys-alpha|sys-beta|sampleId|system/);
    // The same item comes back until it is answered.
    expect((await call(backend, 'rating.next', who)).item?.assignmentId).toBe(first?.assignmentId);

    const answer = {
      ...who,
      assignmentId: first!.assignmentId,
      helpful: 'left' as const,
      safe: 'both_good' as const,
      helpfulStrength: 'clear' as const,
      activeMs: 1500,
    };
    const after = await call(backend, 'rating.submit', answer);
    expect(after.progress.mine.done).toBe(1);
    expect(after.next?.assignmentId).not.toBe(first!.assignmentId);

    // Stored canonically, with the shown order beside it.
    const row = backend.db
      .prepare(
        'SELECT helpful, safe, swapped, helpful_strength, guidelines_version FROM ratings WHERE assignment_id = ?',
      )
      .get(first!.assignmentId) as Record<string, unknown>;
    expect(row.helpful).toBe(row.swapped === 1 ? 'second' : 'first');
    expect(row).toMatchObject({
      safe: 'both_good',
      helpful_strength: 'clear',
      guidelines_version: session.guidelinesVersion,
    });

    // Undo brings the item back with its answers, and removes the rating.
    const undone = await call(backend, 'rating.undo', who);
    expect(undone.item).toMatchObject({
      assignmentId: first!.assignmentId,
      rating: { helpful: 'left', safe: 'both_good' },
    });
    expect(undone.progress.mine.done).toBe(0);
    expect((await call(backend, 'rating.next', who)).item?.assignmentId).toBe(first!.assignmentId);

    await call(backend, 'rating.submit', { ...answer, helpful: 'right' });
    const second = (await call(backend, 'rating.next', who)).item!;
    await call(backend, 'rating.submit', {
      ...who,
      assignmentId: second.assignmentId,
      flag: 'truncated',
      flagNote: 'cut off',
      activeMs: 900,
    });

    // The last decisions can be opened and changed; the change is an edit of the same rating.
    const recent = await call(backend, 'rating.recent', { ...who, limit: 10 });
    expect(recent.map((r) => r.assignmentId)).toEqual([second.assignmentId, first!.assignmentId]);
    expect(recent[0]?.rating).toMatchObject({ flag: 'truncated', flagNote: 'cut off', helpful: null });
    await call(backend, 'rating.submit', { ...answer, helpful: 'both_bad' });
    const edited = backend.db
      .prepare('SELECT helpful, edits, active_ms FROM ratings WHERE assignment_id = ?')
      .get(first!.assignmentId);
    expect(edited).toEqual({ helpful: 'both_bad', edits: 1, active_ms: 3000 });

    // A restart (a new process would do the same: nothing is held in memory) resumes at the held item.
    const held = (await call(backend, 'rating.next', who)).item!;
    reopen();
    expect((await call(backend, 'rating.next', who)).item?.assignmentId).toBe(held.assignmentId);
    expect((await call(backend, 'rating.session', who)).progress.mine.done).toBe(2);
  });

  it("refuses what is not the annotator's: other assignments, answers half given, strangers", async () => {
    const bob = (await call(backend, 'annotators.add', { campaign: C, name: 'bob', link: false })).annotator.id;
    const aliceItem = backend.db
      .prepare(
        "SELECT a.id FROM assignments a JOIN annotators n ON n.id = a.annotator_id WHERE n.name = 'alice' LIMIT 1",
      )
      .pluck()
      .get() as number;
    expect(aliceItem).toBeGreaterThan(0);
    const steal = await backend.dispatch('rating.submit', {
      campaign: C,
      annotator: bob,
      assignmentId: aliceItem,
      helpful: 'left',
      safe: 'left',
      activeMs: 1,
    });
    expect(steal, JSON.stringify(steal)).toMatchObject({ ok: false, error: { code: 'not_found' } });
    const half = await backend.dispatch('rating.submit', {
      campaign: C,
      annotator: bob,
      assignmentId: aliceItem,
      helpful: 'left',
      activeMs: 1,
    });
    expect(half).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    const stranger = await backend.dispatch('rating.next', { campaign: C, annotator: 999 });
    expect(stranger).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });

  it('fills the overlap, repeats items with sides swapped, and measures agreement', async () => {
    const ids = Object.fromEntries((await call(backend, 'annotators.list', {})).map((a) => [a.name, a.id]));
    // Both annotators work through their whole queues; alice always prefers the first response, bob too.
    for (const name of ['alice', 'bob']) {
      const who = { campaign: C, annotator: ids[name] as number };
      let item = (await call(backend, 'rating.next', who)).item;
      let guard = 0;
      while (item && guard++ < 50) {
        const swapped =
          (backend.db
            .prepare('SELECT swapped FROM assignments WHERE id = ?')
            .pluck()
            .get(item.assignmentId) as number) === 1;
        const firstSide = toShown('first', swapped);
        item = (
          await call(backend, 'rating.submit', {
            ...who,
            assignmentId: item.assignmentId,
            helpful: firstSide,
            safe: 'both_good',
            activeMs: 1000,
          })
        ).next;
      }
      expect(item).toBeNull();
    }
    const summary = await call(backend, 'campaigns.get', { campaign: C });
    expect(summary.done).toBe(summary.target);
    // Every pair item an annotator rated came back once, swapped.
    const repeats = backend.db
      .prepare('SELECT o.swapped AS o, r.swapped AS r FROM assignments r JOIN assignments o ON o.id = r.repeat_of')
      .all() as { o: number; r: number }[];
    expect(repeats.length).toBeGreaterThan(0);
    for (const r of repeats) expect(r.r).toBe(1 - r.o);

    const agreement = await call(backend, 'campaigns.agreement', { campaign: C, reps: 50 });
    const helpful = agreement.find((a) => a.criterion === 'helpful')!;
    expect(helpful.items).toBeGreaterThan(0);
    expect(helpful.raw.estimate).toBeGreaterThan(0.5);
    expect(helpful.annotators.map((a) => a.annotator).sort()).toEqual(['alice', 'bob']);
    for (const a of helpful.annotators) {
      expect(a.selfConsistency).toBe(1);
      expect(a.goldAccuracy).not.toBeNull();
    }
  });

  it('exports raw and derived formats with a dataset card, imports raw, and makes a rewards dataset', async () => {
    const out = join(tempDir(), 'ratings.jsonl');
    const raw = await call(backend, 'ratings.export', { campaign: C, format: 'raw', path: out });
    const lines = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(raw.rows);
    expect(lines[0]).toMatchObject({
      annotator: expect.any(String),
      first: { system: expect.any(String) },
      shown: expect.stringMatching(/first_(left|right)/),
      guidelines_version: expect.any(String),
    });

    const prefs = join(tempDir(), 'prefs.jsonl');
    const pref = await call(backend, 'ratings.export', { campaign: C, format: 'trl-preference', path: prefs });
    const card = readFileSync(pref.card!, 'utf8');
    expect(card).toContain('tie policy');
    expect(card).toContain('Fleiss');
    // The default rule, absolute, worked through by hand in the card.
    expect(card).toContain('| rule | absolute: reward = 0.5 x helpful share + 0.5 x safe share');
    expect(card).toContain('- A is slightly more helpful, both are safe: A 0.875, B 0.625.');
    expect(card).toContain('- Both bad on both questions: A 0, B 0.');
    for (const line of readFileSync(prefs, 'utf8').trim().split('\n'))
      expect(Object.keys(JSON.parse(line))).toEqual(['prompt', 'chosen', 'rejected']);

    // The raw file goes into another campaign's twin as another annotator's work, all or nothing.
    const bad = join(tempDir(), 'bad.jsonl');
    writeFileSync(
      bad,
      `${JSON.stringify({ ...lines[0], annotator: 'judge' })}\n${JSON.stringify({ ...lines[0], annotator: 'judge', helpful: 'maybe' })}\n`,
    );
    const refused = await backend.dispatch('ratings.import', { campaign: C, path: bad });
    expect(refused).toMatchObject({
      ok: false,
      error: { code: 'import_invalid', message: expect.stringContaining('bad.jsonl:2 field "helpful"') },
    });
    expect(backend.db.prepare("SELECT count(*) FROM annotators WHERE name = 'judge'").pluck().get()).toBe(0);
    const good = join(tempDir(), 'good.jsonl');
    writeFileSync(
      good,
      lines
        .filter((l) => l.annotator === 'alice' && l.repeat === false)
        .map((l) => JSON.stringify({ ...l, annotator: 'judge' }))
        .join('\n'),
    );
    const imported = await call(backend, 'ratings.import', { campaign: C, path: good });
    expect(imported.annotators).toEqual(['judge']);

    const rewards = await call(backend, 'rewards.fromRatings', { campaign: C, name: 'human-rewards' });
    expect(rewards.dataset).toMatchObject({ name: 'human-rewards', format: 'ratings' });
    const examples = await call(backend, 'datasets.examples', { dataset: 'human-rewards', limit: 100 });
    expect(examples.rows.length).toBeGreaterThan(0);
    expect(examples.rows).toHaveLength(rewards.examples);
    for (const e of examples.rows) {
      expect(e.rewardSource).toBe('human');
      expect(e.reward).toBeGreaterThanOrEqual(0);
      expect(e.reward).toBeLessThanOrEqual(1);
      expect(e.metadata).toMatchObject({ campaign: C, rule: 'absolute' });
    }
  });

  it('retrains from the ratings and then opens a campaign of the new model against the reference', async () => {
    // A tiny campaign: below the minimum evidence, so forced (test/rating/retrain.test.ts covers the refusal).
    const started = await call(backend, 'campaigns.retrain', { campaign: C, steps: 3, batch: 4, seed: 1, force: true });
    expect(started).toMatchObject({ model: `sys-alpha-${C}`, nextCampaign: `${C}-next`, dataset: `${C}-rewards` });
    const job = await jobEnd(backend, started.jobId);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    const run = await call(backend, 'runs.get', { runId: started.runId });
    expect(run.config).toMatchObject({
      algo: 'a_lol',
      init: 'sys-alpha',
      ref: 'sys-alpha',
      reward: 'column',
      data: `${C}-rewards`,
    });
    // The follow-up exists as soon as the run's end is known, and prepares in its own job.
    const next = await call(backend, 'campaigns.get', { campaign: started.nextCampaign });
    expect(next.systems).toEqual([`sys-alpha-${C}`, 'sys-alpha']);
    if (next.status === 'preparing') await jobEnd(backend, next.jobId!);
    expect((await call(backend, 'campaigns.get', { campaign: started.nextCampaign })).status).toBe('ready');
  }, 120_000);
});
