/**
 * Every custom gradient in ops.ts against central finite differences (float32, small tensors) on
 * wasm and cpu, and against the stock TensorFlow.js op's gradient on cpu (where the stock ops
 * have their gradients). Values are checked against the stock ops too.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  bmm,
  causalMask,
  gelu,
  layerNorm,
  linear,
  MASKED,
  matMul,
  pickColumns,
  putRows,
  takeRows,
  tiedHead,
} from '../../../src/main/lm/ops';
import { Rng } from '../../../src/main/core/rng';
import { maxAbsDiff, onBackend, take, useWasm } from './helpers';

beforeAll(useWasm);

type Inputs = { shape: number[]; data: Float32Array }[];
type Fn = (...xs: tf.Tensor[]) => tf.Tensor;

function randomInputs(seed: number, shapes: number[][], scale = 1): Inputs {
  const rng = new Rng(seed);
  return shapes.map((shape) => ({
    shape,
    data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal() * scale),
  }));
}

/**
 * The loss is sum(f(x) * R) with a fixed random R, so every output element's gradient counts.
 * Returns the analytic gradient of each input.
 */
function analytic(f: Fn, inputs: Inputs, seed = 99): number[][] {
  return tf.tidy(() => {
    const xs = inputs.map((x) => tf.tensor(x.data, x.shape));
    const probe = f(...xs);
    const r = tf.tensor(randomInputs(seed, [probe.shape])[0]!.data, probe.shape);
    const grads = tf.grads((...ys: tf.Tensor[]) => tf.sum(tf.mul(f(...ys), r)))(xs);
    return grads.map((g) => Array.from(g.dataSync()));
  });
}

function lossAt(f: Fn, inputs: Inputs, seed: number): number {
  return tf.tidy(() => {
    const xs = inputs.map((x) => tf.tensor(x.data, x.shape));
    const y = f(...xs);
    const r = tf.tensor(randomInputs(seed, [y.shape])[0]!.data, y.shape);
    return tf.sum(tf.mul(y, r)).dataSync()[0]!;
  });
}

/** Central differences, one element at a time. */
function numeric(f: Fn, inputs: Inputs, h: number, seed = 99): number[][] {
  return inputs.map((input, k) =>
    Array.from(input.data, (_, i) => {
      const at = (delta: number) => {
        const moved = inputs.map((x, j) =>
          j === k ? { shape: x.shape, data: Float32Array.from(x.data, (v, m) => (m === i ? v + delta : v)) } : x,
        );
        return lossAt(f, moved, seed);
      };
      return (at(h) - at(-h)) / (2 * h);
    }),
  );
}

/** |a - b| / |b| over the whole gradient, with a floor for the all-but-zero case. */
function relativeError(a: number[], b: number[]): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-6);
}

function expectGradientsMatchFiniteDifferences(f: Fn, inputs: Inputs, h = 1e-2): void {
  const a = analytic(f, inputs);
  const n = numeric(f, inputs, h);
  a.forEach((g, k) => {
    expect(
      g.some((v) => v !== 0),
      `input ${k} has an all-zero gradient`,
    ).toBe(true);
    expect(relativeError(g, n[k]!), `input ${k}`).toBeLessThan(1e-2);
  });
}

function expectSameAsStock(custom: Fn, stock: Fn, inputs: Inputs): void {
  const values = tf.tidy(() => {
    const xs = inputs.map((x) => tf.tensor(x.data, x.shape));
    return [Array.from(custom(...xs).dataSync()), Array.from(stock(...xs).dataSync())];
  });
  expect(maxAbsDiff(values[0]!, values[1]!)).toBeLessThan(1e-4);
  const a = analytic(custom, inputs);
  const b = analytic(stock, inputs);
  a.forEach((g, k) => expect(relativeError(g, b[k]!), `input ${k}`).toBeLessThan(1e-5));
}

interface Case {
  name: string;
  custom: Fn;
  stock: Fn;
  shapes: number[][];
  /** Positive inputs where the function is only defined there, etc. */
  scale?: number;
}

const rows = Int32Array.from([2, 0, 2, 4, 1]); // a repeat: its gradients must add up
const cases: Case[] = [
  {
    name: 'matMul',
    custom: (a, b) => matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    stock: (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    shapes: [
      [3, 4],
      [4, 5],
    ],
  },
  {
    name: 'matMul with a wide right operand (the other weight-gradient branch)',
    custom: (a, b) => matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    stock: (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    shapes: [
      [3, 6],
      [6, 2],
    ],
  },
  {
    name: 'linear (Conv1D)',
    custom: (x, w, b) => linear(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D),
    stock: (x, w, b) => tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b!),
    shapes: [[4, 3], [3, 5], [5]],
  },
  {
    name: 'tiedHead',
    custom: (h, w) => tiedHead(h as tf.Tensor2D, w as tf.Tensor2D),
    stock: (h, w) => tf.matMul(h as tf.Tensor2D, w as tf.Tensor2D, false, true),
    shapes: [
      [4, 3],
      [7, 3],
    ],
  },
  ...(['depthwise', 'matMul'] as const).flatMap((method) =>
    [
      [false, false],
      [false, true],
      [true, false],
      [true, true],
    ].map(([ta, tb]) => {
      const [m, k, p] = [3, 4, 2];
      return {
        name: `bmm via ${method}, transposeA=${ta} transposeB=${tb}`,
        custom: (a: tf.Tensor, b: tf.Tensor) => bmm(a as tf.Tensor3D, b as tf.Tensor3D, ta, tb, method),
        stock: (a: tf.Tensor, b: tf.Tensor) => tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D, ta, tb),
        shapes: [ta ? [2, k, m] : [2, m, k], tb ? [2, p, k] : [2, k, p]],
      } satisfies Case;
    }),
  ),
  ...(['js', 'gather'] as const).map((method): Case => ({
    name: `takeRows via ${method}`,
    custom: (t) => takeRows(t as tf.Tensor2D, rows, method),
    stock: (t) => tf.gather(t!, tf.tensor1d(rows, 'int32')),
    shapes: [[5, 3]],
  })),
  {
    name: 'putRows',
    custom: (v) => putRows(v as tf.Tensor2D, rows, 6),
    // The same scatter as a product with a one-hot (6, 5) matrix.
    stock: (v) => tf.matMul(tf.transpose(tf.oneHot(tf.tensor1d(rows, 'int32'), 6).toFloat()), v as tf.Tensor2D),
    shapes: [[5, 3]],
  },
  {
    name: 'pickColumns',
    custom: (x) => pickColumns(x as tf.Tensor2D, Int32Array.from([1, 0, 3, 3])),
    stock: (x) => tf.sum(tf.mul(x!, tf.oneHot(tf.tensor1d([1, 0, 3, 3], 'int32'), 4).toFloat()), 1),
    shapes: [[4, 4]],
  },
  {
    name: 'gelu',
    custom: (x) => gelu(x!),
    stock: (x) =>
      tf.mul(
        tf.mul(x!, 0.5),
        tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x!, tf.mul(0.044715, tf.pow(x!, 3)))))),
      ),
    shapes: [[3, 5]],
    scale: 2,
  },
  {
    name: 'layerNorm',
    custom: (x, w, b) => layerNorm(x as tf.Tensor2D, w as tf.Tensor1D, b as tf.Tensor1D, 1e-5),
    stock: (x, w, b) => {
      const { mean, variance } = tf.moments(x!, -1, true);
      return tf.add(tf.mul(tf.div(tf.sub(x!, mean), tf.sqrt(tf.add(variance, 1e-5))), w!), b!);
    },
    shapes: [[3, 6], [6], [6]],
  },
];

describe('custom gradients', () => {
  for (const c of cases) {
    for (const backend of ['wasm', 'cpu'] as const) {
      it(`${c.name}: central finite differences on ${backend}`, async () => {
        await onBackend(backend, () =>
          expectGradientsMatchFiniteDifferences(c.custom, randomInputs(1, c.shapes, c.scale)),
        );
      });
    }
    it(`${c.name}: values and gradients equal the stock op's on cpu`, async () => {
      await onBackend('cpu', () => expectSameAsStock(c.custom, c.stock, randomInputs(2, c.shapes, c.scale)));
    });
  }

  it('the finite-difference check fails a wrong gradient (it is not vacuous)', async () => {
    const wrong = tf.customGrad((x, save) => {
      (save as tf.GradSaveFunc)([x as tf.Tensor]);
      return { value: tf.square(x as tf.Tensor), gradFunc: (dy, [s]) => tf.mul(dy, tf.mul(s!, 1.9)) }; // should be 2x
    });
    await onBackend('wasm', () => {
      expect(() => expectGradientsMatchFiniteDifferences((x) => wrong(x!), randomInputs(3, [[2, 3]]))).toThrow();
    });
  });

  it('bmm at attention-like sizes agrees between depthwise and matMul on wasm', async () => {
    await onBackend('wasm', () => {
      const [a, b] = randomInputs(4, [
        [8, 16, 8],
        [8, 20, 8],
      ]).map((x) => tf.tensor3d(x.data, x.shape as [number, number, number]));
      const viaDepthwise = take(bmm(a!, b!, false, true, 'depthwise'));
      const viaMatMul = take(bmm(a!, b!, false, true, 'matMul'));
      tf.dispose([a!, b!]);
      expect(maxAbsDiff(viaDepthwise, viaMatMul)).toBeLessThan(1e-4);
    });
  });

  it('takeRows and putRows reject indices outside the table', async () => {
    await onBackend('wasm', () => {
      tf.tidy(() => {
        expect(() => takeRows(tf.zeros([3, 2]) as tf.Tensor2D, Int32Array.from([3]))).toThrow(/out of range/);
        expect(() => putRows(tf.zeros([1, 2]) as tf.Tensor2D, Int32Array.from([-1]), 3)).toThrow(/out of range/);
      });
    });
  });
});

describe('causalMask', () => {
  it('lets query i see keys 0..past+i, and is built once per size', async () => {
    await onBackend('wasm', () => {
      const mask = causalMask(3, 2);
      expect(mask.shape).toEqual([3, 5]);
      const m = MASKED;
      expect(Array.from(mask.dataSync())).toEqual([0, 0, 0, m, m, 0, 0, 0, 0, m, 0, 0, 0, 0, 0]);
      expect(causalMask(3, 2)).toBe(mask);
      // tf.tidy must not free the cached mask.
      tf.tidy(() => tf.add(causalMask(3, 2), 1));
      expect(mask.isDisposed).toBe(false);
    });
  });
});
