import { beforeAll, describe, expect, it } from 'vitest';
import { a_lol } from '../../../src/main/alol/losses/aLol';
import { a_lol_seq } from '../../../src/main/alol/losses/aLolSeq';
import { BACKENDS, batch, expectNear, gradLp, tidy, useBackend, values } from './helpers';

const e = Math.exp;

/**
 * Per-token lp - lpRef on the fixture's response tokens, and the clamped w_t (eps = 0.9):
 *   row 0: 0.1, -0.1, 0.25         -> e^0.1, e^-0.1, e^0.25
 *   row 1: -2.6 (low), -0.9        -> 0.1, e^-0.9
 *   row 2: 0.7 (high), 0.8 (high), -0.7, 0.6 -> 1.9, 1.9, e^-0.7, e^0.6
 *   row 3: -0.1, -0.3 (A < 0)      -> e^-0.1, e^-0.3
 */
const W = [
  [e(0.1), e(-0.1), e(0.25), 0],
  [0, 0.1, e(-0.9), 0],
  [1.9, 1.9, e(-0.7), e(0.6)],
  [e(-0.1), e(-0.3), 0, 0],
];

describe.each(BACKENDS)('a_lol_seq on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('weights each token NLL by its own clamped ratio', () => {
    tidy(() => {
      const { loss, metrics } = a_lol_seq(batch());
      const byHand =
        (0.5 * (e(0.1) * 0.5 + e(-0.1) * 1 + e(0.25) * 0.25) +
          0.8 * (0.1 * 3 + e(-0.9) * 1.5) +
          1.5 * (1.9 * 0.3 + 1.9 * 0.7 + e(-0.7) * 1.2 + e(0.6) * 0.4) +
          0) /
        4;
      expectNear(values(loss), [byHand]);
      expectNear(metrics.loss!, byHand);
      // Weight metrics are over the 11 response tokens.
      expectNear(metrics['alol/weight_mean']!, W.flat().reduce((a, b) => a + b) / 11);
      expectNear(metrics['alol/clipped_low']!, 1 / 11);
      expectNear(metrics['alol/clipped_high']!, 2 / 11);
      expect(metrics['alol/positive_fraction']).toBe(0.75);
      expectNear(metrics['alol/advantage_mean']!, 0.525);
      expectNear(metrics['alol/log_ratio_mean']!, -0.5625);
      // Not the sequence weight: a_lol on the same batch differs.
      expect(Math.abs(a_lol(batch()).metrics.loss! - byHand)).toBeGreaterThan(0.1);
    });
  });

  it('has gradient -A+ * w_t / B per token, w_t a constant (clipped tokens at 0.1 and 1.9)', () => {
    tidy(() => {
      const b = batch();
      const g = gradLp(b.lp, (lp) => a_lol_seq({ ...b, lp }).loss);
      const aPlus = [0.5, 0.8, 1.5, 0];
      expectNear(
        g,
        W.flatMap((row, i) => row.map((w) => (-aPlus[i]! * w) / 4)),
      );
    });
  });

  it('gives A <= 0 items no loss and no gradient', () => {
    tidy(() => {
      const b = batch({ advantage: [-0.5, 0, -1.5, -0.7] });
      expect(values(a_lol_seq(b).loss)[0]).toBe(0);
      expect(gradLp(b.lp, (lp) => a_lol_seq({ ...b, lp }).loss).every((v) => v === 0)).toBe(true);
    });
  });
});
