import { beforeAll, describe, expect, it } from 'vitest';
import { a_lol_ref_free } from '../../../src/main/alol/losses/aLolRefFree';
import { BACKENDS, batch, expectNear, gradLp, perRow, tidy, useBackend, values } from './helpers';

describe.each(BACKENDS)('a_lol_ref_free on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('is A+ * NLL, needing no reference', () => {
    tidy(() => {
      const { lp, mask, advantage } = batch();
      const { loss, metrics } = a_lol_ref_free({ lp, mask, advantage });
      const byHand = (0.5 * 1.75 + 0.8 * 4.5 + 1.5 * 2.6 + 0) / 4; // 2.09375
      expectNear(values(loss), [byHand]);
      expect(metrics).toEqual({
        loss: expect.closeTo(byHand, 5),
        'alol/positive_fraction': 0.75,
        'alol/advantage_mean': expect.closeTo(0.525, 6),
        'alol/weight_mean': 1,
        'alol/clipped_low': 0,
        'alol/clipped_high': 0,
      });
    });
  });

  it('has gradient -A+ / B, and none from items with A <= 0', () => {
    tidy(() => {
      const { lp, mask } = batch();
      const advantage = batch({ advantage: [0.5, 0, 1.5, -0.7] }).advantage;
      expectNear(
        gradLp(lp, (x) => a_lol_ref_free({ lp: x, mask, advantage }).loss),
        perRow([-0.5 / 4, 0, -1.5 / 4, 0]),
      );
      expectNear(a_lol_ref_free({ lp, mask, advantage }).metrics.loss!, (0.5 * 1.75 + 1.5 * 2.6) / 4);
    });
  });
});
