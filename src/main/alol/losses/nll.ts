/**
 * nll: behaviour cloning (SFT), how pi_ref is trained and the baseline every other loss is judged
 * against.
 *
 *   lp = [[-0.5, -1, 0], [-2, 0, 0]], mask = [[1, 1, 0], [1, 0, 0]]
 *   nll({ lp, mask }).loss // ((0.5 + 1) + 2) / 2 = 1.75
 */
import * as tf from '@tensorflow/tfjs';
import { checkTokenInputs, responseSum, withMetrics } from './common';
import type { LossResult, TokenLogps } from './types';

// L = mean_b( -sum_t lp[b, t] )
export function nll({ lp, mask }: TokenLogps): LossResult {
  checkTokenInputs('nll', lp, { mask });
  return withMetrics(() => ({
    loss: tf.neg(tf.mean<tf.Scalar>(responseSum(lp, mask))),
    metrics: {},
  }));
}
