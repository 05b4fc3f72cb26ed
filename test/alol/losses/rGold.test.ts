import { beforeAll, describe, expect, it } from 'vitest';
import { r_gold } from '../../../src/main/alol/losses/rGold';
import { wbc } from '../../../src/main/alol/losses/wbc';
import { BACKENDS, batch, expectNear, gradLp, tidy, useBackend, values } from './helpers';

const e = Math.exp;

describe.each(BACKENDS)('r_gold on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('weights each token NLL by its detached probability, floored at 0.1, times the reward', () => {
    tidy(() => {
      const { lp, mask, reward } = batch();
      const { loss, metrics } = r_gold({ lp, mask, reward });
      // Row 1's first response token has p = e^-3 = 0.0498, below the floor: weight 0.1.
      const byHand =
        (0.9 * (e(-0.5) * 0.5 + e(-1) * 1 + e(-0.25) * 0.25) +
          0.2 * (0.1 * 3 + e(-1.5) * 1.5) +
          0.6 * (e(-0.3) * 0.3 + e(-0.7) * 0.7 + e(-1.2) * 1.2 + e(-0.4) * 0.4) +
          0) /
        4;
      expectNear(values(loss), [byHand]);
      expectNear(metrics.loss!, byHand);
      expectNear(metrics['alol/reward_mean']!, 0.425);
      // Over the 11 response tokens (row 3's included: metrics do not depend on the reward).
      const weights = [e(-0.5), e(-1), e(-0.25), 0.1, e(-1.5), e(-0.3), e(-0.7), e(-1.2), e(-0.4), e(-0.2), e(-0.4)];
      expectNear(metrics['alol/gold_weight_mean']!, weights.reduce((a, b) => a + b) / 11);
      expectNear(metrics['alol/gold_floored']!, 1 / 11);
    });
  });

  it('has gradient -R * max(p_t, 0.1) / B: the weight is a constant', () => {
    tidy(() => {
      const { lp, mask, reward } = batch();
      const g = gradLp(lp, (x) => r_gold({ lp: x, mask, reward }).loss);
      const q = 4;
      expectNear(g, [
        ...[-0.9 * e(-0.5), -0.9 * e(-1), -0.9 * e(-0.25), 0].map((v) => v / q),
        ...[0, -0.2 * 0.1, -0.2 * e(-1.5), 0].map((v) => v / q),
        ...[-0.6 * e(-0.3), -0.6 * e(-0.7), -0.6 * e(-1.2), -0.6 * e(-0.4)].map((v) => v / q),
        0,
        0,
        0,
        0,
      ]);
    });
  });

  it('takes its floor from the config; a floor of 1 makes it wbc', () => {
    tidy(() => {
      const { lp, mask, reward } = batch();
      const half = r_gold({ lp, mask, reward }, { goldFloor: 0.5 });
      // Floored at 0.5: e^-1, e^-3, e^-1.5, e^-0.7, e^-1.2 (5 of 11 tokens).
      expectNear(half.metrics['alol/gold_floored']!, 5 / 11);
      const byHand =
        (0.9 * (e(-0.5) * 0.5 + 0.5 * 1 + e(-0.25) * 0.25) +
          0.2 * (0.5 * 3 + 0.5 * 1.5) +
          0.6 * (e(-0.3) * 0.3 + 0.5 * 0.7 + 0.5 * 1.2 + e(-0.4) * 0.4)) /
        4;
      expectNear(half.metrics.loss!, byHand);
      expectNear(r_gold({ lp, mask, reward }, { goldFloor: 1 }).metrics.loss!, wbc({ lp, mask, reward }).metrics.loss!);
    });
  });

  it('rejects a non-finite floor', () => {
    tidy(() => {
      const { lp, mask, reward } = batch();
      expect(() => r_gold({ lp, mask, reward }, { goldFloor: Number.NaN })).toThrow(/goldFloor/);
    });
  });
});
