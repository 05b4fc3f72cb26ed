/**
 * a_lol_seq: A-LoL with a clamped importance weight per token, pi_theta(y_t|.) / pi_ref(y_t|.),
 * instead of one for the whole sequence (the product of them all, which for a long response
 * reaches a bound after little drift). Weight metrics here are over response tokens, not items.
 *
 *   lp = [[-1, -0.2]], lpRef = [[-4, -0.1]], advantage = [1], eps = 0.9
 *   w_t = [1.9 (clipped high), exp(-0.1)];  a_lol_seq(...).loss // 1.9 * 1 + 0.9048 * 0.2 = 2.081
 */
import * as tf from '@tensorflow/tfjs';
import {
  advantageMetrics,
  checkEps,
  checkTokenInputs,
  clampedWeight,
  positivePart,
  responseMean,
  responseSum,
  stopGradient,
  withMetrics,
} from './common';
import { defaultLossConfig, type LossConfig } from './config';
import type { LossResult, TokenLogps, WithAdvantage, WithReference } from './types';

// L = mean_b( A+_b * sum_t w[b, t] * -lp[b, t] ),  w[b, t] = exp(clamp(sg[lp[b, t]] - lpRef[b, t], log(1-eps), log(1+eps)))
export function a_lol_seq(
  { lp, mask, lpRef, advantage }: TokenLogps & WithReference & WithAdvantage,
  config: Pick<LossConfig, 'eps'> = defaultLossConfig,
): LossResult {
  checkTokenInputs('a_lol_seq', lp, { mask, lpRef }, { advantage });
  checkEps('a_lol_seq', config.eps);
  return withMetrics(() => {
    const ref = stopGradient(lpRef); // (B, T)
    const { w, low, high } = clampedWeight(tf.sub<tf.Tensor2D>(stopGradient(lp), ref), config.eps); // (B, T) each
    const perItem = tf.mul(positivePart(advantage), tf.neg(responseSum(tf.mul(w, lp), mask))); // (B)
    const logRatio = tf.sub(responseSum(stopGradient(lp), mask), responseSum(ref, mask)); // (B)
    return {
      loss: tf.mean<tf.Scalar>(perItem),
      metrics: {
        ...advantageMetrics(advantage),
        'alol/weight_mean': responseMean(w, mask),
        'alol/clipped_low': responseMean(low, mask),
        'alol/clipped_high': responseMean(high, mask),
        'alol/log_ratio_mean': tf.mean(logRatio),
      },
    };
  });
}
