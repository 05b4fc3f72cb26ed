import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as losses from '../../../src/main/alol/losses/index';
import {
  computeLoss,
  defaultLossConfig,
  lossConfig,
  lossNames,
  lossNeeds,
  type LossInputs,
  type LossName,
} from '../../../src/main/alol/losses/index';
import { BACKENDS, batch, expectNear, tidy, useBackend } from './helpers';

function allInputs(): LossInputs {
  return {
    ...batch(),
    policyChosen: tf.tensor1d([-5, -8]),
    policyRejected: tf.tensor1d([-7, -6]),
    refChosen: tf.tensor1d([-6, -7]),
    refRejected: tf.tensor1d([-6, -7.5]),
  };
}

const ALOL_METRICS = [
  'alol/positive_fraction',
  'alol/advantage_mean',
  'alol/weight_mean',
  'alol/clipped_low',
  'alol/clipped_high',
];

describe('the loss registry', () => {
  it("names exactly ALOL.md's losses, each exported under its own name", () => {
    expect([...lossNames]).toEqual([
      'nll',
      'wbc',
      'r_gold',
      'r_lol',
      'a_lol',
      'a_lol_ref_free',
      'a_lol_seq',
      'a_lol_kl',
      'dpo',
    ]);
    for (const name of lossNames) expect(typeof losses[name], name).toBe('function');
  });

  it('has the paper defaults, and fills in only what the caller left out', () => {
    expect(defaultLossConfig).toEqual({ eps: 0.9, beta: 0.1, klBeta: 0.2, goldFloor: 0.1 });
    expect(lossConfig({ eps: 0.5, beta: undefined })).toEqual({ eps: 0.5, beta: 0.1, klBeta: 0.2, goldFloor: 0.1 });
  });

  it('says what each loss needs', () => {
    // The algorithm table's columns: pi_ref's log-probs in the loss, and a value head fitted on pi_ref.
    expect(lossNeeds('a_lol')).toEqual({
      referenceLogprobs: true,
      valueHeadOnReference: true,
      signal: 'advantage',
      pairs: false,
    });
    expect(lossNeeds('a_lol_ref_free')).toEqual({
      referenceLogprobs: false,
      valueHeadOnReference: true,
      signal: 'advantage',
      pairs: false,
    });
    expect(lossNeeds('r_gold')).toEqual({
      referenceLogprobs: false,
      valueHeadOnReference: false,
      signal: 'reward',
      pairs: false,
    });
    expect(lossNeeds('r_lol')).toEqual({
      referenceLogprobs: true,
      valueHeadOnReference: false,
      signal: 'reward',
      pairs: false,
    });
    expect(lossNeeds('nll')).toEqual({
      referenceLogprobs: false,
      valueHeadOnReference: false,
      signal: null,
      pairs: false,
    });
    expect(lossNeeds('dpo')).toEqual({
      referenceLogprobs: true,
      valueHeadOnReference: false,
      signal: null,
      pairs: true,
    });
    expect(() => lossNeeds('ppo' as LossName)).toThrow(/unknown loss "ppo"/);
  });
});

describe.each(BACKENDS)('computeLoss on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('gives what calling each loss directly gives, with the config passed through', () => {
    tidy(() => {
      const x = allInputs();
      const b = batch();
      const config = { eps: 0.5, beta: 0.3, klBeta: 0.4, goldFloor: 0.2 };
      const direct: Record<LossName, Record<string, number>> = {
        nll: losses.nll(b).metrics,
        wbc: losses.wbc(b).metrics,
        r_gold: losses.r_gold(b, config).metrics,
        r_lol: losses.r_lol(b, config).metrics,
        a_lol: losses.a_lol(b, config).metrics,
        a_lol_ref_free: losses.a_lol_ref_free(b).metrics,
        a_lol_seq: losses.a_lol_seq(b, config).metrics,
        a_lol_kl: losses.a_lol_kl(b, config).metrics,
        dpo: losses.dpo(
          {
            policyChosen: x.policyChosen!,
            policyRejected: x.policyRejected!,
            refChosen: x.refChosen!,
            refRejected: x.refRejected!,
          },
          config,
        ).metrics,
      };
      for (const name of lossNames) {
        const { loss, metrics } = computeLoss(name, x, config);
        expect(Object.keys(metrics).sort(), name).toEqual(Object.keys(direct[name]).sort());
        for (const [key, value] of Object.entries(direct[name])) expectNear(metrics[key]!, value);
        expectNear(loss.dataSync()[0]!, metrics.loss!);
      }
      // The defaults apply when no config is given.
      expectNear(computeLoss('a_lol', x).metrics.loss!, losses.a_lol(b, defaultLossConfig).metrics.loss!);
    });
  });

  it('reports the same advantage and weight metrics for every A-LoL variant', () => {
    tidy(() => {
      for (const name of ['a_lol', 'a_lol_ref_free', 'a_lol_seq', 'a_lol_kl'] as const) {
        const { metrics } = computeLoss(name, allInputs());
        for (const key of [...ALOL_METRICS, 'loss']) expect(Number.isFinite(metrics[key]), `${name} ${key}`).toBe(true);
      }
    });
  });

  it('names the loss and the input it is missing, and refuses unknown names', () => {
    tidy(() => {
      const { lp, mask } = batch();
      expect(() => computeLoss('a_lol', { lp, mask, advantage: batch().advantage })).toThrow(
        'a_lol: missing input "lpRef"',
      );
      expect(() => computeLoss('wbc', { lp, mask })).toThrow('wbc: missing input "reward"');
      expect(() => computeLoss('dpo', { lp, mask })).toThrow(/dpo: missing input "policyChosen"/);
      // a_lol_ref_free really needs no reference.
      expect(() => computeLoss('a_lol_ref_free', { lp, mask, advantage: batch().advantage }).loss).not.toThrow();
      expect(() => computeLoss('ppo' as LossName, allInputs())).toThrow(/unknown loss "ppo"; use one of nll, wbc/);
    });
  });

  it('rejects mismatched shapes and non-float32 inputs', () => {
    tidy(() => {
      const b = batch();
      expect(() => computeLoss('a_lol', { ...b, lpRef: tf.zeros([4, 3]) as tf.Tensor2D })).toThrow(
        /lpRef must be \(4, 4\)/,
      );
      expect(() => computeLoss('a_lol', { ...b, advantage: tf.zeros([3]) as tf.Tensor1D })).toThrow(
        /advantage must be \(4\)/,
      );
      expect(() => computeLoss('nll', { ...b, mask: tf.cast(b.mask, 'int32') })).toThrow(/mask must be float32/);
      expect(() =>
        computeLoss('nll', { ...b, lp: tf.zeros([0, 4]) as tf.Tensor2D, mask: tf.zeros([0, 4]) as tf.Tensor2D }),
      ).toThrow(/B >= 1/);
    });
  });

  it('ignores whatever lp holds outside the mask, and sends no gradient there', () => {
    tidy(() => {
      const b = batch();
      const mask = b.mask.arraySync();
      // Prompt and padding positions filled with junk instead of the zeros tokenLogprobs writes.
      const junk = tf.tensor2d(b.lp.arraySync().map((row, i) => row.map((v, t) => (mask[i]![t] === 1 ? v : -7.5))));
      for (const name of lossNames.filter((n) => n !== 'dpo')) {
        expectNear(computeLoss(name, { ...b, lp: junk }).metrics.loss!, computeLoss(name, b).metrics.loss!);
        const g = tf
          .grad((lp: tf.Tensor) => computeLoss(name, { ...b, lp: lp as tf.Tensor2D }).loss)(junk)
          .arraySync() as number[][];
        g.forEach((row, i) =>
          row.forEach((v, t) => mask[i]![t] === 0 && expect(Math.abs(v), `${name} [${i}, ${t}]`).toBe(0)),
        );
      }
    });
  });
});
