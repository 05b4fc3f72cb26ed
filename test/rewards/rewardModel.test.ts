/**
 * The learned reward model: the Bradley-Terry loss and its gradient by hand; fitting on a
 * constructed set it can learn, with flat tensor counts; and on a real project, a campaign rated in
 * a fixed pattern -> a reward-model job -> a folder that reloads and scores as it did when trained
 * -> rm:NAME through loadReward, rewards.score, a sample job and a training run.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { useSuiteTempDir } from '../helpers/tempDir';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/main/app/backend';
import { promptStates } from '../../src/main/lm/pooledHead';
import { Rng } from '../../src/main/core/rng';
import type { Gpt } from '../../src/main/lm/model';
import { toShown } from '../../src/main/rating/ratingService';
import { loadReward } from '../../src/main/rewards/index';
import {
  bradleyTerryLoss,
  campaignPairs,
  fitRewardModel,
  pairMetrics,
  type RewardPair,
} from '../../src/main/rating/rewardModelTraining';
import { readRewardModelInfo, rewardModelDir, RewardModel } from '../../src/main/rewards/rewardModel';
import { call, openBackend } from '../helpers/backend';
import { campaignProject, finished } from '../helpers/campaign';
import { tinyReference, useWasm } from '../alol/value/helpers';

const softplus = (x: number) => Math.log1p(Math.exp(x));
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

describe('the Bradley-Terry loss', () => {
  beforeAll(useWasm);

  it('is the mean of -log sigmoid(r_chosen - r_rejected), with gradient -+sigmoid(-d) / B', () => {
    const chosen = [2, 0, -1];
    const rejected = [0, 0, 1];
    const d = chosen.map((c, i) => c - rejected[i]!); // 2, 0, -2
    const loss = tf.tidy(() => bradleyTerryLoss(tf.tensor1d(chosen), tf.tensor1d(rejected)).dataSync()[0]!);
    // (softplus(-2) + log 2 + softplus(2)) / 3 = (0.126928 + 0.693147 + 2.126928) / 3
    expect(loss).toBeCloseTo((softplus(-2) + Math.log(2) + softplus(2)) / 3, 6);
    expect(loss).toBeCloseTo(0.982334, 5);
    const [gChosen, gRejected] = tf.tidy(() =>
      tf
        .grads((c: tf.Tensor, r: tf.Tensor) => bradleyTerryLoss(c as tf.Tensor1D, r as tf.Tensor1D))([
          tf.tensor1d(chosen),
          tf.tensor1d(rejected),
        ])
        .map((g) => Array.from(g.dataSync())),
    ) as [number[], number[]];
    d.forEach((di, i) => {
      expect(gChosen[i]).toBeCloseTo(-sigmoid(-di) / 3, 6);
      expect(gRejected[i]).toBeCloseTo(sigmoid(-di) / 3, 6);
    });
    // d = 0, where every pair starts: the gradient is exactly -1/2 / B, not NaN.
    expect(gChosen[1]).toBeCloseTo(-0.5 / 3, 7);
    // Stable far out.
    const far = tf.tidy(() => bradleyTerryLoss(tf.tensor1d([-1000, 1000]), tf.tensor1d([0, 0])).dataSync()[0]!);
    expect(far).toBeCloseTo(500, 3);
  });

  it('pairMetrics counts a pair right only when r_chosen > r_rejected', () => {
    const r = [1, 0, 0.5, 0.5];
    const pairs = [
      { chosen: 0, rejected: 1 },
      { chosen: 1, rejected: 0 },
      { chosen: 2, rejected: 3 },
    ];
    const m = pairMetrics(r, pairs, [0, 1, 2]);
    expect(m.accuracy).toBeCloseTo(1 / 3, 12);
    expect(m.loss).toBeCloseTo((softplus(-1) + softplus(1) + Math.log(2)) / 3, 12);
    expect(m.meanMargin).toBeCloseTo(0, 12);
    expect(pairMetrics(r, pairs, [])).toEqual({ count: 0, loss: null, accuracy: null, meanMargin: null });
  });
});

/** Token sequences where the chosen response always holds token 1 and the rejected one token 2, among random words. */
function wordPairs(n: number, seed: number): (RewardPair & { prompt: string })[] {
  const rng = new Rng(seed);
  const words = (k: number) => Array.from({ length: k }, () => 3 + rng.int(20));
  return Array.from({ length: n }, () => {
    const prompt = [0, ...words(1 + rng.int(3))];
    const withWord = (w: number) => {
      const r = words(2 + rng.int(3));
      r.splice(rng.int(r.length + 1), 0, w);
      return [...prompt, ...r, 23];
    };
    return { chosen: withWord(1), rejected: withWord(2), prompt: prompt.join(',') };
  });
}

describe('fitting on a frozen backbone', () => {
  let backbone: Gpt;
  beforeAll(async () => {
    await useWasm();
    backbone = tinyReference();
  });
  afterAll(() => backbone.dispose());

  it('learns a systematic difference, holds out whole prompts, and leaks no tensor across steps', async () => {
    const pairs = wordPairs(40, 3);
    const counts: number[] = [];
    // The backbone keeps one causal mask per sequence length it has seen: warm those first.
    promptStates(
      backbone,
      pairs.flatMap((p) => [p.chosen, p.rejected]),
    );
    const before = tf.memory().numTensors;
    const { head, report } = await fitRewardModel({
      backbone,
      pairs,
      groups: pairs.map((p) => p.prompt),
      epochs: 30,
      lr: 3e-3,
      seed: 0,
      onEpoch: () => void counts.push(tf.memory().numTensors),
    });
    // Every epoch ends with the same tensors: the head, AdamW's moments, nothing else.
    expect(new Set(counts).size).toBe(1);
    expect(report.epochs).toHaveLength(30);
    expect(report.splitBy).toBe('group');
    expect(report.train.count + report.heldOut.count).toBe(40);
    expect(report.heldOut.count).toBeGreaterThanOrEqual(1);
    expect(report.train.accuracy!).toBeGreaterThan(0.9);
    expect(report.heldOut.accuracy!).toBeGreaterThan(0.75);
    expect(report.epochs[29]!.train.loss!).toBeLessThan(report.epochs[0]!.train.loss!);
    head.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is seeded, works on two pairs, and refuses one', async () => {
    const pairs = wordPairs(2, 5);
    const run = async () => {
      const { head, report } = await fitRewardModel({ backbone, pairs, epochs: 3, seed: 7 });
      const weights = head.weights();
      head.dispose();
      return { report, weights };
    };
    const a = await run();
    const b = await run();
    expect(a.report).toEqual(b.report);
    for (const [name, w] of a.weights) expect(Array.from(w.data)).toEqual(Array.from(b.weights.get(name)!.data));
    expect(a.report.train.count).toBe(1);
    expect(a.report.heldOut.count).toBe(1);
    await expect(fitRewardModel({ backbone, pairs: pairs.slice(0, 1), seed: 0 })).rejects.toThrow(
      /at least 2 rated pairs/,
    );
  });

  it('past its state-cache budget recomputes the backbone per batch, and trains the same head', async () => {
    const pairs = wordPairs(24, 9);
    const fit = async (stateCacheBytes?: number) => {
      const { head, report } = await fitRewardModel({
        backbone,
        pairs,
        groups: pairs.map((p) => p.prompt),
        epochs: 5,
        lr: 3e-3,
        seed: 2,
        ...(stateCacheBytes === undefined ? {} : { stateCacheBytes }),
      });
      const weights = head.weights();
      head.dispose();
      return { report, weights };
    };
    const cached = await fit();
    const bounded = await fit(0);
    expect(cached.report.statesCached).toBe(true);
    expect(bounded.report.statesCached).toBe(false);
    expect(bounded.report.heldOutPairs).toEqual(cached.report.heldOutPairs);
    // The same states, batched differently (padding is masked): the same head up to rounding.
    for (const [a, b] of cached.report.epochs.map((e, i) => [e, bounded.report.epochs[i]!] as const)) {
      expect(b.trainLoss).toBeCloseTo(a.trainLoss, 4);
      expect(b.train.accuracy).toBe(a.train.accuracy);
      expect(b.heldOut.loss!).toBeCloseTo(a.heldOut.loss!, 4);
    }
    // Weights agree to 2 decimals: AdamW divides by the root of the squared gradients, which turns
    // rounding differences in near-zero gradients into visible (tiny) steps.
    for (const [name, w] of cached.weights) {
      const other = bounded.weights.get(name)!.data;
      w.data.forEach((x, i) => expect(other[i]!).toBeCloseTo(x, 2));
    }
  });
});

describe('a reward model from a rated campaign, on the real backend', () => {
  const suiteDir = useSuiteTempDir('alol-rm-');
  let backend: Backend;
  const C = 'rm-campaign';
  const RM = 'alpha-rm';
  const PREFERRED = 'sys-alpha';
  let job: Record<string, unknown>;

  beforeAll(async () => {
    await useWasm();
    backend = openBackend(suiteDir());
    await campaignProject(backend, { name: C, n: 8 });
    // One annotator who always prefers sys-alpha's response, on both questions; gold items too.
    const annotator = (await call(backend, 'annotators.add', { campaign: C, name: 'ann', link: false })).annotator.id;
    const who = { campaign: C, annotator };
    let item = (await call(backend, 'rating.next', who)).item;
    while (item) {
      const a = backend.db
        .prepare(
          'SELECT i.first_system AS first, i.kind, a.swapped FROM assignments a JOIN items i ON i.id = a.item_id WHERE a.id = ?',
        )
        .get(item.assignmentId) as { first: string; kind: string; swapped: number };
      const side = toShown(a.kind === 'gold' || a.first === PREFERRED ? 'first' : 'second', a.swapped === 1);
      item = (
        await call(backend, 'rating.submit', {
          ...who,
          assignmentId: item.assignmentId,
          helpful: side,
          safe: side,
          activeMs: 500,
        })
      ).next;
    }
  }, 180_000);
  afterAll(() => backend.close());

  it('trains in a job and reports held-out and train accuracy', async () => {
    const done = await finished(backend, () =>
      call(backend, 'rewards.trainModel', { campaign: C, name: RM, epochs: 40, lr: 3e-3, seed: 1 }),
    );
    expect(done.kind).toBe('reward-model');
    job = done.result!;
    expect(job).toMatchObject({
      name: RM,
      reward: `rm:${RM}`,
      backbone: 'sys-alpha',
      campaign: C,
      rule: 'absolute',
      pairs: { total: 8, heldOut: 2, train: 6 },
    });
    expect(job.heldOutAccuracy).toBeGreaterThanOrEqual(0);
    expect(job.heldOutAccuracy).toBeLessThanOrEqual(1);
    // The two untrained systems answer in near-identical noise, so held-out accuracy is a coin here
    // (the learnability check is above); the six training pairs are at least fitted.
    expect(job.trainAccuracy).toBeGreaterThan(0.5);

    const folder = rewardModelDir(backend.paths, RM);
    expect(existsSync(join(folder, 'head.safetensors'))).toBe(true);
    const info = readRewardModelInfo(backend.paths, RM);
    const model = (await call(backend, 'models.get', { model: 'sys-alpha' })) as { folder: string };
    expect(info).toMatchObject({
      name: RM,
      campaign: C,
      rule: 'absolute',
      helpfulWeight: 0.5,
      backbone: { name: 'sys-alpha', folder: model.folder },
    });
    expect(info.backbone.weightsSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(info.metrics.heldOut.accuracy).toBe(job.heldOutAccuracy);
    expect(info.epochs).toHaveLength(40);
    console.log(
      `reward model on the rated campaign: train accuracy ${String(job.trainAccuracy)}, held-out accuracy ${String(job.heldOutAccuracy)}`,
    );
  }, 120_000);

  it('refuses a taken name, too few pairs and unknown models before any job starts', async () => {
    const taken = await backend.dispatch('rewards.trainModel', { campaign: C, name: RM });
    expect(taken).toMatchObject({ ok: false, error: { code: 'conflict' } });
    const noBase = await backend.dispatch('rewards.trainModel', { campaign: C, name: 'other', base: 'nope' });
    expect(noBase).toMatchObject({ ok: false, error: { code: 'not_found' } });
    await campaignProject(backend, { name: 'unrated', n: 2 });
    const none = await backend.dispatch('rewards.trainModel', { campaign: 'unrated', name: 'other' });
    expect(none).toMatchObject({
      ok: false,
      error: { code: 'invalid_input', message: expect.stringContaining('0 decisive pairs') },
    });
  }, 120_000);

  it('reloads and scores the pairs as it did when trained', async () => {
    const rm = await RewardModel.load(suiteDir(), RM);
    try {
      const campaign = backend.campaigns.get(C);
      const pairs = campaignPairs(backend.db, campaign.id, { rule: 'weighted', helpfulWeight: 0.5 });
      const items = pairs.flatMap((p) => [
        { prompt: p.prompt, response: p.chosen },
        { prompt: p.prompt, response: p.rejected },
      ]);
      const r = rm.logits(items);
      const all = pairMetrics(
        r,
        pairs.map((_, i) => ({ chosen: 2 * i, rejected: 2 * i + 1 })),
        pairs.map((_, i) => i),
      );
      const info = rm.info;
      const { train, heldOut } = info.metrics;
      expect(all.accuracy).toBeCloseTo(
        (train.accuracy! * train.count + heldOut.accuracy! * heldOut.count) / pairs.length,
        10,
      );
      expect(all.loss!).toBeCloseTo((train.loss! * train.count + heldOut.loss! * heldOut.count) / pairs.length, 4);
      // Batching does not change a score.
      const one = rm.logits(items.slice(0, 1));
      expect(one[0]).toBeCloseTo(r[0]!, 5);
      // Scores are sigmoid(r), centred: the training responses average about 0.5.
      const s = rm.scores(items);
      for (const x of s) expect(x > 0 && x < 1).toBe(true);
    } finally {
      rm.dispose();
    }
  });

  it('rm:NAME works through loadReward and rewards.score, and names its source', async () => {
    const rm = await RewardModel.load(suiteDir(), RM);
    const items = [
      {
        prompt: '\n\nHuman: How do I boil an egg?\n\nAssistant:',
        response: ' Put it in boiling water for nine minutes.',
      },
      { prompt: '\n\nHuman: Tell me about rivers.\n\nAssistant:', response: ' no' },
    ];
    const expected = Array.from(rm.scores(items));
    rm.dispose();
    const fn = await loadReward(`rm:${RM}`, { projectDir: suiteDir() });
    expect(fn.name).toBe(`rm:${RM}`);
    for (const [i, it] of items.entries()) expect(await fn.score(it.prompt, it.response)).toBeCloseTo(expected[i]!, 6);
    const out = await call(backend, 'rewards.score', { reward: `rm:${RM}`, items });
    expect(out.source).toBe(`rm:${RM}`);
    out.rows.forEach((row, i) => expect(row.reward).toBeCloseTo(expected[i]!, 6));
    // In a weighted combination too.
    const combined = await call(backend, 'rewards.score', { reward: `rm:${RM}*0.5+length*0.5`, items });
    expect(combined.rows[0]!.components[`rm:${RM}`]).toBeCloseTo(expected[0]!, 6);
    // Unknown names and folders outside a project fail clearly.
    await expect(loadReward('rm:nope', { projectDir: suiteDir() })).rejects.toThrow(/no reward model named "nope"/);
    await expect(loadReward(`rm:${RM}`)).rejects.toThrow(/only within a project/);
  });

  it('scores responses nobody rated in a sample job and a training run', async () => {
    const sampled = await finished(backend, () =>
      call(backend, 'samples.create', {
        model: 'sys-beta',
        prompts: { texts: ['How do I boil an egg?', 'Tell me a fact about rivers.'] },
        n: 2,
        reward: `rm:${RM}`,
        settings: { maxNewTokens: 6, greedy: false, seed: 2 },
      }),
    );
    expect(sampled.result).toMatchObject({ reward: `rm:${RM}` });
    expect(sampled.result!.meanReward).toBeGreaterThan(0);
    expect(sampled.result!.meanReward).toBeLessThan(1);

    const run = await finished(backend, () =>
      call(backend, 'runs.start', {
        algo: 'wbc',
        data: 'demo',
        init: 'sys-beta',
        out: 'beta-rm',
        steps: 2,
        batch: 4,
        reward: `rm:${RM}`,
      }),
    );
    expect(run.status).toBe('succeeded');
    const summary = await call(backend, 'runs.get', { runId: (run.params as { runId: number }).runId });
    expect(JSON.stringify(summary.summary)).toContain(`rm:${RM}`);
  }, 120_000);
});
