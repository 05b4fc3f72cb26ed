/**
 * a_lol_kl: A-LoL with a KL-style penalty in place of the importance weight: klBeta times
 * log(pi_theta(y|x) / pi_ref(y|x)) of the data's response (a KL estimate only if y came from
 * pi_theta, which offline it does not). Its gradient is a_lol_ref_free's with every A+ lowered by
 * klBeta, so an item with A+ < klBeta (every A <= 0 included) is pushed DOWN, and the loss can be
 * negative.
 *
 *   l_theta = [-1, -2], l_ref = [-1.5, -2], advantage = [0.5, -0.3], klBeta = 0.2
 *   a_lol_kl(...).loss // ((0.5 * 1 + 0.2 * 0.5) + (0 + 0.2 * 0)) / 2 = 0.3
 */
import * as tf from '@tensorflow/tfjs';
import {
  advantageMetrics,
  checkFinite,
  checkTokenInputs,
  positivePart,
  responseSum,
  stopGradient,
  withMetrics,
} from './common';
import { defaultLossConfig, type LossConfig } from './config';
import type { LossResult, TokenLogps, WithAdvantage, WithReference } from './types';

// L = mean_b( A+_b * -l_b + klBeta * (l_b - l_ref_b) ),  l = sum_t lp
export function a_lol_kl(
  { lp, mask, lpRef, advantage }: TokenLogps & WithReference & WithAdvantage,
  config: Pick<LossConfig, 'klBeta'> = defaultLossConfig,
): LossResult {
  checkTokenInputs('a_lol_kl', lp, { mask, lpRef }, { advantage });
  checkFinite('a_lol_kl', 'klBeta', config.klBeta);
  return withMetrics(() => {
    const l = responseSum(lp, mask); // (B)
    const logRatio = tf.sub(l, responseSum(stopGradient(lpRef), mask)); // (B), with gradient through l
    const policyTerm = tf.mul(positivePart(advantage), tf.neg(l)); // (B)
    const penalty = tf.mul(config.klBeta, logRatio); // (B)
    return {
      loss: tf.mean<tf.Scalar>(tf.add(policyTerm, penalty)),
      metrics: {
        ...advantageMetrics(advantage),
        // No importance weight in this loss: w is 1, reported so the A-LoL charts line up.
        'alol/weight_mean': 1,
        'alol/clipped_low': 0,
        'alol/clipped_high': 0,
        'alol/log_ratio_mean': tf.mean(logRatio),
        'alol/kl_penalty': tf.mean(penalty),
      },
    };
  });
}
