/**
 * Exactness: llama.ts against the float64 reference in helpers.ts, written from the equations, for
 * each family's shape (GQA, tied and untied heads, Qwen2's biases, Llama's every bias, both rope
 * scalings and none), on the wasm and cpu backends; and Mistral's sliding window checked.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Llama } from '../../../src/main/lm/llama';
import { llamaParameterShapes } from '../../../src/main/lm/llamaConfig';
import { Rng } from '../../../src/main/core/rng';
import { maxAbsDiff, onBackend, randomTokens, take, useWasm } from '../model/helpers';
import { CONFIGS, LLAMA3, MISTRAL, randomWeights, referenceLogits, shapesOf } from './helpers';

beforeAll(useWasm);

describe('parameters', () => {
  for (const [name, config] of Object.entries(CONFIGS)) {
    it(`${name}: names and shapes are the checkpoint's, in order`, () => {
      expect([...llamaParameterShapes(config)]).toEqual(shapesOf(config));
    });
  }
});

describe('Llama forward against the float64 reference', () => {
  for (const [name, config] of Object.entries(CONFIGS)) {
    for (const backend of ['wasm', 'cpu'] as const) {
      it(`${name} on ${backend}: logits of 2 full-context sequences to 1e-4`, async () => {
        const weights = randomWeights(config, 11);
        const T = config.nPositions;
        const ids = randomTokens(new Rng(5), 2 * T, config.vocabSize);
        const expected = [0, 1].map((b) => referenceLogits(config, weights, ids.slice(b * T, (b + 1) * T)).flat());
        const logits = await onBackend(backend, () => {
          const model = Llama.fromWeights(config, weights);
          try {
            return take(model.forward(tf.tensor2d(ids, [2, T], 'int32')));
          } finally {
            model.dispose();
          }
        });
        const V = config.vocabSize;
        // The logits are O(1) (checked), so an absolute 1e-4 is a tight test of float32 against float64.
        const spread = Math.max(...expected[0]!.map(Math.abs));
        expect(spread).toBeGreaterThan(1);
        for (let b = 0; b < 2; b++)
          expect(maxAbsDiff(logits.slice(b * T * V, (b + 1) * T * V), expected[b]!)).toBeLessThan(1e-4);
      });
    }
  }

  it('a left-padded row with its mask and shifted positions equals the reference on the real tokens', () => {
    const config = LLAMA3;
    const weights = randomWeights(config, 12);
    const model = Llama.fromWeights(config, weights);
    const pad = 5;
    const T = 20;
    const real = randomTokens(new Rng(6), T - pad, config.vocabSize);
    const ids = [...new Array<number>(pad).fill(0), ...real];
    const mask = ids.map((_, i) => (i < pad ? 0 : 1));
    const positions = ids.map((_, i) => Math.max(0, i - pad));
    const logits = take(
      model.forward(tf.tensor2d(ids, [1, T], 'int32'), {
        attentionMask: tf.tensor2d(mask, [1, T]),
        positions: tf.tensor2d(positions, [1, T], 'int32'),
      }),
    );
    const V = config.vocabSize;
    expect(maxAbsDiff(logits.slice(pad * V), referenceLogits(config, weights, real).flat())).toBeLessThan(1e-4);
    model.dispose();
  });

  it('the reference is sensitive: no eps, interleaved RoPE pairs or no rope scaling each miss 1e-4 by far', () => {
    const weights = randomWeights(LLAMA3, 13);
    const ids = randomTokens(new Rng(7), 24, LLAMA3.vocabSize);
    const base = referenceLogits(LLAMA3, weights, ids).flat();
    expect(maxAbsDiff(base, referenceLogits({ ...LLAMA3, rmsNormEps: 0 }, weights, ids).flat())).toBeGreaterThan(1e-3);
    expect(maxAbsDiff(base, referenceLogits({ ...LLAMA3, ropeScaling: null }, weights, ids).flat())).toBeGreaterThan(
      1e-2,
    );
    // The model, given the unscaled config, also moves: scaling is not silently ignored.
    const unscaled = Llama.fromWeights({ ...LLAMA3, ropeScaling: null }, weights);
    const got = take(unscaled.forward(tf.tensor2d(ids, [1, 24], 'int32')));
    expect(maxAbsDiff(got, base)).toBeGreaterThan(1e-2);
    unscaled.dispose();
  });

  it('GQA matters: sharing KV heads as HF does (h // group), not h % nKvHead', () => {
    // With 4 query heads on 2 KV heads, pairing head h with KV head h % 2 would give other logits.
    const weights = randomWeights(LLAMA3, 14);
    const model = Llama.fromWeights(LLAMA3, weights);
    const ids = randomTokens(new Rng(8), 16, LLAMA3.vocabSize);
    const got = take(model.forward(tf.tensor2d(ids, [1, 16], 'int32')));
    expect(maxAbsDiff(got, referenceLogits(LLAMA3, weights, ids).flat())).toBeLessThan(1e-4);
    // The same weights with q heads 1 and 2 swapped stand for the h % 2 pairing: the logits move.
    const swapped = new Map(weights);
    for (let l = 0; l < LLAMA3.nLayer; l++) {
      const name = `model.layers.${l}.self_attn.q_proj.weight`;
      const w = weights.get(name)!;
      const data = Float32Array.from(w.data);
      const rowsPerHead = LLAMA3.headDim * LLAMA3.nEmbd;
      data.set(w.data.subarray(2 * rowsPerHead, 3 * rowsPerHead), rowsPerHead);
      data.set(w.data.subarray(rowsPerHead, 2 * rowsPerHead), 2 * rowsPerHead);
      swapped.set(name, { shape: w.shape, data });
    }
    expect(maxAbsDiff(got, referenceLogits(LLAMA3, swapped, ids).flat())).toBeGreaterThan(1e-2);
    model.dispose();
  });
});

describe('Mistral sliding window', () => {
  it('a window as long as the context is accepted (it masks nothing there)', () => {
    const model = Llama.fromWeights(MISTRAL, randomWeights(MISTRAL, 1));
    expect(model.config.slidingWindow).toBe(32);
    model.dispose();
  });

  it('a window shorter than the context is refused, saying so', () => {
    const short = { ...MISTRAL, slidingWindow: 16 };
    expect(() => Llama.fromWeights(short, randomWeights(short, 1))).toThrow(
      /sliding_window 16 is shorter than the context 32/,
    );
    expect(() => Llama.init({ ...MISTRAL, slidingWindow: 31 }, new Rng(1))).toThrow(/sliding_window 31/);
    // Running at a context within the window is fine.
    const within = { ...MISTRAL, slidingWindow: 16, nPositions: 16 };
    const model = Llama.fromWeights(within, randomWeights(within, 1));
    expect(() => model.forward(tf.tensor2d([[1, 2]], [1, 2], 'int32')).dispose()).not.toThrow();
    model.dispose();
  });
});

describe('attention dropout while training', () => {
  it('off at eval and with attention_dropout 0; seeded and repeatable when the config has a rate', () => {
    const ids = tf.tensor2d(randomTokens(new Rng(9), 12, LLAMA3.vocabSize), [1, 12], 'int32');
    const weights = randomWeights(LLAMA3, 15);
    const plain = Llama.fromWeights(LLAMA3, weights);
    expect(take(plain.forward(ids, { training: { dropoutSeed: 1 } }))).toEqual(take(plain.forward(ids)));
    const dropping = Llama.fromWeights({ ...LLAMA3, attentionDropout: 0.2 }, weights);
    const evalOut = take(dropping.forward(ids));
    expect(evalOut).toEqual(take(plain.forward(ids)));
    const a = take(dropping.forward(ids, { training: { dropoutSeed: 1 } }));
    expect(take(dropping.forward(ids, { training: { dropoutSeed: 1 } }))).toEqual(a);
    expect(maxAbsDiff(a, evalOut)).toBeGreaterThan(1e-2);
    expect(maxAbsDiff(a, take(dropping.forward(ids, { training: { dropoutSeed: 2 } })))).toBeGreaterThan(1e-2);
    tf.dispose([ids]);
    plain.dispose();
    dropping.dispose();
  });
});
