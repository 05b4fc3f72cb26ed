/**
 * Rotary embeddings by hand: HF's rotate-half layout on a worked example, and the inverse
 * frequencies of rope_scaling "linear" and "llama3" against values worked out from
 * modeling_rope_utils.py's formulas (the arithmetic is written out beside each).
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyRotary, inverseFrequencies, rotaryTables, rotateHalf, rmsNorm } from '../../../src/main/lm/llama';
import { maxAbsDiff, take, useWasm } from '../model/helpers';

beforeAll(useWasm);

describe('rotate-half RoPE', () => {
  it('rotateHalf([1, 2, 3, 4]) = [-3, -4, 1, 2]', () => {
    expect(take(rotateHalf(tf.tensor1d([1, 2, 3, 4])))).toEqual([-3, -4, 1, 2]);
  });

  it('rotates pairs (i, i + hd/2) by position * inv_freq[i]: x = [1, 2, 3, 4] at position 1, rope_theta 100', () => {
    // head_dim 4: inv_freq = [1/100^0, 1/100^(2/4)] = [1, 0.1]; angles [1, 0.1] for both halves.
    const invFreq = inverseFrequencies({ headDim: 4, ropeTheta: 100, ropeScaling: null });
    expect(Array.from(invFreq)).toEqual([1, Math.fround(0.1)]);
    const { cos, sin } = rotaryTables(invFreq, [1]);
    expect(maxAbsDiff(cos, [Math.cos(1), Math.cos(0.1), Math.cos(1), Math.cos(0.1)])).toBeLessThan(1e-7);
    const got = take(applyRotary(tf.tensor1d([1, 2, 3, 4]), tf.tensor1d(cos), tf.tensor1d(sin)));
    // [1 cos 1 - 3 sin 1, 2 cos .1 - 4 sin .1, 3 cos 1 + 1 sin 1, 4 cos .1 + 2 sin .1]
    const want = [-1.9841106485555495, 1.590674663968739, 2.4623779024123156, 4.17968349440576];
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-6);
    // Position 0 is the identity.
    const zero = rotaryTables(invFreq, [0]);
    expect(take(applyRotary(tf.tensor1d([1, 2, 3, 4]), tf.tensor1d(zero.cos), tf.tensor1d(zero.sin)))).toEqual([
      1, 2, 3, 4,
    ]);
  });

  it('tables repeat the half-size frequencies for both halves, row by position', () => {
    const invFreq = Float32Array.from([0.5, 0.25]);
    const { cos, sin } = rotaryTables(invFreq, [0, 3]);
    expect(Array.from(cos.subarray(0, 4))).toEqual([1, 1, 1, 1]);
    expect(maxAbsDiff(sin.subarray(4), [Math.sin(1.5), Math.sin(0.75), Math.sin(1.5), Math.sin(0.75)])).toBeLessThan(
      1e-7,
    );
  });
});

describe('inverse frequencies', () => {
  it('default: 1 / theta^(2i / head_dim)', () => {
    const got = inverseFrequencies({ headDim: 8, ropeTheta: 10000, ropeScaling: null });
    // float32, as transformers keeps inv_freq: relative 1e-7.
    [1, 0.1, 0.01, 0.001].forEach((want, i) => expect(Math.abs(got[i]! - want) / want).toBeLessThan(1e-7));
  });

  it('linear: divided by factor', () => {
    const got = inverseFrequencies({ headDim: 8, ropeTheta: 10000, ropeScaling: { type: 'linear', factor: 4 } });
    [0.25, 0.025, 0.0025, 0.00025].forEach((want, i) => expect(Math.abs(got[i]! - want) / want).toBeLessThan(1e-7));
  });

  it('llama3, tiny: each band (kept, smoothed, divided)', () => {
    // theta 100, head_dim 8: inv_freq [1, 0.3162278, 0.1, 0.0316228], wavelengths 2 pi / f = [6.28, 19.87, 62.83, 198.7].
    // original 32: high_freq_wavelen 32 / 4 = 8, low_freq_wavelen 32 / 1 = 32.
    // 6.28 < 8: kept, 1. 62.83 and 198.7 > 32: / 8 = 0.0125, 0.0039528.
    // 19.87 between: s = (32 / 19.87 - 1) / (4 - 1) = 0.203513; (1 - s) 0.3162278 / 8 + s 0.3162278 = 0.0958400.
    const got = inverseFrequencies({
      headDim: 8,
      ropeTheta: 100,
      ropeScaling: {
        type: 'llama3',
        factor: 8,
        lowFreqFactor: 1,
        highFreqFactor: 4,
        originalMaxPositionEmbeddings: 32,
      },
    });
    const want = [1, 0.09583998588296266, 0.0125, 0.003952847075210474];
    for (let i = 0; i < 4; i++) expect(Math.abs(got[i]! - want[i]!) / want[i]!, `inv_freq[${i}]`).toBeLessThan(1e-6);
  });

  it("llama3 at Llama 3.1's settings (theta 500000, head_dim 128, factor 8, low 1, high 4, original 8192)", () => {
    const got = inverseFrequencies({
      headDim: 128,
      ropeTheta: 500000,
      ropeScaling: {
        type: 'llama3',
        factor: 8,
        lowFreqFactor: 1,
        highFreqFactor: 4,
        originalMaxPositionEmbeddings: 8192,
      },
    });
    // i = 20: f = 500000^(-40/128) = 0.01656044, wavelength 379.4 < 2048: kept.
    // i = 30: f = 0.00213112, wavelength 2948.3 in [2048, 8192]: s = (8192 / 2948.3 - 1) / 3 = 0.592856,
    //         (1 - s) f / 8 + s f = 0.00137189.
    // i = 40: f = 0.000274248, wavelength 22910.6 > 8192: f / 8 = 3.428102e-05.
    const want: [number, number][] = [
      [0, 1],
      [20, 0.016560440080994446],
      [30, 0.0013718935677611381],
      [40, 3.428102195952591e-5],
      [63, 3.068925988914511e-7],
    ];
    for (const [i, value] of want) expect(Math.abs(got[i]! - value) / value, `inv_freq[${i}]`).toBeLessThan(1e-6);
  });
});

describe('rmsNorm', () => {
  it('weight * x / sqrt(mean(x^2) + eps), and its gradient matches a finite difference', () => {
    const x = tf.tensor2d([[1, 2, 3, -4]]);
    const w = tf.tensor1d([2, 1, 0.5, -1]);
    const got = take(rmsNorm(x, w, 1e-2));
    const rms = Math.sqrt((1 + 4 + 9 + 16) / 4 + 1e-2);
    expect(maxAbsDiff(got, [2 / rms, 2 / rms, 1.5 / rms, 4 / rms])).toBeLessThan(2e-6);
    // d/dx of sum(rmsNorm(x) * c) against central differences in float64-by-hand.
    const c = [0.3, -0.7, 1.1, 0.2];
    const f = (v: number[]) => {
      const r = Math.sqrt(v.reduce((s, a) => s + a * a, 0) / 4 + 1e-2);
      return v.reduce((s, a, i) => s + ((w.arraySync() as number[])[i]! * a * c[i]!) / r, 0);
    };
    const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(rmsNorm(xx as tf.Tensor2D, w, 1e-2), tf.tensor2d([c]))))(x);
    const base = [1, 2, 3, -4];
    const numeric = base.map((_, i) => {
      const up = [...base];
      const down = [...base];
      up[i]! += 1e-5;
      down[i]! -= 1e-5;
      return (f(up) - f(down)) / 2e-5;
    });
    expect(maxAbsDiff(take(g), numeric)).toBeLessThan(1e-5);
    tf.dispose([x, w]);
  });
});
