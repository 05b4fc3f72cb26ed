/**
 * A-LoL on preference data: a pairs dataset's responses train single-response algorithms, each
 * response an item with its own reward (issue 12, item 2). Real SQLite, real job processes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/main/app/backend';
import { checkRunData, pairResponses } from '../../src/main/alol/runData';
import { loadReward } from '../../src/main/rewards/index';
import type { Input, Pair, RunSummary } from '../../src/shared/contract';
import { call, importPath, jobEnd, jobOf, openBackend } from '../helpers/backend';
import { useSuiteTempDir } from '../helpers/tempDir';

/** TRL preference lines: prompt p answered well (" yes p.") and badly (" no p."), with an optional split each. */
function pairsFile(dir: string, name: string, splits: (string | null)[]): string {
  const lines = splits.map((split, p) =>
    JSON.stringify({
      prompt: `\n\nHuman: question ${p}?\n\nAssistant:`,
      chosen: ` yes ${p}.`,
      rejected: ` no ${p}.`,
      ...(split === null ? {} : { split }),
    }),
  );
  const file = join(dir, `${name}.jsonl`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

const pair = (id: number, split?: string): Pair => ({
  id,
  line: id,
  prompt: `P${id}`,
  chosen: `good${id}`,
  rejected: `bad${id}`,
  metadata: split ? { split } : null,
});

describe('pair responses as single-response items (hand values)', () => {
  it('gives both sides chosen then rejected, labelled 1 and 0, or one side', () => {
    const pairs = [pair(1, 'train'), pair(2)];
    expect([...pairResponses(pairs, 'both')]).toEqual([
      { prompt: 'P1', response: 'good1', reward: 1, split: 'train', side: 'chosen' },
      { prompt: 'P1', response: 'bad1', reward: 0, split: 'train', side: 'rejected' },
      { prompt: 'P2', response: 'good2', reward: 1, split: null, side: 'chosen' },
      { prompt: 'P2', response: 'bad2', reward: 0, split: null, side: 'rejected' },
    ]);
    expect([...pairResponses(pairs, 'chosen')].map((r) => [r.response, r.reward])).toEqual([
      ['good1', 1],
      ['good2', 1],
    ]);
    expect([...pairResponses(pairs, 'rejected')].map((r) => [r.response, r.reward])).toEqual([
      ['bad1', 0],
      ['bad2', 0],
    ]);
  });

  it('refuses pairs for dpo, on data without pairs, label without pairs and a column the pairs lack', () => {
    const hh = { name: 'hh', version: 1, examples: 0, pairs: 10 };
    const triples = { name: 'triples', version: 2, examples: 10, pairs: 0 };
    expect(() => checkRunData({ algo: 'dpo', pairs: 'both', reward: 'column' }, hh)).toThrow(
      /dpo trains on the preference pairs themselves; leave pairs \(--pairs\) out/,
    );
    expect(() => checkRunData({ algo: 'a_lol', pairs: 'both', reward: 'label' }, triples)).toThrow(
      /dataset "triples" v2 has no preference pairs \(it holds 10 single-response examples\)/,
    );
    expect(() => checkRunData({ algo: 'a_lol', pairs: undefined, reward: 'label' }, { ...triples, pairs: 3 })).toThrow(
      /label is a preference pair's own label \(chosen 1, rejected 0\); it needs pairs/,
    );
    expect(() => checkRunData({ algo: 'wbc', pairs: 'chosen', reward: 'column' }, hh)).toThrow(
      /preference pairs carry no reward column; give label/,
    );
    expect(() => checkRunData({ algo: 'nll', pairs: undefined, reward: 'column' }, hh)).toThrow(
      /dataset "hh" v1 holds preference pairs only: train nll on their responses with pairs \(--pairs\) both, chosen or rejected/,
    );
    // Accepted: the same data with the settings that fit it.
    expect(() => checkRunData({ algo: 'dpo', pairs: undefined, reward: 'column' }, hh)).not.toThrow();
    expect(() => checkRunData({ algo: 'a_lol', pairs: 'both', reward: 'label' }, hh)).not.toThrow();
    expect(() => checkRunData({ algo: 'nll', pairs: 'rejected', reward: 'column' }, hh)).not.toThrow();
  });

  it('refuses label as a function to score new responses', async () => {
    await expect(loadReward('label')).rejects.toThrow(
      /label is a preference pair's own label \(chosen 1, rejected 0\), not a function/,
    );
    await expect(loadReward('label*0.5+demo*0.5')).rejects.toThrow(/not a function/);
  });
});

describe('training on a pairs dataset', () => {
  // One project for the story: the imports and the base model are made once.
  const suiteDir = useSuiteTempDir();
  let backend: Backend;

  const runToEnd = async (config: Input<'runs.start'>): Promise<RunSummary> => {
    const { runId, jobId } = await call(backend, 'runs.start', config);
    await jobEnd(backend, jobId);
    return call(backend, 'runs.get', { runId });
  };
  const base = { init: 'base', steps: 4, batch: 4, seed: 2, lr: 1e-3 } as const;

  beforeAll(async () => {
    const dir = suiteDir();
    backend = openBackend(dir);
    // "pairs": 30 pairs, no split. "splitpairs": 24 train, 6 validation and 2 test pairs.
    expect(
      (
        await importPath(
          backend,
          pairsFile(
            dir,
            'pairs',
            Array.from({ length: 30 }, () => null),
          ),
          'pairs',
        )
      ).status,
    ).toBe('succeeded');
    const splits = [
      ...Array.from({ length: 24 }, () => 'train'),
      ...Array.from({ length: 6 }, () => 'validation'),
      'test',
      'test',
    ];
    expect((await importPath(backend, pairsFile(dir, 'splitpairs', splits), 'splitpairs')).status).toBe('succeeded');
    // "longpairs": prompts longer than half the context, a short chosen and a long rejected reply, so
    // the two responses of a pair keep different amounts of their prompt when fitted to the context.
    const long = Array.from({ length: 30 }, (_, p) =>
      JSON.stringify({
        prompt: `\n\nHuman: ${'tell me more about question '.repeat(6)}${p}?\n\nAssistant:`,
        chosen: ` yes ${p}.`,
        rejected: ` no ${'really no '.repeat(8)}${p}.`,
      }),
    );
    writeFileSync(join(dir, 'longpairs.jsonl'), `${long.join('\n')}\n`);
    expect((await importPath(backend, join(dir, 'longpairs.jsonl'), 'longpairs')).status).toBe('succeeded');
    const created = await jobOf(backend, () =>
      call(backend, 'models.create', {
        name: 'base',
        dataset: 'pairs',
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

  it('trains nll on both sides, the chosen side or the rejected side: 2x, 1x and 1x the pairs', async () => {
    for (const [mode, items] of [
      ['both', 60],
      ['chosen', 30],
      ['rejected', 30],
    ] as const) {
      const run = await runToEnd({ ...base, algo: 'nll', data: 'pairs', pairs: mode, out: `nll-${mode}` });
      expect(run.status).toBe('succeeded');
      expect(run.summary?.data).toEqual({ source: `pairs (${mode})`, trainItems: items, heldOutItems: 0 });
    }
    // The train split only: 24 pairs' two responses; the 6 validation and 2 test pairs never train.
    const split = await runToEnd({ ...base, algo: 'nll', data: 'splitpairs', pairs: 'both', out: 'nll-split' });
    expect(split.summary?.data).toEqual({ source: 'pairs (both)', trainItems: 48, heldOutItems: 12 });
  }, 180_000);

  it('a_lol on both sides with label rewards: 1 and 0 exactly, 10% of prompts held out whole, and every rejected response dropped', async () => {
    const run = await runToEnd({
      ...base,
      algo: 'a_lol',
      data: 'pairs',
      pairs: 'both',
      reward: 'label',
      out: 'alol-both',
      steps: 10,
      valueEpochs: 2,
    });
    expect(run.status).toBe('succeeded');
    expect(run.summary?.rewardSource).toBe('label (chosen 1, rejected 0)');
    // round(30 prompts * 0.1) = 3 prompts held out for V, both responses of each: 60 - 6 = 54 train.
    expect(run.summary?.data).toEqual({
      source: 'pairs (both)',
      trainItems: 54,
      heldOutItems: 6,
      rewards: { count: 54, mean: 0.5, min: 0, max: 1 },
      labels: { chosen: 27, rejected: 27 },
    });
    const advantages = run.summary?.advantages as {
      positiveFraction: number;
      heldOut: { from: string; rows: number; trainItems: number };
      valueFit: { rows: number };
    };
    expect(advantages.heldOut).toEqual({ from: 'training prompts held out of training', rows: 6, trainItems: 54 });
    expect(advantages.valueFit.rows).toBe(6);
    // V = sigmoid(.) lies strictly inside (0, 1): every chosen response (R = 1) has A > 0 and every
    // rejected one (R = 0) has A < 0, so exactly half the items are positive and take round(10 * 0.5) steps.
    expect(advantages.positiveFraction).toBe(0.5);
    expect(run.totalSteps).toBe(5);
    const metrics = await call(backend, 'runs.metrics', { runId: run.id });
    // The batches' share of positive advantages: every drawn item is a chosen response, no rejected one is ever drawn.
    expect(metrics.map((m) => m.metrics['alol/positive_fraction'])).toEqual([1, 1, 1, 1, 1]);
  }, 180_000);

  it('holds a long prompt out with both its responses, though the context keeps different parts of it for each', async () => {
    const run = await runToEnd({
      ...base,
      algo: 'a_lol',
      data: 'longpairs',
      pairs: 'both',
      reward: 'label',
      out: 'alol-long',
      valueEpochs: 2,
    });
    expect(run.status).toBe('succeeded');
    // 3 of the 30 prompts held out, whole: 6 responses; 27 chosen and 27 rejected train.
    expect(run.summary?.data).toMatchObject({ trainItems: 54, heldOutItems: 6, labels: { chosen: 27, rejected: 27 } });
    expect((run.summary?.advantages as { positiveFraction: number }).positiveFraction).toBe(0.5);
  }, 180_000);

  it('a_lol on the chosen side takes the validation split as held-out value prompts', async () => {
    const run = await runToEnd({
      ...base,
      algo: 'a_lol',
      data: 'splitpairs',
      pairs: 'chosen',
      reward: 'label',
      out: 'alol-chosen',
      valueEpochs: 2,
    });
    expect(run.status).toBe('succeeded');
    expect(run.summary?.data).toEqual({
      source: 'pairs (chosen)',
      trainItems: 24,
      heldOutItems: 6,
      rewards: { count: 24, mean: 1, min: 1, max: 1 },
      labels: { chosen: 24, rejected: 0 },
    });
    expect((run.summary?.advantages as { heldOut: unknown }).heldOut).toEqual({
      from: 'validation split',
      rows: 6,
      trainItems: 24,
    });
  }, 180_000);

  it('refuses what cannot go together before a run exists; dpo trains on the pairs as it is', async () => {
    const refused = async (config: Input<'runs.start'>) => {
      const out = await backend.dispatch('runs.start', config);
      expect(out).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
      return (out as { error: { message: string } }).error.message;
    };
    expect(await refused({ ...base, algo: 'dpo', data: 'pairs', pairs: 'both', out: 'x' })).toMatch(
      /dpo trains on the preference pairs themselves/,
    );
    expect(await refused({ ...base, algo: 'a_lol', data: 'pairs', pairs: 'both', out: 'x' })).toMatch(
      /preference pairs carry no reward column/,
    );
    expect(await refused({ ...base, algo: 'wbc', data: 'pairs', reward: 'label', out: 'x' })).toMatch(
      /holds preference pairs only/,
    );
    expect((await call(backend, 'runs.list', {})).some((r) => r.outModel === 'x')).toBe(false);
    const dpo = await runToEnd({ ...base, algo: 'dpo', data: 'splitpairs', out: 'dpo' });
    expect(dpo.status).toBe('succeeded');
    expect(dpo.summary?.data).toEqual({ source: 'pairs', trainItems: 24, heldOutItems: 0 });
  }, 180_000);
});
