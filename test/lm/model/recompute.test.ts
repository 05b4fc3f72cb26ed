import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { padRight } from '../../../src/main/lm/batch';
import type { CausalLm } from '../../../src/main/lm/causalLm';
import { Llama } from '../../../src/main/lm/llama';
import { sequenceLogprobs } from '../../../src/main/lm/logprobs';
import { LoraAdapters } from '../../../src/main/lm/lora';
import { Gpt } from '../../../src/main/lm/model';
import { Rng } from '../../../src/main/core/rng';
import { LLAMA3, QWEN2, randomWeights as llamaWeights } from '../llama/helpers';
import { randomWeights, TOY, useWasm } from './helpers';

beforeAll(useWasm);

function batchFor(vocab: number, eos: number) {
  const rng = new Rng(9);
  const tokens = (n: number) => Array.from({ length: n }, () => rng.int(vocab - 1));
  return padRight(
    [
      { prompt: tokens(4), response: [...tokens(5), eos] },
      { prompt: tokens(6), response: [...tokens(2), eos] },
    ],
    { padId: eos },
  );
}

/** Sequence log-probs with dropout, and the gradient of their weighted sum for every trainable variable. */
function valueAndGrads(model: CausalLm, trainable: Map<string, tf.Variable>, recompute: boolean) {
  const batch = batchFor(model.config.vocabSize, model.config.eosTokenId);
  const options = { training: { dropoutSeed: 77 }, ...(recompute ? { recompute: true } : {}) };
  const w = tf.tensor1d([1, -0.7]);
  const { value, grads } = tf.variableGrads(
    () => tf.sum(tf.mul(sequenceLogprobs(model, batch, options), w)),
    [...trainable.values()],
  );
  const loss = value.dataSync()[0]!;
  const byVariable = new Map(Object.entries(grads).map(([name, g]) => [name, Array.from(g.dataSync())]));
  for (const t of [w, value, ...Object.values(grads)]) t.dispose();
  return { loss, grads: byVariable };
}

function expectSameGradients(model: CausalLm, trainable: Map<string, tf.Variable>) {
  const plain = valueAndGrads(model, trainable, false);
  const again = valueAndGrads(model, trainable, true);
  expect(again.loss).toBe(plain.loss); // the forward pass computes the same kernels
  expect(again.grads.size).toBe(trainable.size);
  for (const [name, g] of plain.grads) {
    const r = again.grads.get(name)!;
    let worst = 0;
    let scale = 1e-6;
    for (let i = 0; i < g.length; i++) {
      worst = Math.max(worst, Math.abs(g[i]! - r[i]!));
      scale = Math.max(scale, Math.abs(g[i]!));
    }
    expect(worst / scale, name).toBeLessThan(1e-5);
  }
}

describe('layers recomputed in the backward pass (ForwardOptions.recompute)', () => {
  it('GPT-2 with dropout: the same loss and every gradient', () => {
    const model = Gpt.fromWeights(TOY, randomWeights(TOY, 41));
    try {
      expectSameGradients(model, model.params);
    } finally {
      model.dispose();
    }
  });

  for (const [label, config, seed] of [
    ['Llama 3 shape (GQA, llama3 rope, untied)', LLAMA3, 42],
    ['Qwen2 shape (q/k/v biases, tied)', QWEN2, 43],
  ] as const) {
    it(`${label}: the same loss and every gradient`, () => {
      const model = Llama.fromWeights(config, llamaWeights(config, seed));
      try {
        expectSameGradients(model, model.params);
      } finally {
        model.dispose();
      }
    });
  }

  it('LoRA on a frozen base (both families): the adapters get the same gradients, the base none', () => {
    for (const model of [
      Gpt.fromWeights(TOY, randomWeights(TOY, 44)) as CausalLm,
      Llama.fromWeights(LLAMA3, llamaWeights(LLAMA3, 45)) as CausalLm,
    ]) {
      const targets =
        model.family === 'gpt2' ? (['q', 'k', 'v', 'o', 'up', 'down'] as const) : (['q', 'v', 'down'] as const);
      const lora = LoraAdapters.attach(model, { r: 2, alpha: 4, dropout: 0.1, targets: [...targets] }, new Rng(3));
      try {
        // B starts at zero; a few random values make every adapter's gradient non-trivial.
        for (const [name, v] of lora.params)
          if (name.includes('lora_B')) v.assign(tf.randomNormal(v.shape, 0, 0.3, 'float32', 5));
        expectSameGradients(model, lora.params);
      } finally {
        lora.dispose();
        model.dispose();
      }
    }
  });

  it('keeps one layer of activations: peak bytes of a 6-layer backward pass fall, and no tensor is left', async () => {
    const deep = { ...TOY, nLayer: 6, nPositions: 64, nEmbd: 64 };
    const model = Gpt.fromWeights(deep, randomWeights(deep, 46));
    try {
      const rng = new Rng(2);
      const batch = padRight(
        [0, 1, 2, 3].map(() => ({
          prompt: Array.from({ length: 30 }, () => rng.int(49)),
          response: Array.from({ length: 30 }, () => rng.int(49)),
        })),
        { padId: 49 },
      );
      const pass = (recompute: boolean) => {
        const { value, grads } = tf.variableGrads(
          () => tf.sum(sequenceLogprobs(model, batch, { training: { dropoutSeed: 1 }, recompute })),
          [...model.params.values()],
        );
        for (const t of [value, ...Object.values(grads)]) t.dispose();
      };
      pass(true); // warm-up: causal masks are cached once
      const before = tf.memory().numTensors;
      const plain = (await tf.profile(() => pass(false))).peakBytes;
      const again = (await tf.profile(() => pass(true))).peakBytes;
      expect(tf.memory().numTensors).toBe(before);
      expect(again).toBeLessThan(plain * 0.6);
    } finally {
      model.dispose();
    }
  });
});
