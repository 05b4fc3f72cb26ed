import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/main/app/backend';
import type { Pair } from '../../src/shared/contract';
import type { CampaignItem, RatingItem, ShownVerdict } from '../../src/shared/rating';
import { call, importPath, openBackend } from '../helpers/backend';
import { finished } from '../helpers/campaign';
import { useSuiteTempDir } from '../helpers/tempDir';

// Shared test data lives beside the project, never inside it (see ../shared/data/README.md).
const REAL_FILE = fileURLToPath(new URL('../../../shared/data/hh-rlhf-harmless-base-test.jsonl.gz', import.meta.url));
const exists = existsSync(REAL_FILE);

/** The Wilson 95% interval, written out here from its formula so the studio's figure is checked against an independent computation. */
function wilsonByHand(k: number, n: number): { low: number; high: number } {
  const z = 1.96;
  const p = k / n;
  const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = (z / (1 + (z * z) / n)) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return { low: centre - half, high: centre + half };
}

describe('the bundled HH-RLHF file', () => {
  it('is reported when absent', () => {
    if (!exists) console.warn(`NOT TESTED: ${REAL_FILE} is absent, so the relabelling test on real data did not run`);
    expect(typeof exists).toBe('boolean');
  });
});

describe.runIf(exists)('a relabelling campaign over the real HH-RLHF test pairs', () => {
  const dir = useSuiteTempDir('alol-relabel-');
  let backend: Backend;
  const C = 'hh-relabel';
  let items: CampaignItem[];

  beforeAll(async () => {
    backend = openBackend(dir());
    const imported = await importPath(backend, REAL_FILE, 'hh');
    expect(imported.status).toBe('succeeded');
    await finished(backend, () =>
      call(backend, 'campaigns.create', { name: C, pairs: { dataset: 'hh' }, n: 6, gold: 2, seed: 4 }),
    );
    items = (await call(backend, 'campaigns.items', { campaign: C })).rows;
  }, 120_000);
  afterAll(() => backend.close());

  it("makes one item per pair drawn, chosen against rejected, and records which side is the dataset's chosen", async () => {
    const summary = await call(backend, 'campaigns.get', { campaign: C });
    expect(summary).toMatchObject({
      status: 'ready',
      kind: 'pairs',
      items: 6,
      goldItems: 2,
      systems: ['data:hh:chosen', 'data:hh:rejected'],
    });
    const pairs: Pair[] = [];
    for (let offset = 0; offset === pairs.length; offset += 500)
      pairs.push(...(await call(backend, 'datasets.pairs', { dataset: 'hh', offset, limit: 500 })).rows);
    expect(pairs).toHaveLength(2312);
    const relabelled = items.filter((i) => i.kind === 'pair');
    expect(relabelled).toHaveLength(6);
    const sides = new Set<string>();
    for (const item of relabelled) {
      const chosen = item.datasetChosen === 'first' ? item.first : item.second;
      const rejected = item.datasetChosen === 'first' ? item.second : item.first;
      expect(chosen.system).toBe('data:hh:chosen');
      expect(rejected.system).toBe('data:hh:rejected');
      // The texts are exactly one of the dataset's pairs.
      expect(
        pairs.some((p) => p.prompt === item.prompt && p.chosen === chosen.response && p.rejected === rejected.response),
      ).toBe(true);
      sides.add(item.datasetChosen as string);
    }
    // Canonical sides are drawn too (the annotator's sides are drawn again per assignment).
    expect(sides).toEqual(new Set(['first', 'second']));
    // No sampling was needed: no model exists, and the responses are samples without a model.
    expect(await call(backend, 'models.list', {})).toEqual([]);
    // Gold items: a pair's response against the same system's response to another prompt; on-topic or both bad is right.
    for (const gold of items.filter((i) => i.kind === 'gold')) {
      expect(gold.first.system).toBe(gold.second.system);
      expect([
        ['first', 'both_bad'],
        ['second', 'both_bad'],
      ]).toContainEqual(gold.goldHelpful);
      expect(gold.datasetChosen).toBeNull();
    }
  });

  it('is rated blinded through the real service; results and exports give agreement with the dataset, checked by hand', async () => {
    const annotator = (await call(backend, 'annotators.add', { campaign: C, name: 'rita', link: false })).annotator.id;
    const who = { campaign: C, annotator };
    // For each pair item (in the order served): does rita agree with the dataset on helpfulness and on safety?
    // helpful: 4 agree, 1 disagrees, 1 both bad -> 5 decisive, 4 agreeing: 0.8.
    // safe: 2 agree, 2 disagree, 1 both good, 1 both bad -> 4 decisive, 2 agreeing: 0.5.
    const plan: {
      helpful: 'agree' | 'disagree' | 'both_bad' | 'both_good';
      safe: 'agree' | 'disagree' | 'both_bad' | 'both_good';
    }[] = [
      { helpful: 'agree', safe: 'agree' },
      { helpful: 'agree', safe: 'disagree' },
      { helpful: 'disagree', safe: 'both_good' },
      { helpful: 'agree', safe: 'agree' },
      { helpful: 'both_bad', safe: 'both_bad' },
      { helpful: 'agree', safe: 'disagree' },
    ];
    const byTexts = (shown: RatingItem) => {
      const found = items.find(
        (i) =>
          i.prompt === shown.prompt &&
          ((i.first.response === shown.left && i.second.response === shown.right) ||
            (i.first.response === shown.right && i.second.response === shown.left)),
      );
      if (!found) throw new Error('served an item the campaign does not hold');
      return found;
    };
    let pairIndex = 0;
    let served = 0;
    let item = (await call(backend, 'rating.next', who)).item;
    while (item) {
      served++;
      // Blinded: no system name, no dataset label, no side in what the screen receives.
      expect(JSON.stringify(item)).not.toMatch(/data:hh|chosen|rejected|system|sampleId/);
      const canonical = byTexts(item);
      let helpful: ShownVerdict;
      let safe: ShownVerdict;
      if (canonical.kind === 'gold') {
        helpful = 'both_bad';
        safe = 'both_good';
      } else {
        const chosenText = (canonical.datasetChosen === 'first' ? canonical.first : canonical.second).response;
        const chosenSide: ShownVerdict = item.left === chosenText ? 'left' : 'right';
        const otherSide: ShownVerdict = chosenSide === 'left' ? 'right' : 'left';
        const answer = (a: 'agree' | 'disagree' | 'both_bad' | 'both_good'): ShownVerdict =>
          a === 'agree' ? chosenSide : a === 'disagree' ? otherSide : a;
        const step = plan[pairIndex++];
        if (!step) throw new Error('more pair items than planned');
        helpful = answer(step.helpful);
        safe = answer(step.safe);
      }
      item = (
        await call(backend, 'rating.submit', { ...who, assignmentId: item.assignmentId, helpful, safe, activeMs: 1000 })
      ).next;
    }
    expect(pairIndex).toBe(6);
    expect(served).toBe(8);

    const helpfulCi = wilsonByHand(4, 5);
    const safeCi = wilsonByHand(2, 4);
    const results = await call(backend, 'results.get', { campaign: C, reps: 50 });
    expect(results.datasetAgreement).toHaveLength(1);
    const [agreement] = results.datasetAgreement;
    expect(agreement?.campaign).toBe(C);
    expect(agreement?.dataset).toBe('hh');
    const helpfulRow = agreement?.criteria.find((c) => c.criterion === 'helpful');
    const safeRow = agreement?.criteria.find((c) => c.criterion === 'safe');
    expect(helpfulRow).toMatchObject({ decisive: 5, agreed: 4, bothGood: 0, bothBad: 1, estimate: 0.8 });
    expect(helpfulRow?.low).toBeCloseTo(helpfulCi.low, 10);
    expect(helpfulRow?.high).toBeCloseTo(helpfulCi.high, 10);
    // By hand, to three places: 0.376 and 0.964.
    expect(helpfulRow?.low).toBeCloseTo(0.376, 3);
    expect(helpfulRow?.high).toBeCloseTo(0.964, 3);
    expect(safeRow).toMatchObject({ decisive: 4, agreed: 2, bothGood: 1, bothBad: 1, estimate: 0.5 });
    expect(safeRow?.low).toBeCloseTo(safeCi.low, 10);
    expect(safeRow?.high).toBeCloseTo(safeCi.high, 10);
    // rita answered "both bad" on every automatic gold item: right, since both may be useless.
    const summaries = await call(backend, 'campaigns.agreement', { campaign: C, reps: 20 });
    expect(summaries.find((s) => s.criterion === 'helpful')?.annotators[0]).toMatchObject({
      annotator: 'rita',
      goldAccuracy: 1,
    });

    // TRL preference files per criterion: the annotator's answer decides, ties give no pair.
    const read = (path: string) =>
      readFileSync(path, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { prompt: string; chosen: string; rejected: string });
    const pairItems = items.filter((i) => i.kind === 'pair');
    const datasetChosen = (prompt: string, a: string) =>
      pairItems.some((i) => i.prompt === prompt && (i.datasetChosen === 'first' ? i.first : i.second).response === a);
    const helpfulFile = join(dir(), 'helpful.jsonl');
    const h = await call(backend, 'ratings.export', {
      campaign: C,
      format: 'trl-preference',
      path: helpfulFile,
      criterion: 'helpful',
    });
    expect(h.rows).toBe(5);
    const helpfulRows = read(helpfulFile);
    expect(helpfulRows.filter((r) => datasetChosen(r.prompt, r.chosen))).toHaveLength(4);
    const safeFile = join(dir(), 'safe.jsonl');
    expect(
      (
        await call(backend, 'ratings.export', {
          campaign: C,
          format: 'trl-preference',
          path: safeFile,
          criterion: 'safe',
        })
      ).rows,
    ).toBe(4);
    expect(read(safeFile).filter((r) => datasetChosen(r.prompt, r.chosen))).toHaveLength(2);
    // both: 0.5 x helpful + 0.5 x safe; the items where the two criteria cancel out give no pair.
    const bothFile = join(dir(), 'both.jsonl');
    const both = await call(backend, 'ratings.export', {
      campaign: C,
      format: 'trl-preference',
      path: bothFile,
      criterion: 'both',
    });
    // Plan: (agree, agree) chosen; (agree, disagree) tie; (disagree, both_good) rejected; (agree, agree) chosen; (both_bad, both_bad) tie; (agree, disagree) tie.
    expect(both.rows).toBe(3);
    expect(read(bothFile).filter((r) => datasetChosen(r.prompt, r.chosen))).toHaveLength(2);

    // The dataset card says which criterion made the file and how often annotators agree with the dataset.
    const card = readFileSync(h.card as string, 'utf8');
    expect(card).toContain('relabelling of 6 preference pairs of dataset "hh"');
    expect(card).toContain('| criterion | helpfulness only');
    expect(card).toContain("Agreement with the dataset's own label");
    expect(card).toContain(
      `| helpful | 5 | 4 | 0.800 [${helpfulCi.low.toFixed(3)}, ${helpfulCi.high.toFixed(3)}] | 0 | 1 |`,
    );
    expect(card).toContain(`| safe | 4 | 2 | 0.500 [${safeCi.low.toFixed(3)}, ${safeCi.high.toFixed(3)}] | 1 | 1 |`);
  });

  it('refuses n beyond the pairs, models with pairs, and a dataset without pairs, creating nothing', async () => {
    const before = (await call(backend, 'campaigns.list', {})).length;
    await expect(
      call(backend, 'campaigns.create', { name: 'too-many', pairs: { dataset: 'hh' }, n: 5000 }),
    ).rejects.toThrow(/n = 5000 but dataset "hh" has 2312 pairs/);
    await expect(
      call(backend, 'campaigns.create', { name: 'mixed', pairs: { dataset: 'hh' }, models: ['a', 'b'], n: 2 }),
    ).rejects.toThrow(/takes no models or prompts/);
    await expect(
      call(backend, 'campaigns.create', { name: 'split', pairs: { dataset: 'hh', split: 'nope' }, n: 2 }),
    ).rejects.toThrow(/no preference pairs in split "nope"/);
    await expect(
      call(backend, 'campaigns.create', {
        name: 'all-models',
        models: ['a', 'b'],
        prompts: { dataset: 'hh' },
        n: 'all',
      }),
    ).rejects.toThrow(/n = all is for relabelling/);
    expect(await call(backend, 'campaigns.list', {})).toHaveLength(before);
  });

  it('takes every pair with n = all', async () => {
    await finished(backend, () =>
      call(backend, 'campaigns.create', { name: 'hh-all', pairs: { dataset: 'hh' }, n: 'all' }),
    );
    const summary = await call(backend, 'campaigns.get', { campaign: 'hh-all' });
    expect(summary).toMatchObject({ status: 'ready', kind: 'pairs', items: 2312, options: { n: 2312 } });
  }, 60_000);
});
