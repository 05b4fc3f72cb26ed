/**
 * Numerical safety: log-ratios of +-1000 nats (exp of which is Infinity or 0 in any float), token
 * probabilities of e^-1000, and DPO margins of 1000 all give finite float32 losses and gradients.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { computeLoss, lossNames } from '../../../src/main/alol/losses/index';
import { BACKENDS, expectNear, tidy, useBackend, values } from './helpers';

/**
 * Row 0: l - l_ref = -1000; row 1: +1000 (per token -500 and +500). Row 2: l = -1000 and
 * l_ref = -1000.5, a ratio of e^0.5 between two probabilities that are both 0 in any float: only
 * a ratio built from log-probs gets it.
 */
function extreme() {
  return {
    lp: tf.tensor2d([
      [-500, -500],
      [-0.5, -0.5],
      [-500, -500],
    ]),
    lpRef: tf.tensor2d([
      [0, 0],
      [-500.5, -500.5],
      [-500.25, -500.25],
    ]),
    mask: tf.tensor2d([
      [1, 1],
      [1, 1],
      [1, 1],
    ]),
    advantage: tf.tensor1d([0.5, 2, 1]),
    reward: tf.tensor1d([0.5, 2, 1]),
    policyChosen: tf.tensor1d([-1000, 0]),
    policyRejected: tf.tensor1d([0, -1000]),
    refChosen: tf.tensor1d([0, 0]),
    refRejected: tf.tensor1d([0, 0]),
  };
}

describe.each(BACKENDS)('numerical safety on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('every loss stays finite, float32, with a finite float32 gradient, at +-1000 nats', () => {
    tidy(() => {
      const x = extreme();
      for (const name of lossNames) {
        const { loss, metrics } = computeLoss(name, x, { beta: 1 });
        expect(loss.dtype, name).toBe('float32');
        for (const [key, v] of Object.entries(metrics)) expect(Number.isFinite(v), `${name} ${key} = ${v}`).toBe(true);
        const wrt = name === 'dpo' ? x.policyChosen : x.lp;
        const g = tf.grad(
          (t: tf.Tensor) =>
            // The input replaced is the one the loss differentiates; both are float32 of the right shape.
            computeLoss(
              name,
              name === 'dpo' ? { ...x, policyChosen: t as tf.Tensor1D } : { ...x, lp: t as tf.Tensor2D },
              { beta: 1 },
            ).loss,
        )(wrt);
        expect(g.dtype, name).toBe('float32');
        expect(values(g).every(Number.isFinite), `${name} gradient ${values(g)}`).toBe(true);
      }
    });
  });

  it('clamps weights of e^-1000 and e^+1000 to exactly the bounds, and keeps e^0.5 between two underflowed probabilities', () => {
    tidy(() => {
      const x = extreme();
      for (const name of ['a_lol', 'r_lol'] as const) {
        const { metrics } = computeLoss(name, x);
        expectNear(metrics['alol/clipped_low']!, 1 / 3);
        expectNear(metrics['alol/clipped_high']!, 1 / 3);
        expectNear(metrics['alol/weight_mean']!, (0.1 + 1.9 + Math.exp(0.5)) / 3);
        expectNear(metrics.loss!, (0.5 * 0.1 * 1000 + 2 * 1.9 * 1 + 1 * Math.exp(0.5) * 1000) / 3);
      }
      // Per token: -500, +500 (clipped) and 0.25 nats.
      const seq = computeLoss('a_lol_seq', x).metrics;
      expectNear(seq.loss!, (0.5 * 0.1 * 1000 + 2 * 1.9 * 1 + 1 * Math.exp(0.25) * 1000) / 3);
      expectNear(seq['alol/clipped_low']!, 1 / 3);
      expectNear(seq['alol/clipped_high']!, 1 / 3);
    });
  });

  it('floors r_gold weights of tokens with probability e^-500', () => {
    tidy(() => {
      const { metrics } = computeLoss('r_gold', extreme());
      expectNear(metrics.loss!, (0.5 * 0.1 * 1000 + 2 * Math.exp(-0.5) * 1 + 1 * 0.1 * 1000) / 3);
      expectNear(metrics['alol/gold_floored']!, 4 / 6);
    });
  });

  it('dpo at margins of +-1000 (beta = 1): loss 0 for one pair, 1000 for the other, gradient -beta / B on the lost one', () => {
    tidy(() => {
      const x = extreme();
      expectNear(computeLoss('dpo', x, { beta: 1 }).metrics.loss!, (0 + 1000) / 2);
      const g = tf.grad(
        (t: tf.Tensor) => computeLoss('dpo', { ...x, policyChosen: t as tf.Tensor1D }, { beta: 1 }).loss,
      )(x.policyChosen);
      expectNear(values(g), [-0.5, 0]);
    });
  });
});
