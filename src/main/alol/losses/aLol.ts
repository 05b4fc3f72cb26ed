/**
 * a_lol: Advantage-LoL, the paper's main loss. Positive-advantage items pull pi_theta up by A+
 * times the clamped sequence importance weight pi_theta(y|x) / pi_ref(y|x), detached; items with
 * A <= 0 contribute nothing. The clamp is plain, not PPO's min(): an item clipped at 1 - eps or
 * 1 + eps still gets its gradient, scaled by that bound.
 *
 *   l_theta = [-1, -4], l_ref = [-1.5, -1], advantage = [0.5, -0.2], eps = 0.9
 *   w = [exp(0.5), 0.1 (clipped low)];  a_lol(...).loss // (0.5 * 1.6487 * 1 + 0) / 2 = 0.412
 */
import * as tf from '@tensorflow/tfjs';
import {
  advantageMetrics,
  checkEps,
  checkTokenInputs,
  clampedWeight,
  positivePart,
  responseSum,
  stopGradient,
  withMetrics,
} from './common';
import { defaultLossConfig, type LossConfig } from './config';
import type { LossResult, TokenLogps, WithAdvantage, WithReference } from './types';

// L = mean_b( A+_b * w_b * -l_b ),  w_b = exp(clamp(sg[l_b] - l_ref_b, log(1-eps), log(1+eps))),  l = sum_t lp
export function a_lol(
  { lp, mask, lpRef, advantage }: TokenLogps & WithReference & WithAdvantage,
  config: Pick<LossConfig, 'eps'> = defaultLossConfig,
): LossResult {
  checkTokenInputs('a_lol', lp, { mask, lpRef }, { advantage });
  checkEps('a_lol', config.eps);
  return withMetrics(() => {
    const l = responseSum(lp, mask); // (B)
    const logRatio = tf.sub(stopGradient(l), responseSum(stopGradient(lpRef), mask)); // (B)
    const { w, low, high } = clampedWeight(logRatio, config.eps); // (B) each
    const perItem = tf.mul(tf.mul(positivePart(advantage), w), tf.neg(l)); // (B)
    return {
      loss: tf.mean<tf.Scalar>(perItem),
      metrics: {
        ...advantageMetrics(advantage),
        'alol/weight_mean': tf.mean(w),
        'alol/clipped_low': tf.mean(low),
        'alol/clipped_high': tf.mean(high),
        'alol/log_ratio_mean': tf.mean(logRatio),
      },
    };
  });
}
