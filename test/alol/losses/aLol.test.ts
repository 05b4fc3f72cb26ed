import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { a_lol } from '../../../src/main/alol/losses/aLol';
import { BACKENDS, batch, expectNear, gradLp, perRow, tidy, useBackend, values } from './helpers';

const e = Math.exp;

describe.each(BACKENDS)('a_lol on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('is A+ * w * NLL with w clamped in [0.1, 1.9]: one item inside, one clipped low, one high, one A < 0', () => {
    tidy(() => {
      const { loss, metrics } = a_lol(batch());
      // l - l_ref = [0.25, -3.5, 1.4, -0.4] -> w = [e^0.25, 0.1, 1.9, e^-0.4]; A+ = [0.5, 0.8, 1.5, 0].
      const byHand = (0.5 * e(0.25) * 1.75 + 0.8 * 0.1 * 4.5 + 1.5 * 1.9 * 2.6 + 0) / 4;
      expectNear(values(loss), [byHand]);
      expectNear(metrics.loss!, byHand);
      expect(metrics['alol/positive_fraction']).toBe(0.75);
      expectNear(metrics['alol/advantage_mean']!, (0.5 + 0.8 + 1.5 - 0.7) / 4);
      expectNear(metrics['alol/weight_mean']!, (e(0.25) + 0.1 + 1.9 + e(-0.4)) / 4);
      expect(metrics['alol/clipped_low']).toBe(0.25);
      expect(metrics['alol/clipped_high']).toBe(0.25);
      expectNear(metrics['alol/log_ratio_mean']!, -0.5625);
    });
  });

  it('has gradient -A+ * w / B on response tokens, w a constant; clipped items keep 0.1 and 1.9 of it', () => {
    tidy(() => {
      const b = batch();
      const g = gradLp(b.lp, (lp) => a_lol({ ...b, lp }).loss);
      // Were w differentiated, item 0's tokens would get -0.5 * e^0.25 * (1 + l) / 4 instead (l = -1.75).
      expectNear(g, perRow([(-0.5 * e(0.25)) / 4, (-0.8 * 0.1) / 4, (-1.5 * 1.9) / 4, 0]));
    });
  });

  it('gives an item with A <= 0 no loss and no gradient, never a negative loss', () => {
    tidy(() => {
      const b = batch({ advantage: [0, -0.8, -1.5, -0.7] });
      const { loss, metrics } = a_lol(b);
      expect(values(loss)[0]).toBe(0);
      expect(metrics['alol/positive_fraction']).toBe(0);
      expect(gradLp(b.lp, (lp) => a_lol({ ...b, lp }).loss).every((v) => v === 0)).toBe(true);
    });
  });

  it('never differentiates the reference log-probs or the advantage', () => {
    tidy(() => {
      const b = batch();
      const [, gRef, gAdv] = tf.grads(
        (lp: tf.Tensor, lpRef: tf.Tensor, advantage: tf.Tensor) =>
          // tf.grads types its inputs as Tensor; these are the fixture's own shapes.
          a_lol({
            lp: lp as tf.Tensor2D,
            mask: b.mask,
            lpRef: lpRef as tf.Tensor2D,
            advantage: advantage as tf.Tensor1D,
          }).loss,
      )([b.lp, b.lpRef, b.advantage]);
      expect(values(gRef!).every((v) => v === 0)).toBe(true);
      expect(values(gAdv!).every((v) => v === 0)).toBe(true);
    });
  });

  it('clamps with the configured eps', () => {
    tidy(() => {
      // eps = 0.2: bounds [0.8, 1.2]; l - l_ref = [0.25 (e^0.25 = 1.28: high), -3.5 (low), 1.4 (high), -0.4 (e^-0.4 = 0.67: low)].
      const { metrics } = a_lol(batch(), { eps: 0.2 });
      expectNear(metrics.loss!, (0.5 * 1.2 * 1.75 + 0.8 * 0.8 * 4.5 + 1.5 * 1.2 * 2.6) / 4);
      expect(metrics['alol/clipped_low']).toBe(0.5);
      expect(metrics['alol/clipped_high']).toBe(0.5);
      // eps = 0: w = 1, so a_lol is a_lol_ref_free.
      expectNear(a_lol(batch(), { eps: 0 }).metrics.loss!, (0.5 * 1.75 + 0.8 * 4.5 + 1.5 * 2.6) / 4);
    });
  });

  it('rejects eps outside [0, 1)', () => {
    tidy(() => {
      for (const eps of [1, 1.5, -0.1, Number.NaN]) expect(() => a_lol(batch(), { eps }), `eps ${eps}`).toThrow(/eps/);
    });
  });
});
