import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parameterShapes, type NamedTensors } from '../../../src/main/lm/config';
import { Gpt, KvCache } from '../../../src/main/lm/model';
import { causalMask } from '../../../src/main/lm/ops';
import { Rng } from '../../../src/main/core/rng';
import { maxAbsDiff, randomTokens, randomWeights, take, TOY, useWasm } from './helpers';

beforeAll(useWasm);

function std(values: Float32Array): number {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  return Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
}

describe('Gpt.init', () => {
  it("draws GPT-2's initialisation, deterministically from the rng", () => {
    const config = { ...TOY, vocabSize: 500, nEmbd: 64, nLayer: 3 };
    const a = Gpt.init(config, new Rng(7));
    const b = Gpt.init(config, new Rng(7));
    const c = Gpt.init(config, new Rng(8));
    const wa = a.weights();
    const wb = b.weights();
    expect([...wa.keys()]).toEqual([...parameterShapes(config).keys()]);
    expect([...a.params.keys()]).toEqual([...parameterShapes(config).keys()]);
    for (const [name, w] of wa) expect(w.data, name).toEqual(wb.get(name)!.data);
    expect(c.weights().get('wte.weight')!.data).not.toEqual(wa.get('wte.weight')!.data);

    expect(std(wa.get('wte.weight')!.data)).toBeCloseTo(0.02, 3);
    expect(std(wa.get('h.0.mlp.c_fc.weight')!.data)).toBeCloseTo(0.02, 3);
    expect(std(wa.get('h.1.mlp.c_proj.weight')!.data)).toBeCloseTo(0.02 / Math.sqrt(6), 3);
    expect(std(wa.get('h.2.attn.c_proj.weight')!.data)).toBeCloseTo(0.02 / Math.sqrt(6), 3);
    expect(wa.get('h.0.attn.c_attn.bias')!.data.every((v) => v === 0)).toBe(true);
    expect(wa.get('h.0.ln_1.weight')!.data.every((v) => v === 1)).toBe(true);
    expect(wa.get('ln_f.weight')!.data.every((v) => v === 1)).toBe(true);
    expect(wa.get('ln_f.bias')!.data.every((v) => v === 0)).toBe(true);
    for (const m of [a, b, c]) m.dispose();
  });
});

describe('Gpt.fromWeights and weights()', () => {
  it('round-trips the weights exactly', () => {
    const weights = randomWeights(TOY, 3);
    const model = Gpt.fromWeights(TOY, weights);
    const back = model.weights();
    for (const [name, w] of weights) {
      expect(back.get(name)!.shape).toEqual(w.shape);
      expect(back.get(name)!.data).toEqual(w.data);
    }
    // weights() hands out copies: writing to them leaves the model alone.
    back.get('wte.weight')!.data.fill(0);
    expect(model.weights().get('wte.weight')!.data).toEqual(weights.get('wte.weight')!.data);
    model.dispose();
  });

  it('refuses missing, misshapen and unexpected tensors, naming them', () => {
    const weights = randomWeights(TOY, 3);
    const without: NamedTensors = new Map(weights);
    without.delete('h.1.ln_2.bias');
    expect(() => Gpt.fromWeights(TOY, without)).toThrow(/missing h\.1\.ln_2\.bias/);
    const misshapen: NamedTensors = new Map(weights);
    misshapen.set('h.0.attn.c_attn.weight', { shape: [96, 32], data: new Float32Array(96 * 32) }); // [out, in]: not Conv1D
    expect(() => Gpt.fromWeights(TOY, misshapen)).toThrow(
      /h\.0\.attn\.c_attn\.weight has shape \[96,32\], expected \[32,96\]/,
    );
    const extra: NamedTensors = new Map(weights);
    extra.set('lm_head.weight', weights.get('wte.weight')!);
    expect(() => Gpt.fromWeights(TOY, extra)).toThrow(/unexpected lm_head\.weight/);
    const short: NamedTensors = new Map(weights);
    short.set('ln_f.bias', { shape: [32], data: new Float32Array(31) });
    expect(() => Gpt.fromWeights(TOY, short)).toThrow(/31 values/);
  });

  it('two models coexist (TensorFlow.js variable names are global) and dispose frees them', () => {
    causalMask(3); // cached for good on first use; made here so the count below sees only the models
    const before = tf.memory().numTensors;
    const a = Gpt.fromWeights(TOY, randomWeights(TOY, 1));
    const b = Gpt.fromWeights(TOY, randomWeights(TOY, 2));
    expect(tf.memory().numTensors - before).toBe(2 * parameterShapes(TOY).size);
    const ids = tf.tensor2d([[1, 2, 3]], [1, 3], 'int32');
    expect(maxAbsDiff(take(a.forward(ids)), take(b.forward(ids)))).toBeGreaterThan(0.1);
    ids.dispose();
    a.dispose();
    b.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('forward', () => {
  const model = Gpt.fromWeights(TOY, randomWeights(TOY, 4));
  const ids = randomTokens(new Rng(1), 2 * 12, TOY.vocabSize);
  const run = (options: Parameters<Gpt['forward']>[1] = {}) =>
    take(model.forward(tf.tensor2d(ids, [2, 12], 'int32'), options));

  it('gives (B, T, V) float32 logits and hidden (B, T, D), with forward = head(hidden)', () => {
    const input = tf.tensor2d(ids, [2, 12], 'int32');
    const logits = model.forward(input);
    const hidden = model.hidden(input);
    expect(logits.shape).toEqual([2, 12, TOY.vocabSize]);
    expect(logits.dtype).toBe('float32');
    expect(hidden.shape).toEqual([2, 12, TOY.nEmbd]);
    expect(maxAbsDiff(take(model.head(hidden)), take(logits))).toBe(0);
    tf.dispose([input, hidden]);
  });

  it('is causal: changing a later token leaves earlier logits unchanged', () => {
    const changed = [...ids];
    changed[8] = (changed[8]! + 1) % TOY.vocabSize;
    const a = run();
    const b = take(model.forward(tf.tensor2d(changed, [2, 12], 'int32')));
    const V = TOY.vocabSize;
    expect(maxAbsDiff(a.slice(0, 8 * V), b.slice(0, 8 * V))).toBe(0);
    expect(maxAbsDiff(a.slice(8 * V, 9 * V), b.slice(8 * V, 9 * V))).toBeGreaterThan(1e-3);
  });

  it('has dropout off by default: repeated calls are identical', () => {
    expect(run()).toEqual(run());
  });

  it('with training, applies dropout: different from eval, repeatable with its seed, different with another', () => {
    const evalOut = run();
    const a = run({ training: { dropoutSeed: 1 } });
    const a2 = run({ training: { dropoutSeed: 1 } });
    const b = run({ training: { dropoutSeed: 2 } });
    expect(a).toEqual(a2);
    expect(maxAbsDiff(a, evalOut)).toBeGreaterThan(1e-2);
    expect(maxAbsDiff(a, b)).toBeGreaterThan(1e-2);
  });

  it('with training but dropout 0 in the config, equals eval', () => {
    const noDropout = Gpt.fromWeights({ ...TOY, dropout: 0 }, model.weights());
    const input = tf.tensor2d(ids, [2, 12], 'int32');
    expect(take(noDropout.forward(input, { training: { dropoutSeed: 1 } }))).toEqual(run());
    input.dispose();
    noDropout.dispose();
  });

  it('refuses positions outside the context and a mask of the wrong width', () => {
    const input = tf.tensor2d(ids, [2, 12], 'int32');
    const positions = tf.fill([2, 12], TOY.nPositions, 'int32') as tf.Tensor2D;
    const mask = tf.ones([2, 11]) as tf.Tensor2D;
    expect(() => model.forward(input, { positions })).toThrow(/outside the context/);
    expect(() => model.forward(input, { attentionMask: mask })).toThrow(/attentionMask has shape/);
    tf.dispose([input, positions, mask]);
  });

  it('with a KV cache, step-by-step logits equal one full pass', () => {
    const full = run();
    const cache = new KvCache();
    const V = TOY.vocabSize;
    const steps: number[][] = [[], []];
    // 5 tokens at once, then one at a time.
    const chunks = [[0, 5], ...Array.from({ length: 7 }, (_, i) => [5 + i, 6 + i])] as [number, number][];
    for (const [from, to] of chunks) {
      const chunk = [0, 1].flatMap((b) => ids.slice(b * 12 + from, b * 12 + to));
      const logits = take(model.forward(tf.tensor2d(chunk, [2, to - from], 'int32'), { cache }));
      for (let b = 0; b < 2; b++) steps[b]!.push(...logits.slice(b * (to - from) * V, (b + 1) * (to - from) * V));
    }
    expect(cache.length).toBe(12);
    cache.dispose();
    expect(maxAbsDiff(steps.flat(), full)).toBeLessThan(1e-5);
  });
});
