/**
 * One optimizer step over a batch split into micro-batches: gradients of each micro-batch's loss
 * are summed, divided by the number of micro-batches (so for a mean loss over equal micro-batches
 * the update equals that of the whole batch at once), clipped by their global norm, and handed to
 * AdamW. Nothing here is random: dropout seeds travel inside the micro-batches, drawn by the
 * caller from an Rng it owns, so a run repeats bit for bit from the same seeds.
 *
 *   const rng = new Rng(seed);
 *   const mbs = halves(batch).map((b) => ({ ...b, dropoutSeed: rng.seed() }));
 *   const { loss, gradNorm } = trainStep({ params: model.params, optimizer, microBatches: mbs,
 *     loss: (mb) => nll(model, mb), lr: schedule(optimizer.step), maxGradNorm: 1 });
 */
import * as tf from '@tensorflow/tfjs';
import { clipFactor, globalNorm, type AdamW } from './optim';

/** A loss alone, or with metrics (scalars averaged over the micro-batches, e.g. 'logps/chosen'). */
export type LossOutput = tf.Scalar | { loss: tf.Scalar; metrics?: Record<string, tf.Scalar> };
export type LossFn<B> = (microBatch: B) => LossOutput;

export interface StepResult {
  /** Mean of the micro-batch losses. */
  loss: number;
  /** Global norm of the averaged gradients before clipping. */
  gradNorm: number;
  /** Each metric averaged over the micro-batches. */
  metrics: Record<string, number>;
}

/** Summed gradients of a run of micro-batches, with what each loss and metric came to. */
export interface GradientSum {
  /** Parameter name -> sum of its gradients; a parameter that no loss reached is absent. */
  sum: Map<string, tf.Tensor>;
  /** Micro-batches summed. */
  count: number;
  losses: number[];
  metrics: Record<string, number[]>;
}

/**
 * Runs each micro-batch's loss with the trainable parameters recorded and sums the gradients.
 * The caller owns the returned tensors (applyGradients disposes them). Gradients are matched to
 * parameters by tf.Variable identity, so the map's keys need not equal the variables' names.
 */
export function gradientSum<B>(
  params: Map<string, tf.Variable>,
  microBatches: readonly B[],
  loss: LossFn<B>,
): GradientSum {
  if (microBatches.length === 0) throw new Error('gradientSum: no micro-batches');
  const trainable = [...params].filter(([, v]) => v.trainable);
  const keyOf = new Map(trainable.map(([key, v]) => [v.name, key]));
  const variables = trainable.map(([, v]) => v);
  const sum = new Map<string, tf.Tensor>();
  const losses: number[] = [];
  const metrics: Record<string, number[]> = {};
  try {
    for (const mb of microBatches) accumulate(mb);
  } catch (error) {
    for (const g of sum.values()) g.dispose();
    throw error;
  }
  return { sum, count: microBatches.length, losses, metrics };

  function accumulate(mb: B): void {
    const kept: Record<string, tf.Scalar> = {};
    const { value, grads } = tf.variableGrads(() => {
      const out = loss(mb);
      if (out instanceof tf.Tensor) return out;
      // Kept past variableGrads' own tidy so they can be read once the gradients exist.
      for (const [name, t] of Object.entries(out.metrics ?? {})) kept[name] = tf.keep(t);
      return out.loss;
    }, variables);
    losses.push(value.dataSync()[0]!);
    value.dispose();
    for (const [name, t] of Object.entries(kept)) {
      (metrics[name] ??= []).push(t.dataSync()[0]!);
      t.dispose();
    }
    for (const [varName, g] of Object.entries(grads)) {
      const key = keyOf.get(varName)!;
      const previous = sum.get(key);
      if (previous === undefined) {
        sum.set(key, g);
      } else {
        sum.set(key, tf.add(previous, g));
        previous.dispose();
        g.dispose();
      }
    }
  }
}

export interface ApplyOptions {
  optimizer: AdamW;
  /** Summed gradients; disposed here. */
  sum: Map<string, tf.Tensor>;
  /** How many micro-batches the sum is over: the mean is sum / count. */
  count: number;
  lr: number;
  /** Clip the global gradient norm to this; null never clips (the norm is still measured). */
  maxGradNorm: number | null;
}

/**
 * Averages, clips and applies summed gradients, disposing every gradient tensor; returns the pre-clip
 * norm. The mean and the clipping factor are applied by the optimizer one tensor at a time: a
 * 124M-parameter model's gradients are 500 MB, and a second full copy would not fit beside them.
 */
export function applyGradients({ optimizer, sum, count, lr, maxGradNorm }: ApplyOptions): number {
  try {
    // No limit still measures the norm: nothing exceeds Infinity.
    const norm = globalNorm(sum.values(), count);
    const scale = clipFactor(norm, maxGradNorm ?? Infinity);
    optimizer.apply(sum, lr, { divideBy: count, ...(scale === undefined ? {} : { scale }) });
    return norm;
  } finally {
    for (const t of sum.values()) t.dispose();
  }
}

export interface TrainStepOptions<B> {
  params: Map<string, tf.Variable>;
  optimizer: AdamW;
  microBatches: readonly B[];
  loss: LossFn<B>;
  lr: number;
  maxGradNorm: number | null;
}

/** One optimizer step: gradientSum over the micro-batches, then applyGradients. */
export function trainStep<B>({
  params,
  optimizer,
  microBatches,
  loss,
  lr,
  maxGradNorm,
}: TrainStepOptions<B>): StepResult {
  const g = gradientSum(params, microBatches, loss);
  const gradNorm = applyGradients({ optimizer, sum: g.sum, count: g.count, lr, maxGradNorm });
  return { loss: mean(g.losses), gradNorm, metrics: meanMetrics(g.metrics) };
}

export function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

export function meanMetrics(metrics: Record<string, number[]>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).map(([name, values]) => [name, mean(values)]));
}
