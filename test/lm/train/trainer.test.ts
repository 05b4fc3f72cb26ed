import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initTensorBackend } from '../../../src/main/lm/tensorBackend';
import { AdamW } from '../../../src/main/lm/optim';
import { Rng } from '../../../src/main/core/rng';
import { trainStep } from '../../../src/main/lm/trainer';
import { makeBatch, maxAbsDiff, TinyMlp, type MlpBatch } from './tiny';

beforeAll(async () => {
  await initTensorBackend({ name: 'wasm', by: 'test' });
});

function split(batch: MlpBatch, parts: number): MlpBatch[] {
  const size = batch.x.length / parts;
  return Array.from({ length: parts }, (_, i) => ({
    x: batch.x.slice(i * size, (i + 1) * size),
    y: batch.y.slice(i * size, (i + 1) * size),
  }));
}

/** Trains a fresh TinyMlp from `seed` for `steps` steps; dropout seeds come from a second Rng. */
function run(seed: number, dropoutSeed: number, steps: number, dropout = 0.3): Map<string, Float32Array> {
  const model = new TinyMlp(new Rng(seed), undefined, dropout);
  const opt = new AdamW(model.params, { lr: 0.01 });
  const data = new Rng(seed + 1);
  const drops = new Rng(dropoutSeed);
  for (let i = 0; i < steps; i++) {
    const microBatches = split(makeBatch(data, 8), 2).map((mb) => ({ ...mb, dropoutSeed: drops.seed() }));
    trainStep({
      params: model.params,
      optimizer: opt,
      microBatches,
      loss: (mb) => model.loss(mb),
      lr: 0.01,
      maxGradNorm: 1,
    });
  }
  const out = model.snapshot();
  opt.dispose();
  model.dispose();
  return out;
}

describe('trainStep', () => {
  it('2 micro-batches of 4 give the same update as 1 batch of 8 for a mean loss', () => {
    const batch = makeBatch(new Rng(3), 8);
    const results = [1, 2, 4].map((parts) => {
      const model = new TinyMlp(new Rng(1));
      const opt = new AdamW(model.params, { lr: 0.05, weightDecay: 0.1 });
      const r1 = trainStep({
        params: model.params,
        optimizer: opt,
        microBatches: split(batch, parts),
        loss: (mb) => model.loss(mb),
        lr: 0.05,
        maxGradNorm: null,
      });
      // A second step makes the moments from the first one matter too.
      const r2 = trainStep({
        params: model.params,
        optimizer: opt,
        microBatches: split(batch, parts),
        loss: (mb) => model.loss(mb),
        lr: 0.05,
        maxGradNorm: null,
      });
      const snap = model.snapshot();
      opt.dispose();
      model.dispose();
      return { r1, r2, snap };
    });
    const [whole, halves, quarters] = results as [(typeof results)[0], (typeof results)[0], (typeof results)[0]];
    for (const other of [halves, quarters]) {
      expect(other.r1.loss).toBeCloseTo(whole.r1.loss, 5);
      expect(other.r1.gradNorm).toBeCloseTo(whole.r1.gradNorm, 5);
      expect(other.r2.metrics['pred/mean']).toBeCloseTo(whole.r2.metrics['pred/mean']!, 5);
      for (const [name, w] of whole.snap) expect(maxAbsDiff(other.snap.get(name)!, w), name).toBeLessThan(1e-5);
    }
    // Sanity: the update did something.
    const fresh = new TinyMlp(new Rng(1));
    expect(maxAbsDiff(fresh.snapshot().get('mlp.c_fc.weight')!, whole.snap.get('mlp.c_fc.weight')!)).toBeGreaterThan(
      1e-3,
    );
    fresh.dispose();
  });

  it('clips the averaged gradient and reports the norm before clipping', () => {
    const batch = makeBatch(new Rng(4), 8);
    const step = (maxGradNorm: number | null) => {
      const model = new TinyMlp(new Rng(2));
      const opt = new AdamW(model.params, { lr: 0.1, weightDecay: 0 });
      const r = trainStep({
        params: model.params,
        optimizer: opt,
        microBatches: split(batch, 2),
        loss: (mb) => model.loss(mb),
        lr: 0.1,
        maxGradNorm,
      });
      const m = opt.state().m;
      opt.dispose();
      model.dispose();
      return { r, m };
    };
    const free = step(null);
    const clipped = step(free.r.gradNorm / 4);
    expect(clipped.r.gradNorm).toBeCloseTo(free.r.gradNorm, 6);
    // After one step m = 0.1 * g: the clipped run's first moments are a quarter of the free run's.
    for (const [name, { data }] of free.m) {
      const expected = Array.from(data, (x) => x / 4);
      expect(maxAbsDiff(clipped.m.get(name)!.data, expected), name).toBeLessThan(1e-7);
    }
    const loose = step(free.r.gradNorm * 2);
    for (const [name, { data }] of free.m) expect(loose.m.get(name)!.data, name).toEqual(data);
  });

  it('repeats bit for bit from the same seeds; another dropout seed gives other parameters', () => {
    const a = run(11, 100, 5);
    const b = run(11, 100, 5);
    const c = run(11, 101, 5);
    for (const [name, w] of a) expect(b.get(name), name).toEqual(w);
    expect([...a].some(([name, w]) => maxAbsDiff(c.get(name)!, w) > 1e-6)).toBe(true);
  });

  it('keeps the tensor count flat over 20 steps and learns', () => {
    const model = new TinyMlp(new Rng(5), undefined, 0.1);
    const opt = new AdamW(model.params, { lr: 0.02 });
    const data = new Rng(6);
    const drops = new Rng(7);
    const start = tf.memory().numTensors;
    const losses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const microBatches = split(makeBatch(data, 16), 2).map((mb) => ({ ...mb, dropoutSeed: drops.seed() }));
      const r = trainStep({
        params: model.params,
        optimizer: opt,
        microBatches,
        loss: (mb) => model.loss(mb),
        lr: 0.02,
        maxGradNorm: 1,
      });
      losses.push(r.loss);
      expect(Number.isFinite(r.gradNorm)).toBe(true);
      expect(tf.memory().numTensors, `after step ${i + 1}`).toBe(start);
    }
    expect(losses.slice(-5).reduce((a, b) => a + b) / 5).toBeLessThan(losses.slice(0, 5).reduce((a, b) => a + b) / 5);
    opt.dispose();
    model.dispose();
  });

  it('disposes what it summed when a loss throws', () => {
    const model = new TinyMlp(new Rng(8));
    const opt = new AdamW(model.params);
    const start = tf.memory().numTensors;
    const batches = split(makeBatch(new Rng(9), 8), 2);
    let calls = 0;
    const loss = (mb: MlpBatch) => {
      if (++calls === 2) throw new Error('boom');
      return model.loss(mb);
    };
    expect(() =>
      trainStep({ params: model.params, optimizer: opt, microBatches: batches, loss, lr: 0.01, maxGradNorm: 1 }),
    ).toThrow('boom');
    expect(tf.memory().numTensors).toBe(start);
    opt.dispose();
    model.dispose();
  });
});
