/**
 * Shared by the loss tests: backends, one fixed batch whose expected values are worked out by hand
 * in each test, and tolerant comparisons for float32 results.
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { initTensorBackend } from '../../../src/main/lm/tensorBackend';

export const BACKENDS = ['wasm', 'cpu'] as const;

export async function useBackend(name: (typeof BACKENDS)[number]): Promise<void> {
  await initTensorBackend({ name: 'wasm', by: 'test' });
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} did not start`);
}

/**
 * Four responses, T = 4. Row 1 has a prompt position first (lp 0, mask 0), as tokenLogprobs gives.
 *
 *   l      = sum_t lp    = [-1.75, -4.5, -2.6, -0.6]
 *   l_ref  = sum_t lpRef = [-2.0,  -1.0, -4.0, -0.2]
 *   l - l_ref            = [0.25,  -3.5,  1.4, -0.4]
 *   with eps = 0.9 (bounds ln 0.1 = -2.303, ln 1.9 = 0.642): inside, clipped low, clipped high, inside
 *   advantage            = [0.5,   0.8,   1.5, -0.7]   (item 3 must contribute nothing)
 *   reward               = [0.9,   0.2,   0.6,  0]
 */
export const LP = [
  [-0.5, -1.0, -0.25, 0],
  [0, -3.0, -1.5, 0],
  [-0.3, -0.7, -1.2, -0.4],
  [-0.2, -0.4, 0, 0],
];
export const MASK = [
  [1, 1, 1, 0],
  [0, 1, 1, 0],
  [1, 1, 1, 1],
  [1, 1, 0, 0],
];
export const LP_REF = [
  [-0.6, -0.9, -0.5, 0],
  [0, -0.4, -0.6, 0],
  [-1.0, -1.5, -0.5, -1.0],
  [-0.1, -0.1, 0, 0],
];
export const ADVANTAGE = [0.5, 0.8, 1.5, -0.7];
export const REWARD = [0.9, 0.2, 0.6, 0];

export interface Batch {
  lp: tf.Tensor2D;
  mask: tf.Tensor2D;
  lpRef: tf.Tensor2D;
  advantage: tf.Tensor1D;
  reward: tf.Tensor1D;
}

/** The fixture as float32 tensors; call inside tf.tidy (or dispose them). */
export function batch(over: Partial<Record<keyof Batch, number[][] | number[]>> = {}): Batch {
  const lp = (over.lp ?? LP) as number[][];
  return {
    lp: tf.tensor2d(lp),
    mask: tf.tensor2d((over.mask ?? MASK) as number[][]),
    lpRef: tf.tensor2d((over.lpRef ?? LP_REF) as number[][]),
    advantage: tf.tensor1d((over.advantage ?? ADVANTAGE) as number[]),
    reward: tf.tensor1d((over.reward ?? REWARD) as number[]),
  };
}

/** Runs a test body inside tf.tidy so every tensor it makes is freed, pass or fail. */
export function tidy(body: () => void): void {
  tf.tidy(() => {
    body();
  });
}

export function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

/** d loss / d lp as a flat row-major array, with lp replaced by the differentiated input. */
export function gradLp(lp: tf.Tensor2D, loss: (lp: tf.Tensor2D) => tf.Scalar): number[] {
  const g = tf.grad((x: tf.Tensor) => loss(x as tf.Tensor2D))(lp); // tf.grad types its input as Tensor
  expect(g.dtype).toBe('float32');
  return values(g);
}

/** |actual - expected| <= tol * max(1, |expected|) elementwise: float32 has ~7 significant digits. */
export function expectNear(actual: number | number[], expected: number | number[], tol = 2e-6): void {
  const a = Array.isArray(actual) ? actual : [actual];
  const e = Array.isArray(expected) ? expected : [expected];
  expect(a.length, 'length').toBe(e.length);
  a.forEach((x, i) => {
    const bound = tol * Math.max(1, Math.abs(e[i]!));
    if (!(Math.abs(x - e[i]!) <= bound))
      expect.fail(
        `element ${i}: got ${x}, expected ${e[i]} (tolerance ${bound})\n got ${a.join(', ')}\nwant ${e.join(', ')}`,
      );
  });
}

/** The (B, T) gradient a loss gives when every response token of row b gets g[b]. */
export function perRow(g: number[], mask: number[][] = MASK): number[] {
  return mask.flatMap((row, b) => row.map((m) => (m === 1 ? g[b]! : 0)));
}
