import { beforeAll, describe, expect, it } from 'vitest';
import { nll } from '../../../src/main/alol/losses/nll';
import { BACKENDS, batch, expectNear, gradLp, perRow, tidy, useBackend, values } from './helpers';

describe.each(BACKENDS)('nll on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('is the mean over items of the summed response NLL, not length-normalised', () => {
    tidy(() => {
      const { lp, mask } = batch();
      const { loss, metrics } = nll({ lp, mask });
      // Items: 0.5 + 1 + 0.25 = 1.75; 3 + 1.5 = 4.5; 0.3 + 0.7 + 1.2 + 0.4 = 2.6; 0.2 + 0.4 = 0.6.
      const byHand = (1.75 + 4.5 + 2.6 + 0.6) / 4;
      expectNear(values(loss), [byHand]);
      expect(loss.dtype).toBe('float32');
      expect(loss.rank).toBe(0);
      expectNear(metrics.loss!, byHand);
      // A per-token mean would give (1.75/3 + 4.5/2 + 2.6/4 + 0.6/2) / 4 = 0.946: far from 2.3625.
      expect(Math.abs(metrics.loss! - (1.75 / 3 + 4.5 / 2 + 2.6 / 4 + 0.6 / 2) / 4)).toBeGreaterThan(1);
    });
  });

  it('has gradient -1/B on each response token and 0 elsewhere', () => {
    tidy(() => {
      const { lp, mask } = batch();
      expectNear(
        gradLp(lp, (x) => nll({ lp: x, mask }).loss),
        perRow([-0.25, -0.25, -0.25, -0.25]),
      );
    });
  });
});
