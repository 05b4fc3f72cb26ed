/**
 * What the loss files share: input checks, sums over response tokens, the detached importance
 * weight clamped in log space, and one download for all of a loss's metrics.
 */
import * as tf from '@tensorflow/tfjs';
import type { LossResult } from './types';
import { formatRange, inRange } from '../../../shared/algorithms';

// TensorFlow.js has no stop_gradient op. This identity passes zeros back instead; the zeros are
// added to the gradient of any path that does carry one, so the detached path counts for nothing.
const zeroGradient = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const x = args[0] as tf.Tensor; // customGrad passes the op's tensors first, then a save function
  // A clone, not x: the engine records the value as this op's output, which must not be its input.
  return { value: tf.clone(x), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
});

/** sg[x]: x going forward, no gradient going back. */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  return zeroGradient(x) as T; // same shape and dtype as x; customGrad types its output as Tensor
}

function checkFloat32(loss: string, name: string, t: tf.Tensor): void {
  // ALOL.md wants float32 throughout. TF.js would cast a stray int32 or bool tensor per op without a
  // word; refusing it here gives a message that names the input.
  if (t.dtype !== 'float32') throw new TypeError(`${loss}: ${name} must be float32, got ${t.dtype}`);
}

/**
 * lp is (B, T) with B >= 1; every perToken tensor has lp's shape and every perItem tensor is (B).
 */
export function checkTokenInputs(
  loss: string,
  lp: tf.Tensor,
  perToken: Record<string, tf.Tensor>,
  perItem: Record<string, tf.Tensor> = {},
): void {
  checkFloat32(loss, 'lp', lp);
  if (lp.rank !== 2 || lp.shape[0] === 0)
    throw new Error(`${loss}: lp must be (B, T) with B >= 1, got [${lp.shape.join(', ')}]`);
  const [B, T] = lp.shape;
  for (const [name, t] of Object.entries(perToken)) {
    checkFloat32(loss, name, t);
    if (t.rank !== 2 || t.shape[0] !== B || t.shape[1] !== T) {
      throw new Error(`${loss}: ${name} must be (${B}, ${T}) like lp, got [${t.shape.join(', ')}]`);
    }
  }
  for (const [name, t] of Object.entries(perItem)) {
    checkFloat32(loss, name, t);
    if (t.rank !== 1 || t.shape[0] !== B)
      throw new Error(`${loss}: ${name} must be (${B}), got [${t.shape.join(', ')}]`);
  }
}

/** Every tensor is (B) with B >= 1, the same B. */
export function checkItemInputs(loss: string, perItem: Record<string, tf.Tensor>): void {
  let B: number | null = null;
  for (const [name, t] of Object.entries(perItem)) {
    checkFloat32(loss, name, t);
    if (t.rank !== 1 || t.shape[0] === 0 || (B !== null && t.shape[0] !== B)) {
      throw new Error(
        `${loss}: ${name} must be (B) with B >= 1 and the same B for all inputs, got [${t.shape.join(', ')}]`,
      );
    }
    B = t.shape[0]!;
  }
}

export function checkEps(loss: string, eps: number): void {
  // The table's range, [0, 1): eps >= 1 would put log(1 - eps) at -Infinity or NaN.
  if (!inRange('eps', eps)) throw new RangeError(`${loss}: eps must be ${formatRange('eps')}, got ${eps}`);
}

export function checkFinite(loss: string, name: string, value: number): void {
  if (!Number.isFinite(value)) throw new RangeError(`${loss}: ${name} must be a finite number, got ${value}`);
}

/** (B, T) x, (B, T) mask -> (B) sums over response tokens. */
export function responseSum(x: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor1D {
  return tf.sum<tf.Tensor1D>(tf.mul(x, mask), 1);
}

/** Mean of x over response tokens; a batch with no response token reads 0 rather than NaN. */
export function responseMean(x: tf.Tensor2D, mask: tf.Tensor2D): tf.Scalar {
  return tf.div<tf.Scalar>(tf.sum(tf.mul(x, mask)), tf.maximum(tf.sum(mask), 1));
}

export interface ClampedWeight<R extends tf.Rank> {
  /** exp(clamp(logRatio, log(1 - eps), log(1 + eps))), detached. */
  w: tf.Tensor<R>;
  /** 1 where the clamp raised the ratio to 1 - eps, else 0. */
  low: tf.Tensor<R>;
  /** 1 where the clamp lowered the ratio to 1 + eps, else 0. */
  high: tf.Tensor<R>;
}

/**
 * The importance weight, built in log space: exp of a sum of log-probs overflows float32 past 88
 * nats and a product of probabilities underflows, while the clamped log stays in [-2.31, 0.65]
 * for eps = 0.9. A plain clamp, not PPO's min: a clipped item keeps its gradient, scaled by the
 * bound.
 */
export function clampedWeight<R extends tf.Rank>(logRatio: tf.Tensor<R>, eps: number): ClampedWeight<R> {
  const lo = Math.log1p(-eps);
  const hi = Math.log1p(eps);
  const r = stopGradient(logRatio);
  return {
    w: tf.exp<tf.Tensor<R>>(tf.clipByValue(r, lo, hi)),
    low: tf.cast(tf.less<tf.Tensor<R>>(r, lo), 'float32'),
    high: tf.cast(tf.greater<tf.Tensor<R>>(r, hi), 'float32'),
  };
}

/** A+ = max(A, 0), detached. */
export function positivePart(advantage: tf.Tensor1D): tf.Tensor1D {
  return tf.relu(stopGradient(advantage));
}

/** The batch-level advantage metrics every A-LoL variant reports. */
export function advantageMetrics(advantage: tf.Tensor1D): Record<string, tf.Tensor> {
  const a = stopGradient(advantage);
  return {
    'alol/positive_fraction': tf.mean(tf.cast(tf.greater(a, 0), 'float32')),
    'alol/advantage_mean': tf.mean(a),
  };
}

export interface Scored {
  loss: tf.Scalar;
  /** Scalar tensors (read here) or numbers already known, such as a weight fixed at 1. */
  metrics: Record<string, tf.Tensor | number>;
}

/**
 * Runs a loss inside tf.tidy, keeps only the loss tensor and reads every metric in one dataSync of
 * a small vector: one device sync per call however many metrics there are.
 */
export function withMetrics(build: () => Scored): LossResult {
  let metrics: Record<string, number> = {};
  const loss = tf.tidy(() => {
    const out = build();
    const entries = Object.entries(out.metrics);
    const tensors = entries.flatMap(([name, v]) => (typeof v === 'number' ? [] : [{ name, t: v }]));
    const values = tf.stack([out.loss, ...tensors.map(({ t }) => t)].map((t) => tf.reshape(t, []))).dataSync();
    const read = new Map(tensors.map(({ name }, i) => [name, values[i + 1]!]));
    metrics = { loss: values[0]! };
    for (const [name, v] of entries) metrics[name] = typeof v === 'number' ? v : read.get(name)!;
    return out.loss;
  });
  return { loss, metrics };
}
