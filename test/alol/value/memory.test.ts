/** No tensor outlives predict, the reference's states, fitting, advantages or decode targets. */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeAdvantages } from '../../../src/main/alol/advantages';
import { fitValueHead } from '../../../src/main/alol/valueHead';
import { predictValues, promptStates, stackStates, PooledHead } from '../../../src/main/lm/pooledHead';
import { decodeTargets } from '../../../src/main/alol/valueTargets';
import type { Gpt } from '../../../src/main/lm/model';
import { Rng } from '../../../src/main/core/rng';
import { decodeIds, synthRows, TINY, tinyReference, useWasm } from './helpers';

/** Runs fn once to warm caches (causal masks are built once per length and kept), then checks three more runs leave the count flat. */
async function expectNoLeak(name: string, fn: () => unknown): Promise<void> {
  await fn();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) await fn();
  expect(tf.memory().numTensors, name).toBe(before);
}

describe('tensor hygiene', () => {
  let reference: Gpt;
  let head: PooledHead;
  const rows = synthRows(20, 1);
  const prompts = rows.map((r) => r.promptIds);

  beforeAll(async () => {
    await useWasm();
    reference = tinyReference();
    head = PooledHead.init({ nEmbd: TINY.nEmbd, maxValue: 1 }, new Rng(2));
  });
  afterAll(() => {
    reference.dispose();
    head.dispose();
  });

  it('predict keeps only the values it returns, with and without dropout', async () => {
    const states = promptStates(reference, prompts.slice(0, 4));
    await expectNoLeak('predict', () => {
      const before = tf.memory().numTensors;
      const v = tf.tidy(() => {
        const { hidden, mask } = stackStates(states, TINY.nEmbd);
        return head.predict(hidden, mask);
      });
      expect(tf.memory().numTensors).toBe(before + 1);
      v.dispose();
      tf.tidy(() => {
        const { hidden, mask } = stackStates(states, TINY.nEmbd);
        return head.predict(hidden, mask, { training: { dropoutSeed: 3 } });
      }).dispose();
    });
  });

  it('promptStates and predictValues', async () => {
    await expectNoLeak('promptStates', () => promptStates(reference, prompts, 4));
    await expectNoLeak('predictValues', () => predictValues(reference, head, prompts, 4));
  });

  it('fitting: the returned head holds the only new tensors, and disposing it frees them', async () => {
    await expectNoLeak('fitValueHead', async () => {
      const before = tf.memory().numTensors;
      const { head: fitted } = await fitValueHead({
        reference,
        rows,
        maxValue: 1,
        seed: 0,
        epochs: 2,
        batchSize: 8,
        validationFraction: 0.2,
      });
      expect(tf.memory().numTensors).toBe(before + fitted.params.size);
      fitted.dispose();
    });
  });

  it('a fit that fails midway leaves nothing behind', async () => {
    await expectNoLeak('fitValueHead throwing', async () => {
      await expect(
        fitValueHead({
          reference,
          rows,
          maxValue: 1,
          seed: 0,
          epochs: 3,
          onEpoch: () => {
            throw new Error('stop');
          },
        }),
      ).rejects.toThrow('stop');
    });
  });

  it('advantages and decode targets', async () => {
    const items = rows.map((r, i) => ({ promptIds: r.promptIds, reward: (i % 5) / 4 }));
    await expectNoLeak('computeAdvantages', () => computeAdvantages({ reference, head, items, batchSize: 8 }));
    await expectNoLeak('decodeTargets greedy', () =>
      decodeTargets({ reference, prompts: prompts.slice(0, 4), decode: decodeIds, score: () => 0.5, maxNewTokens: 3 }),
    );
    await expectNoLeak('decodeTargets sampled', () =>
      decodeTargets({
        reference,
        prompts: prompts.slice(0, 4),
        decode: decodeIds,
        score: () => 0.5,
        maxNewTokens: 3,
        sampled: { samples: 2, seed: 1 },
      }),
    );
  });
});
