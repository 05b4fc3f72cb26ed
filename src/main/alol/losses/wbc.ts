/**
 * wbc: weighted behaviour cloning, NLL scaled by the item's reward. A reward-based baseline: it is
 * sampled in proportion to R (so R >= 0) and nothing is filtered out.
 *
 *   lp = [[-0.5, -1], [-2, 0]], mask = [[1, 1], [1, 0]], reward = [1, 0.5]
 *   wbc(...).loss // (1 * 1.5 + 0.5 * 2) / 2 = 1.25
 */
import * as tf from '@tensorflow/tfjs';
import { checkTokenInputs, responseSum, stopGradient, withMetrics } from './common';
import type { LossResult, TokenLogps, WithReward } from './types';

// L = mean_b( R_b * -sum_t lp[b, t] )
export function wbc({ lp, mask, reward }: TokenLogps & WithReward): LossResult {
  checkTokenInputs('wbc', lp, { mask }, { reward });
  return withMetrics(() => {
    const r = stopGradient(reward); // (B)
    const perItem = tf.mul(r, tf.neg(responseSum(lp, mask))); // (B)
    return { loss: tf.mean<tf.Scalar>(perItem), metrics: { 'alol/reward_mean': tf.mean(r) } };
  });
}
