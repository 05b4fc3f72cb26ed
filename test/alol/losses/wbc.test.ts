import { beforeAll, describe, expect, it } from 'vitest';
import { wbc } from '../../../src/main/alol/losses/wbc';
import { BACKENDS, batch, expectNear, gradLp, perRow, tidy, useBackend, values } from './helpers';

describe.each(BACKENDS)('wbc on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('weights each summed NLL by its reward', () => {
    tidy(() => {
      const { lp, mask, reward } = batch();
      const { loss, metrics } = wbc({ lp, mask, reward });
      const byHand = (0.9 * 1.75 + 0.2 * 4.5 + 0.6 * 2.6 + 0 * 0.6) / 4; // 1.00875
      expectNear(values(loss), [byHand]);
      expectNear(metrics.loss!, byHand);
      expectNear(metrics['alol/reward_mean']!, (0.9 + 0.2 + 0.6 + 0) / 4);
      expect(Object.keys(metrics).sort()).toEqual(['alol/reward_mean', 'loss']);
    });
  });

  it('has gradient -R/B on each response token', () => {
    tidy(() => {
      const { lp, mask, reward } = batch();
      expectNear(
        gradLp(lp, (x) => wbc({ lp: x, mask, reward }).loss),
        perRow([-0.9 / 4, -0.2 / 4, -0.6 / 4, 0]),
      );
    });
  });
});
