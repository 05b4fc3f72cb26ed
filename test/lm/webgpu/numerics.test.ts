/**
 * The models on WebGPU (SwiftShader here and in CI) against wasm in the same process: the same
 * weights (plain Float32Arrays) built into a model on each backend in turn. Tiny shapes: SwiftShader
 * emulates the GPU on the CPU.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { padRight, type PaddedBatch } from '../../../src/main/lm/batch';
import type { CausalLm } from '../../../src/main/lm/causalLm';
import type { GptConfig, NamedTensors } from '../../../src/main/lm/config';
import { generate } from '../../../src/main/lm/generate';
import { Llama } from '../../../src/main/lm/llama';
import { tokenLogprobs } from '../../../src/main/lm/logprobs';
import { Gpt } from '../../../src/main/lm/model';
import { AdamW } from '../../../src/main/lm/optim';
import { trainStep } from '../../../src/main/lm/trainer';
import { a_lol, nll } from '../../../src/main/alol/losses';
import { stopGradient } from '../../../src/main/alol/losses/common';
import { Rng } from '../../../src/main/core/rng';
import { randomWeights as gptWeights, TOY } from '../model/helpers';
import { LLAMA3, randomWeights as llamaWeights } from '../llama/helpers';
import { maxAbsDiff, maxRelDiff, on, startBoth } from './helpers';

const GPT: GptConfig = { ...TOY, nPositions: 32, dropout: 0 };

interface Family {
  name: string;
  build: (weights: NamedTensors) => CausalLm & { params: Map<string, tf.Variable>; dispose(): void };
  weights: NamedTensors;
  vocab: number;
  eos: number;
}

const families: Family[] = [
  {
    name: 'GPT-2',
    build: (w) => Gpt.fromWeights(GPT, w),
    weights: gptWeights(GPT, 11),
    vocab: GPT.vocabSize,
    eos: GPT.eosTokenId,
  },
  {
    name: 'Llama (GQA, llama3 rope)',
    build: (w) => Llama.fromWeights(LLAMA3, w),
    weights: llamaWeights(LLAMA3, 12),
    vocab: LLAMA3.vocabSize,
    eos: LLAMA3.eosTokenId,
  },
];

function batchFor(f: Family, seed: number): PaddedBatch {
  const rng = new Rng(seed);
  const tokens = (n: number) => Array.from({ length: n }, () => 3 + rng.int(f.vocab - 3));
  return padRight(
    [
      { prompt: tokens(4), response: tokens(6) },
      { prompt: tokens(3), response: tokens(4) },
    ],
    { padId: f.eos },
  );
}

/** The response mask aligned with tokenLogprobs' (B, T-1) columns. */
function maskOf(batch: PaddedBatch): tf.Tensor2D {
  const { batchSize: B, length: T } = batch;
  const m = new Float32Array(B * (T - 1));
  for (let b = 0; b < B; b++) for (let t = 1; t < T; t++) m[b * (T - 1) + t - 1] = batch.responseMask[b * T + t]!;
  return tf.tensor2d(m, [B, T - 1]);
}

function logprobs(f: Family, batch: PaddedBatch): Float32Array {
  const model = f.build(f.weights);
  try {
    const lp = tf.tidy(() => tokenLogprobs(model, batch));
    const out = lp.dataSync() as Float32Array;
    lp.dispose();
    return out;
  } finally {
    model.dispose();
  }
}

type LossKind = 'nll' | 'a_lol';

/** One AdamW step (clip 1.0) on one batch; returns the updated weights and the loss. */
function oneStep(f: Family, kind: LossKind, batch: PaddedBatch): { weights: Map<string, Float32Array>; loss: number } {
  const model = f.build(f.weights);
  const optimizer = new AdamW(model.params, { lr: 1e-3, weightDecay: 0.01 });
  try {
    const result = trainStep({
      params: model.params,
      optimizer,
      microBatches: [batch],
      loss: (b: PaddedBatch) => {
        const lp = tokenLogprobs(model, b);
        const mask = maskOf(b);
        if (kind === 'nll') return { loss: nll({ lp, mask }).loss };
        // A-LoL with a reference a little off the policy and advantages of both signs.
        const lpRef = tf.add(stopGradient(lp), tf.mul(mask, 0.01)) as tf.Tensor2D;
        const advantage = tf.tensor1d([0.7, -0.2]);
        return { loss: a_lol({ lp, mask, lpRef, advantage }, { eps: 0.2 }).loss };
      },
      lr: 1e-3,
      maxGradNorm: 1,
    });
    const weights = new Map([...model.params].map(([k, v]) => [k, new Float32Array(v.dataSync())]));
    return { weights, loss: result.loss };
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}

beforeAll(async () => {
  await startBoth();
}, 120_000);

describe('webgpu against wasm', () => {
  for (const f of families) {
    it(`${f.name}: token log-probs agree within 1e-4`, async () => {
      const batch = batchFor(f, 1);
      const wasm = await on('wasm', () => logprobs(f, batch));
      const gpu = await on('webgpu', () => logprobs(f, batch));
      expect(maxAbsDiff(gpu, wasm)).toBeLessThanOrEqual(1e-4);
      // The log-probs are not all near zero (the test would be weak).
      expect(Math.min(...wasm)).toBeLessThan(-1);
    }, 120_000);

    for (const kind of ['nll', 'a_lol'] as const) {
      it(`${f.name}: one AdamW step with ${kind} moves every weight as on wasm (1e-4 relative)`, async () => {
        const batch = batchFor(f, 2);
        const wasm = await on('wasm', () => oneStep(f, kind, batch));
        const gpu = await on('webgpu', () => oneStep(f, kind, batch));
        expect(Math.abs(gpu.loss - wasm.loss)).toBeLessThanOrEqual(1e-4 * Math.abs(wasm.loss));
        for (const [name, w] of wasm.weights) {
          let g = gpu.weights.get(name)!;
          if (/attn\.c_attn\.bias$/.test(name)) {
            // GPT-2's key bias adds the same q.b_k to every score of a query, which the softmax
            // cancels: its true gradient is 0, and both backends' are rounding noise (~1e-9) that
            // Adam's first step turns into +-lr of arbitrary sign. Those columns may differ by the
            // step; the query and value biases compare like every other weight.
            const d = GPT.nEmbd;
            const before = f.weights.get(name)!.data;
            for (let i = d; i < 2 * d; i++) expect(Math.abs(g[i]! - before[i]!)).toBeLessThanOrEqual(1.01e-3);
            const keep = (x: Float32Array) => Float32Array.from([...x.subarray(0, d), ...x.subarray(2 * d)]);
            g = keep(g);
            expect(maxRelDiff(g, keep(w), 1e-3), name).toBeLessThanOrEqual(1e-4);
            continue;
          }
          // Relative to the weight, with a floor of one update (lr) so weights near zero compare by the step.
          expect(maxRelDiff(g, w, 1e-3), name).toBeLessThanOrEqual(1e-4);
          // The step moved the weight (else equality proves nothing).
          const before = f.weights.get(name)!.data;
          expect(maxAbsDiff(w, before), name).toBeGreaterThan(0);
        }
      }, 180_000);
    }

    it(`${f.name}: greedy sampling with the KV cache gives the same 16 tokens`, async () => {
      const prompts = [
        [5, 6, 7],
        [9, 4],
      ];
      const sample = () => {
        const model = f.build(f.weights);
        try {
          return generate(model, prompts, { maxNewTokens: 16, greedy: true, eosTokenId: null }).ids;
        } finally {
          model.dispose();
        }
      };
      const wasm = await on('wasm', sample);
      const gpu = await on('webgpu', sample);
      expect(wasm.map((r) => r.length)).toEqual([16, 16]);
      expect(gpu).toEqual(wasm);
    }, 120_000);
  }

  it('keeps memory flat across training steps on webgpu (no tensor leaks)', async () => {
    const f = families[0]!;
    await on('webgpu', () => {
      const model = f.build(f.weights);
      const optimizer = new AdamW(model.params, { lr: 1e-3, weightDecay: 0.01 });
      const batch = batchFor(f, 3);
      const step = () =>
        trainStep({
          params: model.params,
          optimizer,
          microBatches: [batch],
          loss: (b: PaddedBatch) => ({ loss: nll({ lp: tokenLogprobs(model, b), mask: maskOf(b) }).loss }),
          lr: 1e-3,
          maxGradNorm: 1,
        });
      step(); // the optimizer's moments and the cached masks come into being here
      const after1 = tf.memory();
      step();
      step();
      const after3 = tf.memory();
      expect(after3.numTensors).toBe(after1.numTensors);
      expect(after3.numBytes).toBe(after1.numBytes);
      optimizer.dispose();
      model.dispose();
    });
  }, 180_000);
});
