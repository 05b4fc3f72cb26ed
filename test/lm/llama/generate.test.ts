/**
 * KV-cache decoding on the Llama family: GQA-shaped caches, cached = recomputed logits, greedy
 * generation through generate.ts (which takes any CausalLm) equal to decoding by hand with full
 * recomputes, every end-of-sequence id stopping a row, log-probs through logprobs.ts, and no
 * tensor left behind by any of it.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { padRight } from '../../../src/main/lm/batch';
import { KvCache } from '../../../src/main/lm/causalLm';
import { generate } from '../../../src/main/lm/generate';
import { Llama } from '../../../src/main/lm/llama';
import { logprobsOf, sequenceLogprobs, tokenLogprobs } from '../../../src/main/lm/logprobs';
import { argmax } from '../../../src/main/lm/sampling';
import { Rng } from '../../../src/main/core/rng';
import { maxAbsDiff, randomTokens, take, useWasm } from '../model/helpers';
import { LLAMA3, QWEN2, randomWeights, referenceLogits } from './helpers';

const NO_EOS = { eosTokenId: null };
let llama3: Llama;
let qwen2: Llama;

beforeAll(async () => {
  await useWasm();
  llama3 = Llama.fromWeights(LLAMA3, randomWeights(LLAMA3, 21));
  qwen2 = Llama.fromWeights(QWEN2, randomWeights(QWEN2, 22));
});
afterAll(() => {
  llama3.dispose();
  qwen2.dispose();
});

const rng = new Rng(17);
const prompts = [
  randomTokens(rng, 3, 60),
  randomTokens(rng, 9, 60),
  randomTokens(rng, 1, 60),
  randomTokens(rng, 6, 60),
];

function greedyByHand(model: Llama, prompt: number[], steps: number): number[] {
  const ids = [...prompt];
  const V = model.config.vocabSize;
  for (let i = 0; i < steps; i++) {
    const logits = take(model.forward(tf.tensor2d(ids, [1, ids.length], 'int32')));
    ids.push(argmax(logits.slice((ids.length - 1) * V)));
  }
  return ids.slice(prompt.length);
}

describe('the KV cache', () => {
  it('holds (B, kvHeads, T, headDim) per layer, and step-by-step logits equal one full pass', () => {
    for (const model of [llama3, qwen2]) {
      const c = model.config;
      const T = 14;
      const ids = randomTokens(new Rng(3), 2 * T, c.vocabSize);
      const full = take(model.forward(tf.tensor2d(ids, [2, T], 'int32')));
      const cache = new KvCache();
      const V = c.vocabSize;
      const steps: number[][] = [[], []];
      const chunks = [[0, 5], ...Array.from({ length: T - 5 }, (_, i) => [5 + i, 6 + i])] as [number, number][];
      for (const [from, to] of chunks) {
        const chunk = [0, 1].flatMap((b) => ids.slice(b * T + from, b * T + to));
        const logits = take(model.forward(tf.tensor2d(chunk, [2, to - from], 'int32'), { cache }));
        for (let b = 0; b < 2; b++) steps[b]!.push(...logits.slice(b * (to - from) * V, (b + 1) * (to - from) * V));
      }
      expect(cache.length).toBe(T);
      for (let layer = 0; layer < c.nLayer; layer++) {
        expect(cache.keysOf(layer)!.shape).toEqual([2, c.nKvHead, T, c.headDim]);
        expect(cache.valuesOf(layer)!.shape).toEqual([2, c.nKvHead, T, c.headDim]);
      }
      cache.dispose();
      // Float32 rounding only (decoding rows take the head's (W x^T)^T form, full passes x W^T): logits
      // reach 6 (Llama 3) and 24 (Qwen2) here, and a cache or position mistake moves them by O(1).
      expect(maxAbsDiff(steps.flat(), full)).toBeLessThan(5e-5);
    }
  });
});

describe('greedy generation', () => {
  it('16 tokens: cached = uncached = decoding by hand, on a left-padded batch of different lengths', () => {
    for (const model of [llama3, qwen2]) {
      const cached = generate(model, prompts, { maxNewTokens: 16, ...NO_EOS });
      const uncached = generate(model, prompts, { maxNewTokens: 16, ...NO_EOS, useCache: false });
      expect(cached.ids).toEqual(uncached.ids);
      expect(cached.ids.every((ids) => ids.length === 16)).toBe(true);
      // Not a degenerate model: rows differ and do not repeat one token.
      expect(new Set(cached.ids.map((ids) => ids.join())).size).toBe(4);
      expect(new Set(cached.ids.flat()).size).toBeGreaterThan(5);
      prompts.forEach((p, b) => expect(cached.ids[b], `prompt ${b}`).toEqual(greedyByHand(model, p, 16)));
    }
  });

  it('the first greedy token is the float64 reference argmax', () => {
    const weights = llama3.weights();
    for (const p of prompts) {
      const ref = referenceLogits(LLAMA3, weights, p);
      const first = generate(llama3, [p], { maxNewTokens: 1, ...NO_EOS }).ids[0]![0];
      expect(first).toBe(argmax(ref.at(-1)!));
    }
  });

  it('stops at any of the config eos ids by default, and at a given list', () => {
    const free = generate(llama3, [prompts[1]!], { maxNewTokens: 16, ...NO_EOS }).ids[0]!;
    const stopAt = free[4]!;
    const cut = free.slice(0, free.indexOf(stopAt));
    // Default: the model's eosTokenIds (LLAMA3 has [2, 3]); a model whose second eos id is stopAt stops there.
    const model = Llama.fromWeights({ ...LLAMA3, eosTokenIds: [LLAMA3.eosTokenId, stopAt] }, llama3.weights());
    const byDefault = generate(model, [prompts[1]!], { maxNewTokens: 16 });
    model.dispose();
    expect(byDefault.ids[0]).toEqual(cut);
    expect(byDefault.finishReason).toEqual(['eos']);
    const byList = generate(llama3, [prompts[1]!], { maxNewTokens: 16, eosTokenId: [63, stopAt] });
    expect(byList.ids[0]).toEqual(cut);
  });
});

describe('log-probs', () => {
  it('logprobsOf and tokenLogprobs equal log-softmax of the reference logits', () => {
    const weights = qwen2.weights();
    const ids = [5, 9, 13, 2, 40, 41];
    const ref = referenceLogits(QWEN2, weights, ids);
    const want = ids.slice(1).map((next, t) => {
      const row = ref[t]!;
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
      return row[next]! - lse;
    });
    expect(maxAbsDiff(logprobsOf(qwen2, ids), want)).toBeLessThan(1e-4);
    const batch = padRight([{ prompt: ids.slice(0, 3), response: ids.slice(3) }], { padId: 2 });
    const tokens = take(tokenLogprobs(qwen2, batch));
    expect(maxAbsDiff(tokens.slice(2), want.slice(2))).toBeLessThan(1e-4);
    expect(tokens.slice(0, 2)).toEqual([0, 0]);
    expect(Math.abs(take(sequenceLogprobs(qwen2, batch))[0]! - (want[2]! + want[3]! + want[4]!))).toBeLessThan(1e-4);
  });
});

describe('tensor hygiene', () => {
  function expectNoLeak(name: string, fn: () => void): void {
    fn(); // warm-up: caches the masks this call needs
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) fn();
    expect(tf.memory().numTensors, name).toBe(before);
  }

  it('no tensor outlives forward, cached steps, generation or a gradient', () => {
    const ids = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32');
    expectNoLeak('forward with mask and positions', () => {
      const mask = tf.tensor2d([0, 1, 1, 1, 1, 1], [2, 3]);
      const positions = tf.tensor2d([0, 0, 1, 0, 1, 2], [2, 3], 'int32');
      llama3.forward(ids, { attentionMask: mask, positions }).dispose();
      tf.dispose([mask, positions]);
    });
    expectNoLeak('cached steps', () => {
      const cache = new KvCache();
      llama3.forward(ids, { cache }).dispose();
      // Across steps the cache holds 2 tensors per layer, whatever the number of steps.
      const held = tf.memory().numTensors;
      for (let step = 0; step < 3; step++) {
        const next = tf.tensor2d([7, 8], [2, 1], 'int32');
        llama3.forward(next, { cache }).dispose();
        next.dispose();
        expect(tf.memory().numTensors).toBe(held);
      }
      cache.dispose();
    });
    expectNoLeak('generate, cached and sampled', () => {
      generate(qwen2, prompts, { maxNewTokens: 5, ...NO_EOS });
      generate(qwen2, prompts, { maxNewTokens: 5, ...NO_EOS, greedy: false, seed: 1, topP: 0.9 });
    });
    const batch = padRight([{ prompt: [1, 2, 3], response: [4, 5, 2] }], { padId: 2 });
    expectNoLeak('a gradient of the sequence log-prob', () => {
      const { grads, value } = tf.variableGrads(
        () => tf.sum(sequenceLogprobs(llama3, batch)) as tf.Scalar,
        [...llama3.params.values()],
      );
      value.dispose();
      tf.dispose(Object.values(grads));
    });
    ids.dispose();
  });
});
