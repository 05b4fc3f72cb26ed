/**
 * Test fixtures for the training code: a tiny stand-in model (a two-layer MLP over tf.Variables,
 * with dropout) so optimizer and trainer tests need nothing but parameters and a loss, and a
 * plain-JS AdamW written from PyTorch's formula in float64, as the oracle.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../../src/main/core/rng';

export interface MlpBatch {
  x: number[][];
  y: number[];
  /** Seed of this micro-batch's dropout mask; absent means no dropout. */
  dropoutSeed?: number;
}

/** y = fc2(dropout(tanh(fc1(x)))), named like GPT-2's layers so the decay predicate applies. */
export class TinyMlp {
  readonly params: Map<string, tf.Variable>;

  constructor(
    rng: Rng,
    readonly dims: { input: number; hidden: number } = { input: 4, hidden: 8 },
    readonly dropout = 0,
  ) {
    const normal = (shape: number[], scale: number) =>
      tf.variable(
        tf.tensor(
          Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal() * scale),
          shape,
        ),
        true,
      );
    const { input, hidden } = dims;
    this.params = new Map([
      ['mlp.c_fc.weight', normal([input, hidden], 0.5)],
      ['mlp.c_fc.bias', normal([hidden], 0.1)],
      ['mlp.c_proj.weight', normal([hidden, 1], 0.5)],
      ['mlp.c_proj.bias', normal([1], 0.1)],
    ]);
  }

  private p(name: string): tf.Variable {
    return this.params.get(name)!;
  }

  predict(x: tf.Tensor2D, dropoutSeed?: number): tf.Tensor1D {
    return tf.tidy(() => {
      let h = tf.tanh(tf.add(tf.matMul(x, this.p('mlp.c_fc.weight')), this.p('mlp.c_fc.bias')));
      if (this.dropout > 0 && dropoutSeed !== undefined) h = tf.dropout(h, this.dropout, undefined, dropoutSeed);
      return tf.reshape(tf.add(tf.matMul(h, this.p('mlp.c_proj.weight')), this.p('mlp.c_proj.bias')), [-1]);
    });
  }

  /** Mean squared error over the batch, with the mean prediction as a metric. */
  loss(batch: MlpBatch): { loss: tf.Scalar; metrics: Record<string, tf.Scalar> } {
    const pred = this.predict(tf.tensor2d(batch.x), batch.dropoutSeed);
    return { loss: tf.mean(tf.square(tf.sub(pred, tf.tensor1d(batch.y)))), metrics: { 'pred/mean': tf.mean(pred) } };
  }

  snapshot(): Map<string, Float32Array> {
    return new Map([...this.params].map(([k, v]) => [k, new Float32Array(v.dataSync())]));
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
  }
}

/** A regression batch: y = sum(x) * 0.5 + noise. */
export function makeBatch(rng: Rng, n: number, input = 4): MlpBatch {
  const x = Array.from({ length: n }, () => Array.from({ length: input }, () => rng.normal()));
  return { x, y: x.map((row) => row.reduce((a, b) => a + b, 0) * 0.5 + 0.1 * rng.normal()) };
}

/** torch.optim.AdamW's update in float64 over plain arrays: the reference the tf version must match. */
export class ReferenceAdamW {
  private readonly m: number[];
  private readonly v: number[];
  private t = 0;

  constructor(
    readonly p: number[],
    readonly cfg: { beta1: number; beta2: number; eps: number; weightDecay: number; decay: boolean },
  ) {
    this.m = p.map(() => 0);
    this.v = p.map(() => 0);
  }

  step(g: readonly number[], lr: number): number[] {
    const { beta1, beta2, eps, weightDecay, decay } = this.cfg;
    this.t += 1;
    const bc1 = 1 - beta1 ** this.t;
    const bc2 = 1 - beta2 ** this.t;
    for (let i = 0; i < this.p.length; i++) {
      if (decay) this.p[i]! *= 1 - lr * weightDecay;
      this.m[i] = beta1 * this.m[i]! + (1 - beta1) * g[i]!;
      this.v[i] = beta2 * this.v[i]! + (1 - beta2) * g[i]! * g[i]!;
      const denom = Math.sqrt(this.v[i]!) / Math.sqrt(bc2) + eps;
      this.p[i]! -= (lr / bc1) * (this.m[i]! / denom);
    }
    return this.p;
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}
