/**
 * The optimizer and trainer on the real Gpt (model.ts), on a toy sequence task:
 * after BOS and a start digit, count up: [0, s] -> s+1, s+2, ... (mod 15, ids 1..15), then EOS.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initTensorBackend } from '../../../src/main/lm/tensorBackend';
import { padRight } from '../../../src/main/lm/batch';
import type { GptConfig } from '../../../src/main/lm/config';
import { Gpt } from '../../../src/main/lm/model';
import { AdamW } from '../../../src/main/lm/optim';
import { lmLoss, type LmMicroBatch } from '../../helpers/lmLoss';
import { Rng } from '../../../src/main/core/rng';
import { cosineWithWarmup } from '../../../src/main/lm/schedules';
import { trainStep } from '../../../src/main/lm/trainer';

const CONFIG: GptConfig = {
  vocabSize: 17,
  nPositions: 16,
  nEmbd: 32,
  nLayer: 2,
  nHead: 4,
  layerNormEpsilon: 1e-5,
  dropout: 0.1,
  bosTokenId: 0,
  eosTokenId: 16,
};

beforeAll(async () => {
  await initTensorBackend({ name: 'wasm', by: 'test' });
});

function counting(rng: Rng, n: number, length = 8): LmMicroBatch['batch'] {
  const examples = Array.from({ length: n }, () => {
    const start = 1 + rng.int(15);
    const response = Array.from({ length }, (_, i) => 1 + ((start + i) % 15));
    return { prompt: [0, start], response: [...response, CONFIG.eosTokenId] };
  });
  return padRight(examples, { padId: CONFIG.eosTokenId });
}

function snapshot(model: Gpt): Map<string, Float32Array> {
  return new Map([...model.params].map(([k, v]) => [k, new Float32Array(v.dataSync())]));
}

/** `steps` steps of 2 micro-batches of 8 from fixed seeds; returns the losses and the final weights. */
function train(steps: number, seeds: { model: number; data: number; dropout: number }, onStep?: (i: number) => void) {
  const model = Gpt.init(CONFIG, new Rng(seeds.model));
  const optimizer = new AdamW(model.params, { lr: 3e-3, weightDecay: 0.01 });
  const schedule = cosineWithWarmup({
    lr: 3e-3,
    warmupSteps: Math.min(5, steps - 1),
    totalSteps: steps,
    minLrRatio: 0.1,
  });
  const data = new Rng(seeds.data);
  const drops = new Rng(seeds.dropout);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const microBatches: LmMicroBatch[] = [0, 1].map(() => ({ batch: counting(data, 8), dropoutSeed: drops.seed() }));
    const r = trainStep({
      params: model.params,
      optimizer,
      microBatches,
      loss: (mb) => lmLoss(model, mb),
      lr: schedule(optimizer.step),
      maxGradNorm: 1,
    });
    losses.push(r.loss);
    onStep?.(i);
  }
  const weights = snapshot(model);
  optimizer.dispose();
  model.dispose();
  return { losses, weights };
}

describe('training the Gpt', () => {
  it('drives the loss down on a counting task and moves every parameter', () => {
    const init = Gpt.init(CONFIG, new Rng(1));
    const initial = snapshot(init);
    init.dispose();
    const { losses, weights } = train(60, { model: 1, data: 2, dropout: 3 });
    expect(losses.every(Number.isFinite)).toBe(true);
    const first = losses.slice(0, 3).reduce((a, b) => a + b) / 3;
    const last = losses.slice(-3).reduce((a, b) => a + b) / 3;
    // ln(17) = 2.83 at the start; counting is deterministic after the start digit.
    expect(first).toBeGreaterThan(2.5);
    expect(last).toBeLessThan(first * 0.5);
    for (const [name, w] of weights) {
      const w0 = initial.get(name)!;
      expect(
        w.some((x, i) => x !== w0[i]),
        `${name} moved`,
      ).toBe(true);
    }
  });

  it('repeats bit for bit from the same seeds; another dropout seed gives other weights', () => {
    const a = train(4, { model: 5, data: 6, dropout: 7 });
    const b = train(4, { model: 5, data: 6, dropout: 7 });
    const c = train(4, { model: 5, data: 6, dropout: 8 });
    expect(b.losses).toEqual(a.losses);
    for (const [name, w] of a.weights) expect(b.weights.get(name), name).toEqual(w);
    expect([...a.weights].some(([name, w]) => c.weights.get(name)!.some((x, i) => x !== w[i]))).toBe(true);
  });

  it('keeps the tensor count flat over 20 steps', () => {
    let start = -1;
    train(21, { model: 9, data: 10, dropout: 11 }, (i) => {
      if (i === 0) start = tf.memory().numTensors;
      else expect(tf.memory().numTensors, `after step ${i + 1}`).toBe(start);
    });
  });
});
