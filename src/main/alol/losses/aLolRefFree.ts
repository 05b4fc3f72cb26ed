/**
 * a_lol_ref_free: A-LoL with the importance weight fixed at 1, so no pi_ref forward pass per batch
 * (pi_ref is still needed once, for the advantages). Items with A <= 0 contribute nothing.
 *
 *   l_theta = [-1, -4], advantage = [0.5, -0.2]
 *   a_lol_ref_free(...).loss // (0.5 * 1 + 0) / 2 = 0.25
 */
import * as tf from '@tensorflow/tfjs';
import { advantageMetrics, checkTokenInputs, positivePart, responseSum, withMetrics } from './common';
import type { LossResult, TokenLogps, WithAdvantage } from './types';

// L = mean_b( A+_b * -sum_t lp[b, t] )
export function a_lol_ref_free({ lp, mask, advantage }: TokenLogps & WithAdvantage): LossResult {
  checkTokenInputs('a_lol_ref_free', lp, { mask }, { advantage });
  return withMetrics(() => {
    const perItem = tf.mul(positivePart(advantage), tf.neg(responseSum(lp, mask))); // (B)
    return {
      loss: tf.mean<tf.Scalar>(perItem),
      // Same metric names as the other variants so their charts line up; here w is 1 by definition.
      metrics: { ...advantageMetrics(advantage), 'alol/weight_mean': 1, 'alol/clipped_low': 0, 'alol/clipped_high': 0 },
    };
  });
}
