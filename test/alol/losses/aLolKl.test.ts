import { beforeAll, describe, expect, it } from 'vitest';
import { a_lol_kl } from '../../../src/main/alol/losses/aLolKl';
import { a_lol_ref_free } from '../../../src/main/alol/losses/aLolRefFree';
import { defaultLossConfig } from '../../../src/main/alol/losses/index';
import { BACKENDS, batch, expectNear, gradLp, perRow, tidy, useBackend, values } from './helpers';

describe.each(BACKENDS)('a_lol_kl on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('is A+ * NLL + klBeta * (l_theta - l_ref), klBeta 0.2 by default', () => {
    expect(defaultLossConfig.klBeta).toBe(0.2);
    tidy(() => {
      const { loss, metrics } = a_lol_kl(batch());
      // l - l_ref = [0.25, -3.5, 1.4, -0.4]; the A < 0 item still pays its KL term.
      const byHand =
        (0.5 * 1.75 + 0.2 * 0.25 + (0.8 * 4.5 + 0.2 * -3.5) + (1.5 * 2.6 + 0.2 * 1.4) + (0 + 0.2 * -0.4)) / 4;
      expectNear(values(loss), [byHand]);
      expectNear(metrics.loss!, byHand);
      expectNear(metrics['alol/kl_penalty']!, (0.2 * (0.25 - 3.5 + 1.4 - 0.4)) / 4);
      expectNear(metrics['alol/log_ratio_mean']!, -0.5625);
      expect(metrics['alol/positive_fraction']).toBe(0.75);
      expect(metrics['alol/weight_mean']).toBe(1);
    });
  });

  it('takes klBeta from the config', () => {
    tidy(() => {
      const byHand = (0.5 * 1.75 + 0.8 * 4.5 + 1.5 * 2.6 + 0.5 * (0.25 - 3.5 + 1.4 - 0.4)) / 4;
      expectNear(a_lol_kl(batch(), { klBeta: 0.5 }).metrics.loss!, byHand);
    });
  });

  it('has gradient (klBeta - A+) / B on response tokens: an item with A+ < klBeta is pushed down', () => {
    tidy(() => {
      const b = batch();
      const g = gradLp(b.lp, (lp) => a_lol_kl({ ...b, lp }).loss);
      expectNear(g, perRow([(0.2 - 0.5) / 4, (0.2 - 0.8) / 4, (0.2 - 1.5) / 4, (0.2 - 0) / 4]));
      expect(g[12]).toBeGreaterThan(0); // item 3 (A < 0): gradient descent lowers its log-prob
    });
  });

  it("equals a_lol_ref_free's gradient with every advantage lowered by klBeta (ALOL.md)", () => {
    tidy(() => {
      for (const klBeta of [0.2, 0.35]) {
        // All A >= klBeta, so A - klBeta stays >= 0 and a_lol_ref_free's max(., 0) does not bite.
        const advantage = [0.5, 0.8, 1.5, 0.4];
        const b = batch({ advantage });
        const lowered = batch({ advantage: advantage.map((a) => a - klBeta) }).advantage;
        const gKl = gradLp(b.lp, (lp) => a_lol_kl({ ...b, lp }, { klBeta }).loss);
        const gFree = gradLp(b.lp, (lp) => a_lol_ref_free({ lp, mask: b.mask, advantage: lowered }).loss);
        expectNear(gKl, gFree);
      }
      // In general (any sign of A): the gradient is a_lol_ref_free's plus klBeta / B on each response token.
      const b = batch({ advantage: [0.1, -2, 1.5, 0] });
      const gKl = gradLp(b.lp, (lp) => a_lol_kl({ ...b, lp }).loss);
      const gFree = gradLp(b.lp, (lp) => a_lol_ref_free({ lp, mask: b.mask, advantage: b.advantage }).loss);
      expectNear(
        gKl,
        gFree.map((g, i) => g + perRow([0.05, 0.05, 0.05, 0.05])[i]!),
      );
    });
  });
});
