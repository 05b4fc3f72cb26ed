/**
 * The value head V(x) of ALOL.md step 2: an estimate of the reward the frozen reference policy
 * earns on prompt x, read from the reference's last-layer hidden states over the prompt by the
 * attention-pooled head of lm/pooledHead.ts (sigmoid * maxValue).
 *
 * The reference's hidden states never carry a gradient: fitting caches them per prompt (the
 * prompts are fixed), so an epoch costs only the head, and the reference is never updated.
 *
 *   const { head, report } = await fitValueHead({ reference, rows, maxValue: 1, seed: 0 });
 *   // report.bestEpoch 7, report.train { count: 200, mse: 0.012, pearson: 0.81 }
 */
import * as tf from '@tensorflow/tfjs';
import type { NamedTensors } from '../lm/config';
import type { CausalLm } from '../lm/causalLm';
import { AdamW } from '../lm/optim';
import { Rng } from '../core/rng';
import { trainStep } from '../lm/trainer';
import { adamW, checkBatchSize, headOnStates, PooledHead, promptStates, stackStates } from '../lm/pooledHead';

export interface ValueRow {
  promptIds: number[];
  /** What V(x) should predict: a decode's score, a mean of several, or a data reward. */
  target: number;
}

export interface FitValueHeadOptions {
  /** The frozen reference policy; read, never updated. */
  reference: CausalLm;
  rows: readonly ValueRow[];
  /** Top of the reward range (1 for [0, 1] rewards); every target must lie in [0, maxValue]. */
  maxValue: number;
  /** Passes over the fitting rows. Reference: 10. */
  epochs?: number;
  /** Rows per optimizer step. Reference: 16. */
  batchSize?: number;
  /**
   * AdamW learning rate. The reference's 1e-5 is for a head on a 1.5B model's 1,600-wide states,
   * trained against thousands of prompts; a from-scratch head on a small model with a few hundred
   * prompts barely moves at that rate in 10 epochs, so the default is PyTorch's AdamW default, 1e-3.
   */
  lr?: number;
  /** Decoupled weight decay on the projection matrices (decayByDefault). PyTorch: 1e-2. */
  weightDecay?: number;
  /** Clip the gradient norm; null (default) never clips: Adam's step is already bounded by lr. */
  maxGradNorm?: number | null;
  /** Pooling heads; default defaultValueHeads(D). */
  nHeads?: number;
  /** Head dropout while fitting. Reference: 0.1. */
  dropout?: number;
  /** Seeds the head's initialisation, the split, the shuffles and dropout: the same seed, the same head. */
  seed: number;
  /**
   * Rows (whole prompts: every row of a prompt goes the same way) held out to choose the best
   * epoch and to report on. 0 (default): the best epoch is chosen on the fitting rows.
   */
  validationFraction?: number;
  /** Prompts per reference forward when caching states; default batchSize. */
  referenceBatchSize?: number;
  /** After each epoch; awaited, so a caller can report progress or throw to stop. */
  onEpoch?: (epoch: EpochReport) => void | Promise<void>;
}

export interface EpochReport {
  /** 1-based. */
  epoch: number;
  /** Mean of the epoch's batch losses (MSE, with dropout, as the weights moved). */
  trainLoss: number;
  /** MSE on the fitting rows after the epoch, no dropout. */
  trainMse: number;
  /** MSE on the validation rows after the epoch, or null without a validation part. */
  validationMse: number | null;
}

export interface FitMetrics {
  count: number;
  mse: number;
  /** Pearson correlation of V and the targets; null when either is constant. */
  pearson: number | null;
}

export interface FitReport {
  /** The epoch whose weights the head holds: lowest validationMse, or lowest trainMse without validation. */
  bestEpoch: number;
  selectedBy: 'validation' | 'train';
  epochs: EpochReport[];
  /** Of the kept head, on the fitting rows. */
  train: FitMetrics;
  /** Of the kept head, on the validation rows; null without them. */
  validation: FitMetrics | null;
  /** Distinct prompts whose states were cached. */
  prompts: number;
}

export const FIT_DEFAULTS = {
  epochs: 10,
  batchSize: 16,
  lr: 1e-3,
  weightDecay: 1e-2,
  dropout: 0.1,
  validationFraction: 0,
} as const;

/**
 * Fits a fresh value head on (prompt, target) rows by MSE with AdamW, and keeps the weights of the
 * epoch with the lowest MSE (on the validation rows when there are any). The reference's states
 * are computed once per distinct prompt and reused by every epoch.
 */
export async function fitValueHead(options: FitValueHeadOptions): Promise<{ head: PooledHead; report: FitReport }> {
  const { reference, rows, maxValue, seed } = options;
  const epochs = options.epochs ?? FIT_DEFAULTS.epochs;
  const batchSize = options.batchSize ?? FIT_DEFAULTS.batchSize;
  const lr = options.lr ?? FIT_DEFAULTS.lr;
  const validationFraction = options.validationFraction ?? FIT_DEFAULTS.validationFraction;
  if (!(Number.isInteger(epochs) && epochs >= 1)) throw new Error(`epochs must be a whole number >= 1, got ${epochs}`);
  checkBatchSize(batchSize);
  if (!(lr > 0)) throw new Error(`lr must be > 0, got ${lr}`);
  if (!(validationFraction >= 0 && validationFraction < 1))
    throw new Error(`validationFraction must be in [0, 1), got ${validationFraction}`);
  if (rows.length === 0) throw new Error('fitValueHead: no rows');
  rows.forEach((r, i) => {
    if (!(Number.isFinite(r.target) && r.target >= 0 && r.target <= maxValue)) {
      throw new Error(
        `fitValueHead: row ${i} has target ${r.target}, outside [0, maxValue = ${maxValue}] where sigmoid * maxValue lives`,
      );
    }
    if (r.promptIds.length === 0) throw new Error(`fitValueHead: row ${i} has an empty prompt (prepend BOS)`);
  });

  // Distinct prompts: their states are cached once, and the split never divides one prompt's rows.
  const { unique: uniquePrompts, indexOf: promptOf } = distinctSequences(rows.map((r) => r.promptIds));

  const rng = new Rng(seed);
  const head = PooledHead.init(
    {
      nEmbd: reference.config.nEmbd,
      maxValue,
      nHeads: options.nHeads,
      dropout: options.dropout ?? FIT_DEFAULTS.dropout,
    },
    rng,
  );
  let optimizer: AdamW | null = null;
  try {
    const held = new Set(heldOutPrompts(uniquePrompts.length, validationFraction, rng));
    const trainRows = rows.map((_, i) => i).filter((i) => !held.has(promptOf[i]!));
    const validationRows = rows.map((_, i) => i).filter((i) => held.has(promptOf[i]!));
    const states = promptStates(reference, uniquePrompts, options.referenceBatchSize ?? batchSize);
    const targets = Float32Array.from(rows, (r) => r.target);

    const mse = (indices: readonly number[]): { mse: number; values: Float32Array } => {
      const values = headOnStates(
        head,
        indices.map((i) => states[promptOf[i]!]!),
        batchSize,
      );
      let s = 0;
      indices.forEach((i, j) => (s += (values[j]! - targets[i]!) ** 2));
      return { mse: s / indices.length, values };
    };

    optimizer = adamW(head.params, { lr, weightDecay: options.weightDecay ?? FIT_DEFAULTS.weightDecay });
    const reports: EpochReport[] = [];
    let best: { epoch: number; loss: number; weights: NamedTensors } | null = null;
    const order = [...trainRows];
    for (let epoch = 1; epoch <= epochs; epoch++) {
      rng.shuffle(order);
      const losses: number[] = [];
      for (let start = 0; start < order.length; start += batchSize) {
        const batch = { rows: order.slice(start, start + batchSize), dropoutSeed: rng.seed() };
        const step = trainStep({
          params: head.params,
          optimizer,
          microBatches: [batch],
          lr,
          maxGradNorm: options.maxGradNorm ?? null,
          loss: (mb) => {
            const { hidden, mask } = stackStates(
              mb.rows.map((i) => states[promptOf[i]!]!),
              head.config.nEmbd,
            );
            const v = head.predict(hidden, mask, { training: { dropoutSeed: mb.dropoutSeed } });
            return tf.mean(tf.square(tf.sub(v, tf.tensor1d(mb.rows.map((i) => targets[i]!))))) as tf.Scalar; // mean of (B): rank 0
          },
        });
        losses.push(step.loss);
      }
      const report: EpochReport = {
        epoch,
        trainLoss: losses.reduce((a, b) => a + b, 0) / losses.length,
        trainMse: mse(trainRows).mse,
        validationMse: validationRows.length > 0 ? mse(validationRows).mse : null,
      };
      reports.push(report);
      const loss = report.validationMse ?? report.trainMse;
      if (best === null || loss < best.loss) best = { epoch, loss, weights: head.weights() };
      await options.onEpoch?.(report);
    }
    head.setWeights(best!.weights); // epochs >= 1, so some epoch was best

    const metrics = (indices: readonly number[]): FitMetrics => {
      const { mse: m, values } = mse(indices);
      return {
        count: indices.length,
        mse: m,
        pearson: pearson(
          values,
          indices.map((i) => targets[i]!),
        ),
      };
    };
    const report: FitReport = {
      bestEpoch: best!.epoch,
      selectedBy: validationRows.length > 0 ? 'validation' : 'train',
      epochs: reports,
      train: metrics(trainRows),
      validation: validationRows.length > 0 ? metrics(validationRows) : null,
      prompts: uniquePrompts.length,
    };
    return { head, report };
  } catch (error) {
    head.dispose();
    throw error;
  } finally {
    optimizer?.dispose();
  }
}

/**
 * Each distinct token sequence once, in first-seen order, and for every input the index of its
 * sequence in `unique`: what caches one reference forward per prompt (or per response).
 *
 *   distinctSequences([[1, 2], [3], [1, 2]]) // { unique: [[1, 2], [3]], indexOf: [0, 1, 0] }
 */
export function distinctSequences<T extends readonly number[]>(
  sequences: readonly T[],
): { unique: T[]; indexOf: number[] } {
  const unique: T[] = [];
  const seen = new Map<string, number>();
  const indexOf = sequences.map((ids) => {
    const key = ids.join(',');
    let i = seen.get(key);
    if (i === undefined) {
      i = unique.length;
      seen.set(key, i);
      unique.push(ids);
    }
    return i;
  });
  return { unique, indexOf };
}

/**
 * Which of n prompts (or groups) to hold out: round(n * fraction) of them, at least one when
 * fraction > 0, and never all (at least one is left to fit on).
 */
export function heldOutPrompts(n: number, fraction: number, rng: Rng): number[] {
  if (fraction === 0) return [];
  if (n < 2) throw new Error(`validationFraction ${fraction} needs at least 2 distinct prompts, got ${n}`);
  const k = Math.min(n - 1, Math.max(1, Math.round(n * fraction)));
  const order = Array.from({ length: n }, (_, i) => i);
  rng.shuffle(order);
  return order.slice(0, k);
}

/** Pearson's r in float64; null when fewer than two values or either side is constant. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number | null {
  const n = a.length;
  if (n !== b.length) throw new Error(`pearson: lengths differ (${n} vs ${b.length})`);
  if (n < 2) return null;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa === 0 || sbb === 0) return null;
  return sab / Math.sqrt(saa * sbb);
}
