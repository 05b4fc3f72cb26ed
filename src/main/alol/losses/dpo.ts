/**
 * dpo: Direct Preference Optimization (Rafailov et al., 2023, eq. 7) on preference pairs, from the
 * per-sequence log-prob sums of the chosen (y_w) and rejected (y_l) responses. Metrics are TRL's,
 * with TRL's meanings: an implicit reward is beta * (policy - reference) log-prob of a response.
 *
 *   policy (chosen, rejected) = (-5, -7), reference = (-6, -6), beta = 0.1
 *   z = 0.1 * ((-5 + 7) - (-6 + 6)) = 0.2;  dpo(...).loss // -log sigmoid(0.2) = 0.598
 */
import * as tf from '@tensorflow/tfjs';
import { checkFinite, checkItemInputs, stopGradient, withMetrics } from './common';
import { defaultLossConfig, type LossConfig } from './config';
import type { LossResult, PairLogps } from './types';

// L = mean_b( -log sigmoid(beta * ((l_theta(y_w) - l_theta(y_l)) - (l_ref(y_w) - l_ref(y_l)))) )
export function dpo(
  { policyChosen, policyRejected, refChosen, refRejected }: PairLogps,
  config: Pick<LossConfig, 'beta'> = defaultLossConfig,
): LossResult {
  checkItemInputs('dpo', { policyChosen, policyRejected, refChosen, refRejected });
  checkFinite('dpo', 'beta', config.beta);
  return withMetrics(() => {
    const refMargin = tf.sub(stopGradient(refChosen), stopGradient(refRejected)); // (B)
    const z = tf.mul(config.beta, tf.sub(tf.sub(policyChosen, policyRejected), refMargin)); // (B)
    // -log sigmoid(z) = softplus(-z): stable at |z| = 1000, exact gradient -sigmoid(-z) even at z = 0
    // where every pair starts. Not tf.logSigmoid: its custom gradient reads z after tf.grad's
    // forward tidy has freed it.
    const loss = tf.mean<tf.Scalar>(tf.softplus(tf.neg(z)));
    const chosenReward = tf.mul(config.beta, tf.sub(stopGradient(policyChosen), stopGradient(refChosen))); // (B)
    const rejectedReward = tf.mul(config.beta, tf.sub(stopGradient(policyRejected), stopGradient(refRejected))); // (B)
    return {
      loss,
      metrics: {
        'rewards/chosen': tf.mean(chosenReward),
        'rewards/rejected': tf.mean(rejectedReward),
        'rewards/accuracies': tf.mean(tf.cast(tf.greater(chosenReward, rejectedReward), 'float32')),
        'rewards/margins': tf.mean(tf.sub(chosenReward, rejectedReward)),
        'logps/chosen': tf.mean(policyChosen),
        'logps/rejected': tf.mean(policyRejected),
      },
    };
  });
}
