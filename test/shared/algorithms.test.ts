/**
 * The algorithm table (src/shared/algorithms.ts) against what uses it: the losses computeLoss
 * implements and the inputs each reads, the hyperparameters each loss reads, the contract's
 * RunConfig and RetrainRequest, and the trainer's choice of what to load.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { beforeAll, describe, expect, it } from 'vitest';
import * as losses from '../../src/main/alol/losses/index';
import {
  computeLoss,
  defaultLossConfig,
  lossNames,
  lossNeeds,
  type LossInputs,
  type LossName,
} from '../../src/main/alol/losses/index';
import {
  algorithm,
  algorithmFamilies,
  algorithmNames,
  algorithms,
  algorithmsUsing,
  formatRange,
  hyperparameterNames,
  hyperparameters,
  inRange,
  loadsReference,
  unusedHyperparameterMessage,
  unusedHyperparameters,
  usesHyperparameter,
  withoutUnusedHyperparameters,
  type HyperparameterName,
} from '../../src/shared/algorithms';
import { algos, RetrainRequest, RunConfig } from '../../src/shared/contract';
import { batch, tidy, useBackend } from '../alol/losses/helpers';

/** The inputs the trainer builds for an algorithm, from its needs (as trainRun does), on the losses' fixture batch. */
function inputsFor(name: LossName): LossInputs {
  const needs = lossNeeds(name);
  if (needs.pairs) {
    return {
      policyChosen: tf.tensor1d([-5, -8]),
      policyRejected: tf.tensor1d([-7, -6]),
      refChosen: tf.tensor1d([-6, -7]),
      refRejected: tf.tensor1d([-6, -7.5]),
    };
  }
  const b = batch();
  return {
    lp: b.lp,
    mask: b.mask,
    ...(needs.referenceLogprobs ? { lpRef: b.lpRef } : {}),
    ...(needs.signal === 'reward' ? { reward: b.reward } : {}),
    ...(needs.signal === 'advantage' ? { advantage: b.advantage } : {}),
  };
}

const lossOf = (name: LossName, inputs: LossInputs, config = {}): number =>
  computeLoss(name, inputs, config).metrics.loss!;

/** A value inside the range, away from the default, that each hyperparameter's users feel on the fixture. */
const other: Record<HyperparameterName, number> = { eps: 0.3, beta: 0.5, klBeta: 0.7 };

describe('the algorithm table', () => {
  beforeAll(() => useBackend('cpu'));

  it('names exactly the losses computeLoss implements, in ALOL.md order', () => {
    expect([...algorithmNames]).toEqual([
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
    expect(lossNames).toBe(algorithmNames);
    for (const name of algorithmNames) expect(typeof losses[name], name).toBe('function');
    expect(() => computeLoss('ppo' as LossName, {})).toThrow(/unknown loss "ppo"/);
    expect(() => lossNeeds('ppo' as LossName)).toThrow(/unknown loss "ppo"/);
  });

  it('gives every loss exactly the inputs it needs: with them it computes, without any one it refuses', () => {
    tidy(() => {
      for (const name of algorithmNames) {
        const inputs = inputsFor(name);
        expect(Number.isFinite(lossOf(name, inputs)), name).toBe(true);
        for (const key of Object.keys(inputs) as (keyof LossInputs)[]) {
          expect(() => computeLoss(name, { ...inputs, [key]: undefined }), `${name} without ${key}`).toThrow(
            /missing input/,
          );
        }
      }
      // a_lol_ref_free reads no pi_ref log-probs, though its value head is fitted on pi_ref.
      expect(lossNeeds('a_lol_ref_free')).toMatchObject({ referenceLogprobs: false, valueHeadOnReference: true });
      expect(loadsReference('a_lol_ref_free')).toBe(true);
    });
  });

  it('lists the hyperparameters each loss reads: changing one changes the loss of exactly the algorithms that use it', () => {
    tidy(() => {
      for (const name of algorithmNames) {
        const inputs = inputsFor(name);
        const base = lossOf(name, inputs);
        for (const key of hyperparameterNames) {
          const changed = lossOf(name, inputs, { [key]: other[key] });
          expect(Math.abs(changed - base) > 1e-6, `${name} ${key}`).toBe(usesHyperparameter(name, key));
        }
      }
    });
  });

  it('keeps every default inside its range, and the losses start from those defaults', () => {
    for (const key of hyperparameterNames) {
      const spec = hyperparameters[key];
      expect(inRange(key, spec.default), key).toBe(true);
      expect(inRange(key, other[key]), key).toBe(true);
      expect(defaultLossConfig[key]).toBe(spec.default);
      expect(spec.description).not.toBe('');
      expect(algorithmsUsing(key).length, key).toBeGreaterThan(0);
      // Each end as the table says, inclusive or not.
      expect(inRange(key, spec.min.value)).toBe(spec.min.inclusive);
      if (spec.max) expect(inRange(key, spec.max.value)).toBe(spec.max.inclusive);
      expect(inRange(key, Number.NaN)).toBe(false);
    }
    expect({ eps: formatRange('eps'), beta: formatRange('beta'), klBeta: formatRange('klBeta') }).toEqual({
      eps: 'in [0, 1)',
      beta: '> 0',
      klBeta: '>= 0',
    });
    expect(defaultLossConfig).toEqual({ eps: 0.9, beta: 0.1, klBeta: 0.2, goldFloor: 0.1 });
    // The losses refuse what the table refuses.
    tidy(() =>
      expect(() => computeLoss('a_lol', inputsFor('a_lol'), { eps: 1 })).toThrow(/eps must be in \[0, 1\), got 1/),
    );
  });

  it('is consistent in itself: a value head exactly for advantages, pairs without a per-item signal, every family used', () => {
    for (const name of algorithmNames) {
      const a = algorithm(name);
      expect(a.valueHeadOnReference, name).toBe(a.signal === 'advantage');
      if (a.pairs) expect(a.signal, name).toBeNull();
      expect(loadsReference(name), name).toBe(a.referenceLogprobs || a.valueHeadOnReference);
      expect(a.summary, name).not.toBe('');
    }
    expect(new Set(algorithmNames.map((n) => algorithms[n].family))).toEqual(new Set(algorithmFamilies));
    expect(algorithmsUsing('eps')).toEqual(['r_lol', 'a_lol', 'a_lol_seq']);
    expect(algorithmsUsing('beta')).toEqual(['dpo']);
    expect(algorithmsUsing('klBeta')).toEqual(['a_lol_kl']);
  });

  it('is what the trainer decides by: it loads pi_ref for either column and runs it per batch only for log-probs', () => {
    // trainRun needs models and data to run (test/alol/train.test.ts does); here, that it reads the table's columns.
    const source = readFileSync(new URL('../../src/main/alol/trainRun.ts', import.meta.url), 'utf8');
    expect(source).toMatch(/usesReference = needs\.referenceLogprobs \|\| needs\.valueHeadOnReference;/);
    expect(source).toMatch(/if \(needs\.referenceLogprobs\) inputs\.lpRef = /);
    expect(source).not.toMatch(/needs\.reference\b(?!Logprobs)/);
  });
});

describe('the contract, built from the table', () => {
  const base = { data: 'demo', init: 'base', out: 'x' };
  const inputSchema = z.toJSONSchema(RunConfig, { io: 'input' }) as {
    properties: Record<string, Record<string, unknown>>;
  };

  it("takes RunConfig's algo and the hyperparameters' ranges, defaults and help from it", () => {
    expect(algos).toEqual(algorithmNames);
    expect(RunConfig.shape.algo.options).toEqual(algorithmNames);
    for (const key of hyperparameterNames) {
      const { min, max, default: byDefault, description } = hyperparameters[key];
      const property = inputSchema.properties[key]!;
      expect(property[min.inclusive ? 'minimum' : 'exclusiveMinimum'], key).toBe(min.value);
      if (max) expect(property[max.inclusive ? 'maximum' : 'exclusiveMaximum'], key).toBe(max.value);
      else expect(property.maximum ?? property.exclusiveMaximum, key).toBeUndefined();
      expect(property.default, key).toBe(byDefault);
      expect(property.description, key).toContain(description);
      expect(property.description, key).toContain(`used by ${algorithmsUsing(key).join(', ')}`);
    }
  });

  it('refuses every hyperparameter an algorithm does not use, and fills in the defaults of those it does', () => {
    for (const algo of algorithmNames) {
      const parsed = RunConfig.parse({ ...base, algo });
      for (const key of hyperparameterNames) {
        const given = RunConfig.safeParse({ ...base, algo, [key]: other[key] });
        if (usesHyperparameter(algo, key)) {
          expect(parsed[key], `${algo} ${key}`).toBe(hyperparameters[key].default);
          expect(given.data?.[key], `${algo} ${key}`).toBe(other[key]);
        } else {
          expect(parsed, `${algo} ${key}`).not.toHaveProperty(key);
          expect(given.error?.issues, `${algo} ${key}`).toEqual([
            { code: 'custom', path: [key], message: unusedHyperparameterMessage(algo, key) },
          ]);
        }
      }
      // A parsed config parses again to itself (stored runs are read back through the same schema).
      expect(RunConfig.parse(parsed)).toEqual(parsed);
    }
    expect(unusedHyperparameterMessage('nll', 'eps', '--eps')).toBe(
      '--eps is used by r_lol, a_lol, a_lol_seq (the importance-weight clip); nll does not use it',
    );
    expect(unusedHyperparameters({ algo: 'dpo', eps: 0.5, beta: 0.2, klBeta: undefined })).toEqual(['eps']);
    // An unknown algorithm is refused for itself, not for its hyperparameters.
    expect(unusedHyperparameters({ algo: 'ppo', eps: 0.5 })).toEqual([]);
    expect(RunConfig.safeParse({ ...base, algo: 'ppo', eps: 0.5 }).error?.issues.map((i) => i.path)).toEqual([
      ['algo'],
    ]);
    expect(withoutUnusedHyperparameters({ algo: 'a_lol' as const, eps: 0.9, beta: 0.1, klBeta: 0.2 })).toEqual({
      algo: 'a_lol',
      eps: 0.9,
    });
  });

  it('retrains with the single-response algorithms only: the ratings become (prompt, response, reward) rows', () => {
    const retrainable = RetrainRequest.shape.algo.unwrap().options;
    expect(retrainable).toEqual(algorithmNames.filter((n) => !algorithm(n).pairs));
    expect(RetrainRequest.safeParse({ campaign: 'c', algo: 'dpo' }).success).toBe(false);
    expect(RetrainRequest.parse({ campaign: 'c' }).algo).toBe('a_lol');
  });
});
