import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/main/lm/backend';
import { AdamW } from '../../../src/main/lm/optim';
import { DataParallel, splitEvenly } from '../../../src/main/lm/parallel/pool';
import { Rng } from '../../../src/main/lm/rng';
import { trainStep } from '../../../src/main/lm/trainer';
import type { MlpInit } from './mlpTask';
import { makeBatch, maxAbsDiff, TinyMlp, type MlpBatch } from './tiny';

const task = new URL('./mlpTask.ts', import.meta.url);
let dp: DataParallel<MlpBatch>;
let main: TinyMlp;

beforeAll(async () => {
  await initBackend({ name: 'wasm', by: 'test' });
  main = new TinyMlp(new Rng(21), undefined, 0.2);
  dp = await DataParallel.start<MlpInit, MlpBatch>({ task, init: { dropout: 0.2 }, params: main.params, workers: 2 });
});

afterAll(async () => {
  await dp?.close();
  main?.dispose();
});

function microBatches(data: Rng, drops: Rng, parts: number): MlpBatch[] {
  return Array.from({ length: parts }, () => ({ ...makeBatch(data, 4), dropoutSeed: drops.seed() }));
}

describe('DataParallel', () => {
  it('splits micro-batches into contiguous, even runs', () => {
    expect(splitEvenly([1, 2, 3, 4, 5], 2)).toEqual([[1, 2, 3], [4, 5]]);
    expect(splitEvenly([1], 2)).toEqual([[1], []]);
  });

  it('gives the same bits as single-thread training with one micro-batch per worker', async () => {
    const single = new TinyMlp(new Rng(21), undefined, 0.2);
    // Start both from the same parameters (the pool's model may have trained in another test).
    for (const [name, p] of main.params) p.assign(single.params.get(name)!);
    const optSingle = new AdamW(single.params, { lr: 0.01 });
    const optParallel = new AdamW(main.params, { lr: 0.01 });
    const [dataA, dataB, dropsA, dropsB] = [new Rng(1), new Rng(1), new Rng(2), new Rng(2)];
    for (let step = 0; step < 4; step++) {
      const a = trainStep({ params: single.params, optimizer: optSingle, microBatches: microBatches(dataA, dropsA, 2), loss: (mb) => single.loss(mb), lr: 0.01, maxGradNorm: 0.5 });
      const b = await dp.step({ optimizer: optParallel, microBatches: microBatches(dataB, dropsB, 2), lr: 0.01, maxGradNorm: 0.5 });
      expect(b.loss).toBe(a.loss);
      expect(b.gradNorm).toBe(a.gradNorm);
      expect(b.metrics).toEqual(a.metrics);
    }
    const s = single.snapshot();
    for (const [name, w] of main.snapshot()) expect(w, name).toEqual(s.get(name));
    optSingle.dispose();
    optParallel.dispose();
    single.dispose();
  });

  it('matches single-thread accumulation to float tolerance with several micro-batches per worker', async () => {
    const single = new TinyMlp(new Rng(22), undefined, 0.2);
    for (const [name, p] of main.params) p.assign(single.params.get(name)!);
    const optSingle = new AdamW(single.params, { lr: 0.01 });
    const optParallel = new AdamW(main.params, { lr: 0.01 });
    const mbs = microBatches(new Rng(3), new Rng(4), 5);
    const a = trainStep({ params: single.params, optimizer: optSingle, microBatches: mbs, loss: (mb) => single.loss(mb), lr: 0.01, maxGradNorm: null });
    const b = await dp.step({ optimizer: optParallel, microBatches: mbs, lr: 0.01, maxGradNorm: null });
    expect(b.loss).toBeCloseTo(a.loss, 6);
    expect(b.gradNorm).toBeCloseTo(a.gradNorm, 5);
    const s = single.snapshot();
    for (const [name, w] of main.snapshot()) expect(maxAbsDiff(w, s.get(name)!), name).toBeLessThan(1e-6);
    optSingle.dispose();
    optParallel.dispose();
    single.dispose();
  });

  it('keeps the main thread tensor count flat over 20 steps', async () => {
    const opt = new AdamW(main.params, { lr: 0.01 });
    const data = new Rng(5);
    const drops = new Rng(6);
    await dp.step({ optimizer: opt, microBatches: microBatches(data, drops, 2), lr: 0.01, maxGradNorm: 1 });
    const start = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) {
      await dp.step({ optimizer: opt, microBatches: microBatches(data, drops, 2), lr: 0.01, maxGradNorm: 1 });
      expect(tf.memory().numTensors).toBe(start);
    }
    opt.dispose();
  });

  it("reports a worker's error as a rejected step", async () => {
    const model = new TinyMlp(new Rng(1));
    const failing = await DataParallel.start<MlpInit, MlpBatch>({ task, init: { dropout: 0, failOn: 42 }, params: model.params });
    const opt = new AdamW(model.params);
    const bad: MlpBatch = { x: [[1, 2, 3, 4]], y: [42] };
    await expect(failing.step({ optimizer: opt, microBatches: [bad, bad], lr: 0.01, maxGradNorm: 1 })).rejects.toThrow(/asked to fail on 42/);
    await failing.close();
    opt.dispose();
    model.dispose();
  });

  it('fails to start with a clear message when the task has no createReplica', async () => {
    const model = new TinyMlp(new Rng(1));
    await expect(DataParallel.start({ task: new URL('./tiny.ts', import.meta.url), init: {}, params: model.params, workers: 1 })).rejects.toThrow(/exports no createReplica/);
    model.dispose();
  });
});
