import { beforeAll, describe, expect, it } from 'vitest';
import { r_lol } from '../../../src/main/alol/losses/rLol';
import { BACKENDS, batch, expectNear, gradLp, perRow, tidy, useBackend, values } from './helpers';

const e = Math.exp;

describe.each(BACKENDS)('r_lol on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('weights R * NLL by the sequence ratio clamped to [0.1, 1.9]: inside, low and high', () => {
    tidy(() => {
      const b = batch();
      const { loss, metrics } = r_lol(b);
      // w = [e^0.25, 0.1 (e^-3.5 clipped), 1.9 (e^1.4 clipped), e^-0.4]; item 3 has R = 0.
      const byHand = (0.9 * e(0.25) * 1.75 + 0.2 * 0.1 * 4.5 + 0.6 * 1.9 * 2.6 + 0) / 4;
      expectNear(values(loss), [byHand]);
      expectNear(metrics.loss!, byHand);
      expectNear(metrics['alol/reward_mean']!, 0.425);
      expectNear(metrics['alol/weight_mean']!, (e(0.25) + 0.1 + 1.9 + e(-0.4)) / 4);
      expect(metrics['alol/clipped_low']).toBe(0.25);
      expect(metrics['alol/clipped_high']).toBe(0.25);
      expectNear(metrics['alol/log_ratio_mean']!, (0.25 - 3.5 + 1.4 - 0.4) / 4);
    });
  });

  it('has gradient -R * w / B with w a constant, clipped items included', () => {
    tidy(() => {
      const b = batch();
      const g = gradLp(b.lp, (lp) => r_lol({ ...b, lp }).loss);
      expectNear(g, perRow([(-0.9 * e(0.25)) / 4, (-0.2 * 0.1) / 4, (-0.6 * 1.9) / 4, 0]));
    });
  });
});
