/**
 * The GPT with a next-token loss as a data-parallel task (see task.ts): each worker builds a Gpt of
 * the given config and computes the mean negative log-likelihood of the response tokens of its
 * micro-batches. The same lmLoss serves single-thread training, so both paths train the same thing.
 *
 *   const mb: LmMicroBatch = { batch: padRight(examples, { padId: eos }), dropoutSeed: rng.seed() };
 *   lmLoss(model, mb) // scalar: -sum(log p(response tokens)) / number of response tokens
 */
import * as tf from '@tensorflow/tfjs';
import type { PaddedBatch } from '../batch';
import type { GptConfig } from '../config';
import { tokenLogprobs } from '../logprobs';
import { Gpt } from '../model';
import { Rng } from '../rng';
import type { Replica } from './task';

export interface LmMicroBatch {
  batch: PaddedBatch;
  /** Dropout on (config.dropout) with this seed; null trains without dropout. */
  dropoutSeed: number | null;
}

export interface GptTaskInit {
  config: GptConfig;
}

/** Mean NLL per response token, with 'nll/tokens' (the count) as a metric. */
export function lmLoss(model: Gpt, mb: LmMicroBatch): { loss: tf.Scalar; metrics: Record<string, tf.Scalar> } {
  let tokens = 0;
  const { batch } = mb;
  for (let b = 0; b < batch.batchSize; b++) for (let t = 1; t < batch.length; t++) tokens += batch.responseMask[b * batch.length + t]!;
  if (tokens === 0) throw new Error('lmLoss: a micro-batch without response tokens');
  const lp = tokenLogprobs(model, batch, mb.dropoutSeed === null ? {} : { training: { dropoutSeed: mb.dropoutSeed } }); // (B, T-1)
  return { loss: tf.div(tf.neg(tf.sum(lp)), tokens), metrics: { 'nll/tokens': tf.scalar(tokens) } };
}

export function createReplica(init: GptTaskInit): Replica<LmMicroBatch> {
  // Any weights do: the main thread's parameters are copied in before every step.
  const model = Gpt.init(init.config, new Rng(0));
  return { params: model.params, loss: (mb) => lmLoss(model, mb) };
}
