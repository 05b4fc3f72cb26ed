/**
 * A reward model from a dataset's own pairs (issue 12, item 3): trained on the train split, held
 * out by whole prompts, its held-out accuracy given with a Wilson interval, and usable as rm:NAME.
 * Real SQLite, real job processes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/main/app/backend';
import { readHeldOutPairs, readRewardModelInfo } from '../../src/main/rewards/rewardModel';
import type { Pair } from '../../src/shared/contract';
import { call, importPath, jobEnd, jobOf, openBackend } from '../helpers/backend';
import { useSuiteTempDir } from '../helpers/tempDir';

const PROMPTS = 20;
const MARKER = ' ZZZ';

/**
 * 20 prompts with 2 pairs each, all in the train split, where the chosen response is the rejected
 * one with a marker in front (learnable from the backbone's states alone); and 4 test pairs.
 */
function preferenceFile(dir: string): string {
  const lines: string[] = [];
  for (let p = 0; p < PROMPTS; p++) {
    for (const answer of [`sure ${p}`, `maybe ${p + 1}`]) {
      lines.push(
        JSON.stringify({
          prompt: `\n\nHuman: question ${p}?\n\nAssistant:`,
          chosen: `${MARKER} ${answer}.`,
          rejected: ` ${answer}.`,
          split: 'train',
        }),
      );
    }
  }
  for (let p = 0; p < 4; p++)
    lines.push(
      JSON.stringify({
        prompt: `\n\nHuman: test ${p}?\n\nAssistant:`,
        chosen: `${MARKER} yes.`,
        rejected: ' yes.',
        split: 'test',
      }),
    );
  const file = join(dir, 'prefs.jsonl');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe('a reward model from a dataset’s pairs', () => {
  const suiteDir = useSuiteTempDir();
  let backend: Backend;
  let result: Record<string, unknown>;

  beforeAll(async () => {
    backend = openBackend(suiteDir());
    expect((await importPath(backend, preferenceFile(suiteDir()), 'prefs')).status).toBe('succeeded');
    const created = await jobOf(backend, () =>
      call(backend, 'models.create', {
        name: 'base',
        dataset: 'prefs',
        layers: 1,
        dim: 32,
        heads: 2,
        context: 64,
        vocab: 300,
        seed: 1,
      }),
    );
    expect(created.status).toBe('succeeded');
  }, 120_000);
  afterAll(() => backend.close());

  it('trains on the train split, holds out whole prompts and gives held-out accuracy with its Wilson interval', async () => {
    const done = await jobOf(backend, () =>
      call(backend, 'rewards.trainModel', {
        dataset: 'prefs',
        name: 'rm',
        base: 'base',
        epochs: 40,
        lr: 3e-3,
        seed: 1,
      }),
    );
    expect(done).toMatchObject({ kind: 'reward-model', status: 'succeeded' });
    result = done.result!;
    // The 40 train-split pairs (not the 4 test pairs); round(20 prompts * 0.2) = 4 prompts held out, their 2 pairs each.
    expect(result).toMatchObject({
      reward: 'rm:rm',
      campaign: null,
      dataset: { name: 'prefs', version: 1, split: 'train' },
      pairs: { total: 40, train: 32, heldOut: 8, heldOutPrompts: 4, splitBy: 'group' },
    });
    // The marker decides every pair: all 8 held-out pairs right. Wilson at 8/8: low = n / (n + z^2) = 8 / (8 + 1.96^2) = 0.67558, high 1.
    expect(result.heldOutAccuracy).toBe(1);
    const interval = result.heldOutInterval as { level: number; low: number; high: number };
    expect(interval.level).toBe(0.95);
    expect(interval.low).toBeCloseTo(8 / 11.8416, 10);
    expect(interval.low).toBeCloseTo(0.67558, 5);
    expect(interval.high).toBe(1);
    const info = readRewardModelInfo(backend.paths, 'rm');
    expect(info.metrics.heldOutAccuracy).toEqual({ estimate: 1, low: interval.low, high: 1 });
    expect(info).toMatchObject({ campaign: null, rule: null, dataset: { name: 'prefs', split: 'train' } });
  }, 180_000);

  it('never trains on a held-out prompt', async () => {
    const held = readHeldOutPairs(backend.paths, 'rm');
    expect(held?.of).toBe('dataset pairs');
    const all = (await call(backend, 'datasets.pairs', { dataset: 'prefs', limit: 500 })).rows as Pair[];
    const train = all.filter((p) => p.metadata?.split === 'train');
    const heldIds = new Set(held!.ids);
    expect(heldIds.size).toBe(8);
    const heldPrompts = new Set(train.filter((p) => heldIds.has(p.id)).map((p) => p.prompt));
    expect(heldPrompts.size).toBe(4);
    const trainedOn = train.filter((p) => !heldIds.has(p.id));
    expect(trainedOn).toHaveLength(32);
    expect(trainedOn.filter((p) => heldPrompts.has(p.prompt))).toEqual([]);
  });

  it('scores as rm:NAME and rewards an A-LoL run on the pairs', async () => {
    const scored = await call(backend, 'rewards.score', {
      reward: 'rm:rm',
      items: [
        { prompt: '\n\nHuman: a new question?\n\nAssistant:', response: `${MARKER} sure 7.` },
        { prompt: '\n\nHuman: a new question?\n\nAssistant:', response: ' sure 7.' },
      ],
    });
    expect(scored.source).toBe('rm:rm');
    const [marked, plain] = scored.rows.map((r) => r.reward);
    expect(marked).toBeGreaterThan(plain!);
    expect(marked! > 0 && marked! < 1 && plain! > 0 && plain! < 1).toBe(true);

    // A pairs-only dataset scores as its responses, each pair's chosen then rejected: the marked one higher, pair by pair.
    const whole = await call(backend, 'rewards.score', { reward: 'rm:rm', dataset: 'prefs' });
    expect(whole.count).toBe(2 * 44);
    expect(whole.rows[0]?.response.startsWith(MARKER)).toBe(true);
    expect(whole.rows[1]?.response.startsWith(MARKER)).toBe(false);
    for (let i = 0; i < whole.rows.length; i += 2)
      expect(whole.rows[i]!.reward).toBeGreaterThan(whole.rows[i + 1]!.reward);

    const { runId, jobId } = await call(backend, 'runs.start', {
      algo: 'a_lol',
      data: 'prefs',
      pairs: 'both',
      reward: 'rm:rm',
      init: 'base',
      out: 'alol',
      steps: 4,
      batch: 4,
      valueEpochs: 2,
      maxNewTokens: 8,
    });
    await jobEnd(backend, jobId);
    const run = await call(backend, 'runs.get', { runId });
    expect(run.status).toBe('succeeded');
    expect(run.summary?.rewardSource).toBe('rm:rm');
    expect((run.summary?.advantages as { valueTargets: string }).valueTargets).toMatch(
      /decodes of held-out prompts, scored by rm:rm/,
    );
  }, 180_000);

  it('takes a named split, and refuses data without pairs or a split it lacks before any job starts', async () => {
    const test = await jobOf(backend, () =>
      call(backend, 'rewards.trainModel', {
        dataset: 'prefs',
        split: 'test',
        name: 'rm-test',
        base: 'base',
        epochs: 2,
        seed: 1,
      }),
    );
    expect(test.result).toMatchObject({ dataset: { split: 'test' }, pairs: { total: 4, heldOut: 1, train: 3 } });
    const refused = async (input: Record<string, unknown>) => {
      const out = await backend.dispatch('rewards.trainModel', input);
      expect(out).toMatchObject({ ok: false });
      return (out as { error: { code: string; message: string } }).error;
    };
    expect(await refused({ dataset: 'prefs', split: 'validation', name: 'x', base: 'base' })).toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/has no pairs in the split "validation" \(its splits: train, test\)/),
    });
    expect(await refused({ dataset: 'prefs', name: 'rm', base: 'base' })).toMatchObject({ code: 'conflict' });
    expect(await refused({ dataset: 'prefs', name: 'x', base: 'nope' })).toMatchObject({ code: 'not_found' });
    // A dataset source takes no rule, and needs its base.
    expect(await refused({ dataset: 'prefs', name: 'x', base: 'base', rule: 'weighted' })).toMatchObject({
      code: 'invalid_input',
    });
    expect(await refused({ dataset: 'prefs', name: 'x' })).toMatchObject({ code: 'invalid_input' });
    const triples = join(suiteDir(), 'triples.jsonl');
    writeFileSync(
      triples,
      `${JSON.stringify({ prompt: 'a', response: 'b', reward: 1 })}\n${JSON.stringify({ prompt: 'c', response: 'd', reward: 0 })}\n`,
    );
    expect((await importPath(backend, triples, 'triples')).status).toBe('succeeded');
    expect(await refused({ dataset: 'triples', name: 'x', base: 'base' })).toMatchObject({
      message: expect.stringMatching(/dataset "triples" v1 has no preference pairs/),
    });
    expect(readFileSync(join(backend.paths.models, 'reward-models', 'rm', 'reward-model.json'), 'utf8')).toContain(
      '"split": "train"',
    );
  }, 180_000);
});
