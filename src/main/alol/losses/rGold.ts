/**
 * r_gold: GOLD (Pang and He, 2021) with a sequence reward. Each token's NLL is weighted by its own
 * detached probability under pi_theta, floored at goldFloor, so tokens the policy already finds
 * unlikely pull less. Sampled in proportion to R; nothing filtered.
 *
 *   lp = [[ln 0.5, ln 0.05]], mask = [[1, 1]], reward = [1], goldFloor = 0.1
 *   r_gold(...).loss // 0.5 * ln 2 + 0.1 * ln 20 = 0.646
 */
import * as tf from '@tensorflow/tfjs';
import { checkFinite, checkTokenInputs, responseMean, responseSum, stopGradient, withMetrics } from './common';
import { defaultLossConfig, type LossConfig } from './config';
import type { LossResult, TokenLogps, WithReward } from './types';

// L = mean_b( R_b * sum_t max(sg[exp(lp[b, t])], u) * -lp[b, t] ),  u = goldFloor
export function r_gold(
  { lp, mask, reward }: TokenLogps & WithReward,
  config: Pick<LossConfig, 'goldFloor'> = defaultLossConfig,
): LossResult {
  checkTokenInputs('r_gold', lp, { mask }, { reward });
  checkFinite('r_gold', 'goldFloor', config.goldFloor);
  return withMetrics(() => {
    const r = stopGradient(reward); // (B)
    const p = tf.exp<tf.Tensor2D>(stopGradient(lp)); // (B, T)
    const weight = tf.maximum<tf.Tensor2D>(p, config.goldFloor); // (B, T)
    const perItem = tf.mul(r, tf.neg(responseSum(tf.mul(weight, lp), mask))); // (B)
    return {
      loss: tf.mean<tf.Scalar>(perItem),
      metrics: {
        'alol/reward_mean': tf.mean(r),
        'alol/gold_weight_mean': responseMean(weight, mask),
        'alol/gold_floored': responseMean(tf.cast(tf.less<tf.Tensor2D>(p, config.goldFloor), 'float32'), mask),
      },
    };
  });
}
