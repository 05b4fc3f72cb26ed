import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { dpo } from '../../../src/main/alol/losses/dpo';
import type { PairLogps } from '../../../src/main/alol/losses/index';
import { BACKENDS, expectNear, tidy, useBackend, values } from './helpers';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * Three pairs of per-sequence sums, beta = 0.1:
 *   pair 0: policy (-5, -7), ref (-6, -6)     -> z = 0.1 * (2 - 0)     = 0.2
 *   pair 1: policy (-8, -6), ref (-7, -7.5)   -> z = 0.1 * (-2 - 0.5)  = -0.25
 *   pair 2: policy (-3, -4), ref (-3, -4)     -> z = 0                  (policy = reference)
 */
function pairs(): PairLogps {
  return {
    policyChosen: tf.tensor1d([-5, -8, -3]),
    policyRejected: tf.tensor1d([-7, -6, -4]),
    refChosen: tf.tensor1d([-6, -7, -3]),
    refRejected: tf.tensor1d([-6, -7.5, -4]),
  };
}
const Z = [0.2, -0.25, 0];

describe.each(BACKENDS)('dpo on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('is -log sigmoid of beta times the margin of log-ratios, with TRL metrics', () => {
    tidy(() => {
      const { loss, metrics } = dpo(pairs());
      const byHand = (Math.log1p(Math.exp(-0.2)) + Math.log1p(Math.exp(0.25)) + Math.log(2)) / 3;
      expectNear(values(loss), [byHand]);
      expectNear(metrics.loss!, byHand);
      // chosen rewards 0.1 * (policy - ref) = [0.1, -0.1, 0]; rejected = [-0.1, 0.15, 0].
      expectNear(metrics['rewards/chosen']!, 0);
      expectNear(metrics['rewards/rejected']!, 0.05 / 3);
      expectNear(metrics['rewards/accuracies']!, 1 / 3); // only pair 0; a tie (pair 2) is not a win
      expectNear(metrics['rewards/margins']!, (0.2 - 0.25 + 0) / 3);
      expectNear(metrics['logps/chosen']!, -16 / 3);
      expectNear(metrics['logps/rejected']!, -17 / 3);
      expect(Object.keys(metrics).sort()).toEqual(
        [
          'logps/chosen',
          'logps/rejected',
          'loss',
          'rewards/accuracies',
          'rewards/chosen',
          'rewards/margins',
          'rewards/rejected',
        ].sort(),
      );
    });
  });

  it('has gradient -/+ beta * sigmoid(-z) / B on the chosen / rejected sums, none on the reference', () => {
    tidy(() => {
      const p = pairs();
      const grads = tf.grads(
        (pc: tf.Tensor, pr: tf.Tensor, rc: tf.Tensor, rr: tf.Tensor) =>
          // tf.grads types its inputs as Tensor; all four are the (B) sums made above.
          dpo({
            policyChosen: pc as tf.Tensor1D,
            policyRejected: pr as tf.Tensor1D,
            refChosen: rc as tf.Tensor1D,
            refRejected: rr as tf.Tensor1D,
          }).loss,
      )([p.policyChosen, p.policyRejected, p.refChosen, p.refRejected]);
      const g = Z.map((z) => (0.1 * sigmoid(-z)) / 3);
      expectNear(
        values(grads[0]!),
        g.map((v) => -v),
      );
      expectNear(values(grads[1]!), g);
      expect(values(grads[2]!).every((v) => v === 0)).toBe(true);
      expect(values(grads[3]!).every((v) => v === 0)).toBe(true);
    });
  });

  it('passes that gradient to every token of a response when the sums are built from per-token log-probs', () => {
    tidy(() => {
      const p = pairs();
      // Chosen responses as tokens, (3, 3) with masks: sums -5, -8, -3 as in pairs().
      const lpChosen = tf.tensor2d([
        [-2, -3, 0],
        [-1, -4, -3],
        [-3, 0, 0],
      ]);
      const mask = tf.tensor2d([
        [1, 1, 0],
        [1, 1, 1],
        [1, 0, 0],
      ]);
      const g = tf.grad((lp: tf.Tensor) => dpo({ ...p, policyChosen: tf.sum(tf.mul(lp, mask), 1) }).loss)(lpChosen);
      const perPair = Z.map((z) => (-0.1 * sigmoid(-z)) / 3);
      expectNear(values(g), [perPair[0]!, perPair[0]!, 0, perPair[1]!, perPair[1]!, perPair[1]!, perPair[2]!, 0, 0]);
    });
  });

  it('takes beta from the config', () => {
    tidy(() => {
      const { metrics } = dpo(pairs(), { beta: 0.5 });
      expectNear(metrics.loss!, (Math.log1p(Math.exp(-1)) + Math.log1p(Math.exp(1.25)) + Math.log(2)) / 3);
      expectNear(metrics['rewards/chosen']!, 0);
      expectNear(metrics['rewards/margins']!, (1 - 1.25) / 3);
    });
  });

  it('rejects pairs of different lengths', () => {
    tidy(() => {
      expect(() => dpo({ ...pairs(), refRejected: tf.tensor1d([-1, -2]) })).toThrow(/refRejected/);
    });
  });
});
