/**
 * The GPT with a plain next-token loss, for engine tests and the benchmark: the mean negative
 * log-likelihood of the response tokens of one micro-batch.
 *
 *   const mb: LmMicroBatch = { batch: padRight(examples, { padId: eos }), dropoutSeed: rng.seed() };
 *   lmLoss(model, mb) // scalar: -sum(log p(response tokens)) / number of response tokens
 */
import * as tf from '@tensorflow/tfjs';
import type { PaddedBatch } from '../../src/main/lm/batch';
import { tokenLogprobs } from '../../src/main/lm/logprobs';
import type { Gpt } from '../../src/main/lm/model';

export interface LmMicroBatch {
  batch: PaddedBatch;
  /** Dropout on (config.dropout) with this seed; null trains without dropout. */
  dropoutSeed: number | null;
}

/** Mean NLL per response token, with 'nll/tokens' (the count) as a metric. */
export function lmLoss(model: Gpt, mb: LmMicroBatch): { loss: tf.Scalar; metrics: Record<string, tf.Scalar> } {
  let tokens = 0;
  const { batch } = mb;
  for (let b = 0; b < batch.batchSize; b++)
    for (let t = 1; t < batch.length; t++) tokens += batch.responseMask[b * batch.length + t]!;
  if (tokens === 0) throw new Error('lmLoss: a micro-batch without response tokens');
  const lp = tokenLogprobs(model, batch, mb.dropoutSeed === null ? {} : { training: { dropoutSeed: mb.dropoutSeed } }); // (B, T-1)
  return { loss: tf.div(tf.neg(tf.sum(lp)), tokens), metrics: { 'nll/tokens': tf.scalar(tokens) } };
}
