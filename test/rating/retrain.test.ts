/**
 * Retraining's guardrails: the evidence counted from hand-made ratings against each minimum (the
 * refusal names the number), the agreement warning, and on a real project: retrainPlan before
 * anything starts, a refusal that creates nothing, --force past it, and a follow-up campaign that
 * keeps the annotators, whose existing links then open it.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/main/app/backend';
import { ALPHA_WARNING, fewestHeldOutRows, RETRAIN_MINIMUMS, retrainEvidence } from '../../src/main/rating/retrain';
import type { StoredRating } from '../../src/main/rating/storedRatings';
import type { Verdict } from '../../src/shared/rating';
import { call, importPath, jobEnd, openBackend } from '../helpers/backend';
import { campaignProject, finished } from '../helpers/campaign';
import { alol } from '../helpers/cli';
import { useSuiteTempDir } from '../helpers/tempDir';

let nextId = 1;
/** One first rating of a pair item: `item` compares system x (first) with y on prompt `prompt`. */
function rating(
  item: number,
  annotator: number,
  helpful: Verdict,
  safe: Verdict = helpful,
  prompt = `prompt ${item}`,
): StoredRating {
  const id = nextId++;
  return {
    assignmentId: id,
    item,
    kind: 'pair',
    prompt,
    first: { system: 'x', sampleId: item * 2, response: `x answers ${item}` },
    second: { system: 'y', sampleId: item * 2 + 1, response: `y answers ${item}` },
    goldHelpful: null,
    goldSafe: null,
    datasetChosen: null,
    annotatorId: annotator,
    annotator: `annotator ${annotator}`,
    swapped: false,
    repeatOf: null,
    helpful,
    safe,
    helpfulStrength: null,
    safeStrength: null,
    rationale: '',
    flag: null,
    flagNote: '',
    skipped: false,
    activeMs: 1000,
    guidelinesVersion: 'g-test',
    source: 'studio',
    edits: 0,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
  };
}

const rule = { algo: 'a_lol' as const, rule: 'weighted' as const, helpfulWeight: 0.5 };

describe('the minimum evidence for retraining (hand-made ratings)', () => {
  it('keeps the minimums in one table: 2 annotators on shared items, 30 rated pairs, 20 held-out targets', () => {
    expect(RETRAIN_MINIMUMS).toEqual({ annotatorsPerItem: 2, ratedPairs: 30, heldOutTargets: 20 });
    expect(ALPHA_WARNING).toBe(0.4);
  });

  it('holds out round(10%) of the prompts, at least one, and counts the fewest rows they can have', () => {
    expect(fewestHeldOutRows([])).toBe(0);
    expect(fewestHeldOutRows([2, 2, 2])).toBe(2);
    // 100 prompts of 2 rows: 10 prompts, 20 rows; uneven prompts count their smallest.
    expect(fewestHeldOutRows(Array<number>(100).fill(2))).toBe(20);
    expect(fewestHeldOutRows([5, 1, 3, 1, 1, 4, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2])).toBe(2);
  });

  it('refuses below 30 rated pairs, naming the number', () => {
    // 12 items, each rated by two annotators who agree: only the pair count falls short (and the held-out rows).
    const ratings = Array.from({ length: 12 }, (_, i) => [rating(i, 1, 'first'), rating(i, 2, 'first')]).flat();
    const e = retrainEvidence(ratings, rule);
    expect(e.evidence).toMatchObject({ ratedPairs: 12, overlapItems: 12, mostAnnotatorsPerItem: 2 });
    expect(e.shortfalls).toContain('only 12 rated pairs; retraining needs at least 30 (use --force to override)');
  });

  it('refuses when no item has two annotators, naming how many there were', () => {
    const ratings = Array.from({ length: 200 }, (_, i) => rating(i, 1 + (i % 3), i % 2 ? 'first' : 'second'));
    const e = retrainEvidence(ratings, rule);
    expect(e.evidence).toMatchObject({
      ratedPairs: 200,
      overlapItems: 0,
      mostAnnotatorsPerItem: 1,
      alpha: { helpful: null, safe: null },
    });
    expect(e.shortfalls).toEqual([
      'no item was rated by 2 or more annotators (at most 1 on one item), so their agreement is unknown; retraining needs items rated by at least 2 annotators (use --force to override)',
    ]);
  });

  it('refuses when the value head would get fewer than 20 held-out targets, and only for algorithms that fit one', () => {
    // 60 items but only 30 distinct prompts (2 items each): 3 prompts held out x 4 rows = 12 targets.
    const ratings = Array.from({ length: 60 }, (_, i) => [
      rating(i, 1, 'first', 'first', `prompt ${i % 30}`),
      rating(i, 2, 'first', 'first', `prompt ${i % 30}`),
    ]).flat();
    const e = retrainEvidence(ratings, rule);
    expect(e.evidence.heldOutTargets).toBe(12);
    expect(e.shortfalls).toEqual([
      'the value head would be fitted on only 12 held-out targets (10% of the rated prompts); retraining needs at least 20 (use --force to override)',
    ]);
    const nll = retrainEvidence(ratings, { ...rule, algo: 'nll' });
    expect(nll.evidence.heldOutTargets).toBeNull();
    expect(nll.shortfalls).toEqual([]);
  });

  it("passes with enough of everything, and warns when Krippendorff's alpha is under 0.4", () => {
    // 100 prompts, two annotators on each item. Agreeing on helpfulness, opposite on safety.
    const ratings = Array.from({ length: 100 }, (_, i) => [
      rating(i, 1, i % 2 ? 'first' : 'second', 'first'),
      rating(i, 2, i % 2 ? 'first' : 'second', i % 3 ? 'second' : 'first'),
    ]).flat();
    const e = retrainEvidence(ratings, rule);
    expect(e.evidence).toMatchObject({ ratedPairs: 100, overlapItems: 100, heldOutTargets: 20 });
    expect(e.shortfalls).toEqual([]);
    expect(e.evidence.alpha.helpful).toBe(1);
    expect(e.evidence.alpha.safe!).toBeLessThan(0.4);
    expect(e.warnings).toEqual([
      `Krippendorff's alpha on safety is ${e.evidence.alpha.safe!.toFixed(2)}, under 0.4: the annotators agree little, so these rewards are mostly noise`,
    ]);
  });
});

describe('retraining a real campaign, with its guardrails', () => {
  const dir = useSuiteTempDir('alol-retrain-');
  let backend: Backend;
  const C = 'guarded';
  const tokens = new Map<string, string>();

  beforeAll(async () => {
    backend = openBackend(dir());
    await campaignProject(backend, { name: C, overlap: 2 });
    await campaignProject(backend, { name: 'solo', overlap: 1 });
    for (const name of ['alice', 'bob']) {
      const added = await call(backend, 'annotators.add', { campaign: C, name, link: true });
      tokens.set(name, added.token!);
      const who = { campaign: C, annotator: added.annotator.id };
      let item = (await call(backend, 'rating.next', who)).item;
      while (item)
        item = (
          await call(backend, 'rating.submit', {
            ...who,
            assignmentId: item.assignmentId,
            helpful: 'left',
            safe: 'both_good',
            activeMs: 100,
          })
        ).next;
    }
    const carol = (await call(backend, 'annotators.add', { campaign: 'solo', name: 'carol', link: false })).annotator
      .id;
    let item = (await call(backend, 'rating.next', { campaign: 'solo', annotator: carol })).item;
    while (item)
      item = (
        await call(backend, 'rating.submit', {
          campaign: 'solo',
          annotator: carol,
          assignmentId: item.assignmentId,
          helpful: 'right',
          safe: 'right',
          activeMs: 100,
        })
      ).next;
  }, 180_000);

  afterAll(() => {
    backend.close();
  });

  it('says before starting what it would make and what falls short', async () => {
    const plan = await call(backend, 'campaigns.retrainPlan', { campaign: C });
    expect(plan).toMatchObject({
      campaign: C,
      ref: 'sys-alpha',
      model: `sys-alpha-${C}`,
      dataset: `${C}-rewards`,
      nextCampaign: `${C}-next`,
      annotators: ['alice', 'bob'],
    });
    // Six items rated by both; six prompts of two responses: one prompt (two rows) held out.
    expect(plan.evidence).toMatchObject({
      ratedPairs: 6,
      overlapItems: 6,
      mostAnnotatorsPerItem: 2,
      heldOutTargets: 2,
    });
    expect(plan.shortfalls).toEqual([
      'only 6 rated pairs; retraining needs at least 30 (use --force to override)',
      'the value head would be fitted on only 2 held-out targets (10% of the rated prompts); retraining needs at least 20 (use --force to override)',
    ]);
    expect(
      await call(backend, 'campaigns.retrainPlan', { campaign: C, out: 'mine', nextCampaign: 'round-two' }),
    ).toMatchObject({ model: 'mine', nextCampaign: 'round-two' });
    // Nothing was made.
    expect((await call(backend, 'datasets.list', {})).map((d) => d.name)).not.toContain(`${C}-rewards`);
  });

  it('says the same through alol retrain --plan, and alol retrain refuses with the numbers', () => {
    const plan = alol(['retrain', '--campaign', C, '--plan', '--project', dir()]);
    expect(plan.status, plan.stderr).toBe(0);
    expect(plan.stdout).toContain(
      `Would train "sys-alpha-${C}" from "sys-alpha" on the dataset "${C}-rewards", then open the campaign "${C}-next" with alice, bob (their links move to it).`,
    );
    expect(plan.stdout).toContain(
      'refused: only 6 rated pairs; retraining needs at least 30 (use --force to override)',
    );
    const json = alol(['retrain', '--campaign', C, '--plan', '--json', '--project', dir()]).json() as {
      model: string;
      shortfalls: string[];
    };
    expect(json.model).toBe(`sys-alpha-${C}`);
    expect(json.shortfalls).toHaveLength(2);
    const refused = alol(['retrain', '--campaign', C, '--steps', '2', '--project', dir()]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('only 6 rated pairs; retraining needs at least 30 (use --force to override)');
  }, 60_000);

  it('asks for the reference when the campaign compares no model (a relabelled dataset)', async () => {
    expect(
      (await importPath(backend, fileURLToPath(new URL('../fixtures/hh-pairs.jsonl', import.meta.url)), 'hh')).status,
    ).toBe('succeeded');
    await finished(backend, () =>
      call(backend, 'campaigns.create', { name: 'relabelled', pairs: { dataset: 'hh' }, n: 3 }),
    );
    await expect(call(backend, 'campaigns.retrainPlan', { campaign: 'relabelled' })).rejects.toThrow(
      'campaign "relabelled" compares no model (only sample sets or a dataset\'s answers): name the reference model (ref)',
    );
    expect(await call(backend, 'campaigns.retrainPlan', { campaign: 'relabelled', ref: 'sys-beta' })).toMatchObject({
      ref: 'sys-beta',
      model: 'sys-beta-relabelled',
    });
  }, 60_000);

  it('refuses below the minimums, naming each number, and makes nothing', async () => {
    const refused = await backend.dispatch('campaigns.retrain', { campaign: C, steps: 2, batch: 2 });
    expect(refused).toMatchObject({ ok: false, error: { code: 'insufficient_evidence' } });
    const message = (refused as { error: { message: string } }).error.message;
    expect(message).toContain('only 6 rated pairs; retraining needs at least 30 (use --force to override)');
    expect(message).toContain('only 2 held-out targets');
    const solo = await backend.dispatch('campaigns.retrain', { campaign: 'solo', steps: 2, batch: 2 });
    expect((solo as { error: { message: string } }).error.message).toContain(
      'no item was rated by 2 or more annotators (at most 1 on one item)',
    );
    expect((await call(backend, 'datasets.list', {})).map((d) => d.name)).not.toContain(`${C}-rewards`);
    expect(await call(backend, 'runs.list', {})).toEqual([]);
  });

  it('retrains when forced, says what it was forced past, and the follow-up keeps the annotators and their links', async () => {
    const started = await call(backend, 'campaigns.retrain', { campaign: C, steps: 2, batch: 2, force: true });
    expect(started).toMatchObject({ model: `sys-alpha-${C}`, nextCampaign: `${C}-next`, annotators: ['alice', 'bob'] });
    expect(started.warnings).toContain('forced past: only 6 rated pairs; retraining needs at least 30');
    const job = await jobEnd(backend, started.jobId);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    const next = await call(backend, 'campaigns.get', { campaign: started.nextCampaign });
    if (next.status === 'preparing') await jobEnd(backend, next.jobId!);
    const ready = await call(backend, 'campaigns.get', { campaign: started.nextCampaign });
    expect(ready.status).toBe('ready');
    expect(ready.annotators.map((a) => [a.name, a.hasLink])).toEqual([
      ['alice', true],
      ['bob', true],
    ]);
    // The link alice already has opens the follow-up now, and rates there.
    const access = backend.campaigns.byToken(tokens.get('alice')!);
    expect(access?.campaign).toBe(started.nextCampaign);
    const first = await call(backend, 'rating.next', { campaign: started.nextCampaign, annotator: access!.annotator });
    expect(first.item).not.toBeNull();
    expect((await call(backend, 'campaigns.get', { campaign: C })).annotators.map((a) => a.hasLink)).toEqual([
      false,
      false,
    ]);
  }, 120_000);
});
