/**
 * Exactness: the model against a plain float64 GPT-2 forward written here from the equations
 * (loops over arrays, nothing shared with model.ts or ops.ts), on the wasm and the cpu backends.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { GptConfig, NamedTensors } from '../../../src/main/lm/config';
import { Gpt } from '../../../src/main/lm/model';
import { gelu, layerNorm } from '../../../src/main/lm/ops';
import { Rng } from '../../../src/main/core/rng';
import { maxAbsDiff, onBackend, randomTokens, randomWeights, take, TOY, useWasm } from './helpers';

type Matrix = number[][];

/** Reference GPT-2 (GPT2LMHeadModel) forward for one sequence, float64. Returns logits (T, V). */
function referenceLogits(c: GptConfig, weights: NamedTensors, ids: number[], positions = ids.map((_, i) => i)): Matrix {
  const W = (name: string): Float64Array => {
    const w = weights.get(name);
    if (!w) throw new Error(`no ${name}`);
    return Float64Array.from(w.data);
  };
  const D = c.nEmbd;
  const H = c.nHead;
  const hs = D / H;
  const T = ids.length;

  // rows (T, n) @ w (n, m) stored row-major [in, out], plus bias
  const affine = (x: Matrix, w: Float64Array, b: Float64Array, m: number): Matrix =>
    x.map((row) => {
      const out = Array.from(b);
      for (let i = 0; i < row.length; i++) for (let j = 0; j < m; j++) out[j]! += row[i]! * w[i * m + j]!;
      return out;
    });
  const norm = (x: Matrix, g: Float64Array, b: Float64Array): Matrix =>
    x.map((row) => {
      const mean = row.reduce((s, v) => s + v, 0) / row.length;
      const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / row.length;
      return row.map((v, i) => ((v - mean) / Math.sqrt(variance + c.layerNormEpsilon)) * g[i]! + b[i]!);
    });
  const geluNew = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));

  const wte = W('wte.weight');
  const wpe = W('wpe.weight');
  let x: Matrix = ids.map((id, t) =>
    Array.from({ length: D }, (_, d) => wte[id * D + d]! + wpe[positions[t]! * D + d]!),
  );

  for (let l = 0; l < c.nLayer; l++) {
    const p = `h.${l}`;
    const a = norm(x, W(`${p}.ln_1.weight`), W(`${p}.ln_1.bias`));
    const qkv = affine(a, W(`${p}.attn.c_attn.weight`), W(`${p}.attn.c_attn.bias`), 3 * D);
    const y: Matrix = Array.from({ length: T }, () => new Array<number>(D).fill(0));
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < T; i++) {
        const scores: number[] = [];
        for (let j = 0; j <= i; j++) {
          let s = 0;
          for (let e = 0; e < hs; e++) s += qkv[i]![h * hs + e]! * qkv[j]![D + h * hs + e]!;
          scores.push(s / Math.sqrt(hs));
        }
        const max = Math.max(...scores);
        const exps = scores.map((s) => Math.exp(s - max));
        const sum = exps.reduce((s, v) => s + v, 0);
        for (let j = 0; j <= i; j++) {
          for (let e = 0; e < hs; e++) y[i]![h * hs + e]! += (exps[j]! / sum) * qkv[j]![2 * D + h * hs + e]!;
        }
      }
    }
    const attnOut = affine(y, W(`${p}.attn.c_proj.weight`), W(`${p}.attn.c_proj.bias`), D);
    x = x.map((row, t) => row.map((v, d) => v + attnOut[t]![d]!));
    const m = norm(x, W(`${p}.ln_2.weight`), W(`${p}.ln_2.bias`));
    const f = affine(m, W(`${p}.mlp.c_fc.weight`), W(`${p}.mlp.c_fc.bias`), 4 * D).map((row) => row.map(geluNew));
    const mlpOut = affine(f, W(`${p}.mlp.c_proj.weight`), W(`${p}.mlp.c_proj.bias`), D);
    x = x.map((row, t) => row.map((v, d) => v + mlpOut[t]![d]!));
  }
  x = norm(x, W('ln_f.weight'), W('ln_f.bias'));
  return x.map((row) =>
    Array.from({ length: c.vocabSize }, (_, v) => {
      let s = 0;
      for (let d = 0; d < D; d++) s += row[d]! * wte[v * D + d]!;
      return s;
    }),
  );
}

// A larger epsilon than GPT-2's 1e-5, so that forgetting it (or putting it outside the sqrt) shows.
const CONFIG: GptConfig = { ...TOY, layerNormEpsilon: 1e-3 };

beforeAll(useWasm);

describe('the forward pass equals a float64 GPT-2 written from the equations', () => {
  const weights = randomWeights(CONFIG, 11);
  const rng = new Rng(5);
  const sequences = [0, 1, 2].map(() => randomTokens(rng, 16, CONFIG.vocabSize));
  const expected = sequences.map((ids) => referenceLogits(CONFIG, weights, ids).flat());

  for (const backend of ['wasm', 'cpu'] as const) {
    // 3 x 16 rows > d = 32 slices the c_attn weight into q, k, v; 2 x 16 = 32 rows split the activations.
    for (const count of [3, 2]) {
      it(`on ${backend}: logits of a batch of ${count} full-context sequences to 1e-4`, async () => {
        await onBackend(backend, () => {
          const model = Gpt.fromWeights(CONFIG, weights);
          const logits = take(model.forward(tf.tensor2d(sequences.slice(0, count).flat(), [count, 16], 'int32')));
          model.dispose();
          const V = CONFIG.vocabSize;
          // The reference's logits are O(1), so an absolute 1e-4 is a tight test.
          expect(Math.max(...expected.flat().map(Math.abs))).toBeGreaterThan(1);
          for (let b = 0; b < count; b++)
            expect(maxAbsDiff(logits.slice(b * 16 * V, (b + 1) * 16 * V), expected[b]!)).toBeLessThan(1e-4);
        });
      });
    }

    it(`on ${backend}: a left-padded row with shifted positions equals the sequence alone`, async () => {
      await onBackend(backend, () => {
        const model = Gpt.fromWeights(CONFIG, weights);
        const ids = sequences[0]!.slice(0, 10);
        const pad = 6;
        const logits = take(
          model.forward(tf.tensor2d([...new Array<number>(pad).fill(3), ...ids], [1, 16], 'int32'), {
            attentionMask: tf.tensor2d([...new Array<number>(pad).fill(0), ...new Array<number>(10).fill(1)], [1, 16]),
            positions: tf.tensor2d([...new Array<number>(pad).fill(0), ...ids.map((_, i) => i)], [1, 16], 'int32'),
          }),
        );
        model.dispose();
        const V = CONFIG.vocabSize;
        expect(maxAbsDiff(logits.slice(pad * V), referenceLogits(CONFIG, weights, ids).flat())).toBeLessThan(1e-4);
      });
    });
  }

  it('the reference is sensitive: GELU with erf instead of tanh, or no epsilon, would miss 1e-4', () => {
    // Guards the guard: the two natural mistakes change the reference's logits by more than the tolerance.
    const ids = sequences[0]!;
    const base = referenceLogits(CONFIG, weights, ids).flat();
    const noEps = referenceLogits({ ...CONFIG, layerNormEpsilon: 0 }, weights, ids).flat();
    expect(maxAbsDiff(base, noEps)).toBeGreaterThan(1e-3);
    const shifted = referenceLogits(
      CONFIG,
      weights,
      ids,
      ids.map((_, i) => Math.min(i + 1, 15)),
    ).flat();
    expect(maxAbsDiff(base, shifted)).toBeGreaterThan(1e-2);
  });
});

describe('single kernels against hand-computed numbers', () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    it(`on ${backend}: gelu_new (tanh approximation)`, async () => {
      await onBackend(backend, () => {
        const got = take(gelu(tf.tensor1d([1, -1, 2, 0.5, -3])));
        // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), by hand in float64.
        const want = [
          0.8411919906082768, -0.15880800939172324, 1.954597694087775, 0.34571400982514394, -0.0036373920817729943,
        ];
        expect(maxAbsDiff(got, want)).toBeLessThan(2e-6);
        // The erf GELU gives 0.8413447 at 1: far outside the tolerance above.
        expect(Math.abs(got[0]! - 0.8413447460685429)).toBeGreaterThan(1e-4);
      });
    });

    it(`on ${backend}: layer norm with biased variance and eps inside the sqrt`, async () => {
      await onBackend(backend, () => {
        const got = take(
          layerNorm(tf.tensor2d([[1, 2, 3, 4]]), tf.tensor1d([2, 1, 0.5, -1]), tf.tensor1d([0, 0.1, 0, 1]), 1e-5),
        );
        // mean 2.5, biased variance 1.25: (x - 2.5) / sqrt(1.25 + 1e-5) * w + b
        const want = [-2.6832708399378538, -0.347211806656309, 0.2236059033281545, -0.3416354199689269];
        expect(maxAbsDiff(got, want)).toBeLessThan(2e-6);
      });
    });
  }
});
