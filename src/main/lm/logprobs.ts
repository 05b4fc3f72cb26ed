/**
 * Log-probabilities of given tokens under a model: what every A-LoL loss is built from (ALOL.md).
 * lp[b, t] = log p(ids[b, t+1] | ids[b, 0..t]), log-softmax in float32, kept only where ids[b, t+1]
 * is a response token. Sequence scores are SUMS over response tokens, never means.
 *
 * Only the rows that predict a response token go through the LM head: with GPT-2's vocabulary the
 * head is most of the cost, and prompt rows would be thrown away.
 *
 *   const batch = padRight([{ prompt: [5, 6], response: [7, eos] }], { padId: eos });
 *   tokenLogprobs(model, batch)    // (1, 3): [0, log p(7 | 5 6), log p(eos | 5 6 7)]
 *   sequenceLogprobs(model, batch) // (1):    [log p(7 | 5 6) + log p(eos | 5 6 7)]
 */
import * as tf from '@tensorflow/tfjs';
import { batchTensors, type PaddedBatch } from './batch';
import type { CausalLm } from './causalLm';
import { headLogprobs, pickColumns, putRows, takeRows } from './ops';

export interface LogprobOptions {
  /** Dropout as in training (forward's training option); off by default. */
  training?: { dropoutSeed: number };
  /** Recompute each layer's activations in the backward pass instead of keeping them (ForwardOptions.recompute). */
  recompute?: boolean;
  /** Logits held at once before the head runs in chunks (HEAD_CHUNK_LOGITS); tests make it small. */
  chunkLogits?: number;
}

/**
 * Logits the head may hold at once (64 MB): past it the head runs over chunks of rows with its own
 * gradient (headLogprobs), which costs one more head product in the backward pass but never holds
 * (R, V) logits. GPT-2 at batch 8 x 256 predicts ~1,000 response tokens: 50M logits in one piece.
 */
export const HEAD_CHUNK_LOGITS = 1 << 24;

/**
 * Log-softmax of hidden rows (R, D) through the model's head, picked at targets. -> (R)
 */
function targetLogprobs(model: CausalLm, h: tf.Tensor2D, targets: Int32Array, options: LogprobOptions): tf.Tensor1D {
  const rowsPerChunk = Math.max(1, Math.floor((options.chunkLogits ?? HEAD_CHUNK_LOGITS) / model.config.vocabSize));
  if (h.shape[0] > rowsPerChunk) return headLogprobs(h, model.headWeight(), targets, rowsPerChunk);
  const logits = model.headRows(h); // (R, V)
  return pickColumns(tf.logSoftmax<tf.Tensor2D>(logits), targets);
}

/** (B, T-1) float32, zero wherever the target is not a response token. Differentiable. */
export function tokenLogprobs(model: CausalLm, batch: PaddedBatch, options: LogprobOptions = {}): tf.Tensor2D {
  const B = batch.batchSize;
  const T = batch.length;
  const D = model.config.nEmbd;
  // Rows (b, t) of the (B, T) hidden states whose next token is a response token.
  const rows: number[] = [];
  const outRows: number[] = [];
  const targets: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let t = 0; t + 1 < T; t++) {
      if (batch.responseMask[b * T + t + 1] === 1) {
        rows.push(b * T + t);
        outRows.push(b * (T - 1) + t);
        targets.push(batch.ids[b * T + t + 1]!);
      }
    }
  }
  return tf.tidy(() => {
    if (rows.length === 0 || T < 2) return tf.zeros([B, Math.max(T - 1, 0)]) as tf.Tensor2D;
    const { ids, attentionMask } = batchTensors(batch);
    const h = model.hidden(ids, {
      attentionMask,
      ...(options.training ? { training: options.training } : {}),
      ...(options.recompute ? { recompute: true } : {}),
    }); // (B, T, D)
    const picked = takeRows(tf.reshape(h, [B * T, D]), Int32Array.from(rows)); // (R, D)
    const lp = targetLogprobs(model, picked, Int32Array.from(targets), options); // (R)
    return tf.reshape(putRows(tf.reshape(lp, [rows.length, 1]), Int32Array.from(outRows), B * (T - 1)), [B, T - 1]);
  });
}

/** (B) sums of the response tokens' log-probabilities. Differentiable. */
export function sequenceLogprobs(model: CausalLm, batch: PaddedBatch, options: LogprobOptions = {}): tf.Tensor1D {
  return tf.tidy(() => tf.sum(tokenLogprobs(model, batch, options), 1));
}

/**
 * Plain numbers for the CLI: out[i] = log p(ids[i+1] | ids[0..i]), length ids.length - 1.
 *
 *   logprobsOf(model, [464, 3290, 318]) // [log p(3290 | 464), log p(318 | 464 3290)]
 */
export function logprobsOf(model: CausalLm, ids: number[]): number[] {
  if (ids.length < 2) return [];
  const T = ids.length;
  const result = tf.tidy(() => {
    const h = model.hidden(tf.tensor2d(ids, [1, T], 'int32')); // (1, T, D)
    const rows = tf.slice(tf.reshape(h, [T, model.config.nEmbd]) as tf.Tensor2D, [0, 0], [T - 1, model.config.nEmbd]);
    return targetLogprobs(model, rows, Int32Array.from(ids.slice(1)), {});
  });
  // Read outside tf.tidy: returning a TypedArray from it walks every element.
  const values = Array.from(result.dataSync());
  result.dispose();
  return values;
}
