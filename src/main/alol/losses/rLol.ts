/**
 * r_lol: reward-weighted policy gradient with the clamped sequence importance weight
 * pi_theta(y|x) / pi_ref(y|x). Like a_lol with R in place of A+: sampled in proportion to R,
 * nothing filtered.
 *
 *   l_theta = [-1], l_ref = [-3], reward = [1], eps = 0.9
 *   w = exp(clamp(2, ln 0.1, ln 1.9)) = 1.9;  r_lol(...).loss // 1 * 1.9 * 1 = 1.9
 */
import * as tf from '@tensorflow/tfjs';
import { checkEps, checkTokenInputs, clampedWeight, responseSum, stopGradient, withMetrics } from './common';
import { defaultLossConfig, type LossConfig } from './config';
import type { LossResult, TokenLogps, WithReference, WithReward } from './types';

// L = mean_b( R_b * w_b * -l_b ),  w_b = exp(clamp(sg[l_b] - l_ref_b, log(1-eps), log(1+eps))),  l = sum_t lp
export function r_lol(
  { lp, mask, lpRef, reward }: TokenLogps & WithReference & WithReward,
  config: Pick<LossConfig, 'eps'> = defaultLossConfig,
): LossResult {
  checkTokenInputs('r_lol', lp, { mask, lpRef }, { reward });
  checkEps('r_lol', config.eps);
  return withMetrics(() => {
    const r = stopGradient(reward); // (B)
    const l = responseSum(lp, mask); // (B)
    const logRatio = tf.sub(stopGradient(l), responseSum(stopGradient(lpRef), mask)); // (B)
    const { w, low, high } = clampedWeight(logRatio, config.eps); // (B) each
    const perItem = tf.mul(tf.mul(r, w), tf.neg(l)); // (B)
    return {
      loss: tf.mean<tf.Scalar>(perItem),
      metrics: {
        'alol/reward_mean': tf.mean(r),
        'alol/weight_mean': tf.mean(w),
        'alol/clipped_low': tf.mean(low),
        'alol/clipped_high': tf.mean(high),
        'alol/log_ratio_mean': tf.mean(logRatio),
      },
    };
  });
}
