import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { padRight } from '../../../src/main/lm/batch';
import type { CausalLm } from '../../../src/main/lm/causalLm';
import { Llama } from '../../../src/main/lm/llama';
import { sequenceLogprobs, tokenLogprobs } from '../../../src/main/lm/logprobs';
import { Gpt } from '../../../src/main/lm/model';
import { LoraAdapters } from '../../../src/main/lm/lora';
import { Rng } from '../../../src/main/core/rng';
import { QWEN2, LLAMA3, randomWeights as llamaWeights } from '../llama/helpers';
import { randomWeights, TOY, useWasm } from './helpers';

beforeAll(useWasm);

/** Three examples, 13 response tokens in all: chunks of 1, 4 and 13+ rows cut them differently. */
function batchFor(vocab: number, eos: number) {
  const rng = new Rng(5);
  const tokens = (n: number) => Array.from({ length: n }, () => rng.int(vocab - 1));
  return padRight(
    [
      { prompt: tokens(3), response: [...tokens(4), eos] },
      { prompt: tokens(5), response: [...tokens(2), eos] },
      { prompt: tokens(2), response: [...tokens(5), eos] },
    ],
    { padId: eos },
  );
}

/** Token log-probs and the gradient of a weighted sum of them with respect to every parameter. */
function valueAndGrads(
  model: CausalLm,
  chunkLogits: number | undefined,
  variables: tf.Variable[] = [...model.params.values()],
) {
  const batch = batchFor(model.config.vocabSize, model.config.eosTokenId);
  const lp = tokenLogprobs(model, batch, chunkLogits === undefined ? {} : { chunkLogits });
  const values = Array.from(lp.dataSync());
  lp.dispose();
  const weights = tf.tensor1d([1, -0.5, 2]);
  const { value, grads } = tf.variableGrads(
    () => tf.sum(tf.mul(sequenceLogprobs(model, batch, chunkLogits === undefined ? {} : { chunkLogits }), weights)),
    variables,
  );
  weights.dispose();
  value.dispose();
  const out = new Map(Object.entries(grads).map(([name, g]) => [name, Array.from(g.dataSync())]));
  for (const g of Object.values(grads)) g.dispose();
  return { values, grads: out };
}

function maxRelDiff(a: number[], b: number[]): number {
  let worst = 0;
  let scale = 1e-6;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return worst / scale;
}

describe('the head over chunks of rows (HEAD_CHUNK_LOGITS)', () => {
  const models: [string, () => CausalLm][] = [
    ['GPT-2 (tied wte)', () => Gpt.fromWeights(TOY, randomWeights(TOY, 31))],
    ['Llama 3 shape (untied lm_head)', () => Llama.fromWeights(LLAMA3, llamaWeights(LLAMA3, 32))],
    ['Qwen2 shape (tied embed_tokens)', () => Llama.fromWeights(QWEN2, llamaWeights(QWEN2, 33))],
  ];
  for (const [label, make] of models) {
    it(`${label}: log-probs and every gradient equal the one-piece head at chunks of 1, 4 and 5 rows`, () => {
      const model = make();
      try {
        const V = model.config.vocabSize;
        const whole = valueAndGrads(model, undefined);
        expect(whole.values.some((v) => v < -0.5)).toBe(true); // peaked weights: a wrong row shows
        for (const rows of [1, 4, 5]) {
          const chunked = valueAndGrads(model, rows * V);
          expect(chunked.values.length).toBe(whole.values.length);
          for (let i = 0; i < whole.values.length; i++) expect(chunked.values[i]).toBeCloseTo(whole.values[i]!, 5);
          expect([...chunked.grads.keys()].sort()).toEqual([...whole.grads.keys()].sort());
          for (const [name, g] of whole.grads) {
            const diff = maxRelDiff(chunked.grads.get(name)!, g);
            expect(diff, `${name} at ${rows} rows per chunk`).toBeLessThan(1e-4);
          }
        }
      } finally {
        model.dispose();
      }
    });
  }

  it('a frozen head (LoRA on its base) is left out: the adapters get the one-piece gradients', () => {
    const model = Llama.fromWeights(LLAMA3, llamaWeights(LLAMA3, 36));
    const lora = LoraAdapters.attach(model, { r: 2, alpha: 4, dropout: 0, targets: ['q', 'v', 'down'] }, new Rng(4));
    try {
      for (const [name, v] of lora.params)
        if (name.includes('lora_B')) v.assign(tf.randomNormal(v.shape, 0, 0.3, 'float32', 6));
      const adapters = [...lora.params.values()];
      const whole = valueAndGrads(model, undefined, adapters);
      const chunked = valueAndGrads(model, 3 * LLAMA3.vocabSize, adapters);
      expect(chunked.grads.size).toBe(adapters.length);
      for (const [name, g] of whole.grads) expect(maxRelDiff(chunked.grads.get(name)!, g), name).toBeLessThan(1e-4);
    } finally {
      lora.dispose();
      model.dispose();
    }
  });

  it('leaves no tensor behind, forward or backward', () => {
    const model = Gpt.fromWeights(TOY, randomWeights(TOY, 34));
    try {
      valueAndGrads(model, 2 * TOY.vocabSize); // warm-up: causal masks and the like are cached once
      const before = tf.memory().numTensors;
      valueAndGrads(model, 2 * TOY.vocabSize);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      model.dispose();
    }
  });

  it('holds at most one chunk of logits: peak bytes fall by more than the logits of the whole batch', async () => {
    // A 4,000-token vocabulary makes the logits the largest tensors, as in a real model.
    const big = { ...TOY, vocabSize: 4000, eosTokenId: 3999 };
    const model = Gpt.fromWeights(big, randomWeights(big, 35));
    try {
      const peak = async (chunkLogits: number | undefined) =>
        (await tf.profile(() => void valueAndGrads(model, chunkLogits))).peakBytes;
      const whole = await peak(undefined);
      const chunked = await peak(2 * big.vocabSize);
      const logitsBytes = 13 * big.vocabSize * 4; // 13 response tokens
      expect(whole - chunked).toBeGreaterThan(logitsBytes);
    } finally {
      model.dispose();
    }
  });
});
