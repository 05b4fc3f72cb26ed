/**
 * No tensor outlives a call: tf.memory().numTensors is the same before and after forward, the
 * log-prob functions, generation (cached, uncached, sampled, stopped early) and a gradient step.
 * Each is run once first, because the causal masks are cached for good on first use.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { padRight } from '../../../src/main/lm/batch';
import { generate } from '../../../src/main/lm/generate';
import { logprobsOf, sequenceLogprobs, tokenLogprobs } from '../../../src/main/lm/logprobs';
import { Gpt, KvCache } from '../../../src/main/lm/model';
import { Rng } from '../../../src/main/core/rng';
import { randomWeights, TOY, useWasm } from './helpers';

let model: Gpt;
beforeAll(async () => {
  await useWasm();
  model = Gpt.fromWeights(TOY, randomWeights(TOY, 41));
});

const batch = padRight(
  [
    { prompt: [1, 2, 3], response: [4, 5, 49] },
    { prompt: [7], response: [8, 49] },
  ],
  { padId: 49 },
);

function expectNoLeak(name: string, fn: () => void): void {
  fn(); // warm-up: caches the masks this call needs
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) fn();
  expect(tf.memory().numTensors, name).toBe(before);
}

describe('tensor hygiene', () => {
  it('forward, hidden and head', () => {
    const ids = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32');
    expectNoLeak('forward', () => model.forward(ids).dispose());
    expectNoLeak('forward with mask, positions and dropout', () => {
      const mask = tf.tensor2d([0, 1, 1, 1, 1, 1], [2, 3]);
      const positions = tf.tensor2d([0, 0, 1, 0, 1, 2], [2, 3], 'int32');
      model.forward(ids, { attentionMask: mask, positions, training: { dropoutSeed: 3 } }).dispose();
      tf.dispose([mask, positions]);
    });
    expectNoLeak('hidden then head', () => {
      const h = model.hidden(ids);
      model.head(h).dispose();
      h.dispose();
    });
    ids.dispose();
  });

  it('a KV cache holds its tensors until disposed', () => {
    expectNoLeak('cached steps', () => {
      const cache = new KvCache();
      const first = tf.tensor2d([1, 2], [1, 2], 'int32');
      const next = tf.tensor2d([3], [1, 1], 'int32');
      model.forward(first, { cache }).dispose();
      model.forward(next, { cache }).dispose();
      tf.dispose([first, next]);
      expect(cache.length).toBe(3);
      cache.dispose();
    });
  });

  it('tokenLogprobs, sequenceLogprobs and logprobsOf', () => {
    expectNoLeak('tokenLogprobs', () => tokenLogprobs(model, batch).dispose());
    expectNoLeak('sequenceLogprobs', () => sequenceLogprobs(model, batch).dispose());
    expectNoLeak('logprobsOf', () => void logprobsOf(model, [1, 2, 3, 4]));
  });

  it('generate: greedy cached and uncached, sampled, stopped at EOS', () => {
    const prompts = [[1, 2, 3], [4]];
    expectNoLeak('greedy cached', () => void generate(model, prompts, { maxNewTokens: 5 }));
    expectNoLeak('greedy uncached', () => void generate(model, prompts, { maxNewTokens: 5, useCache: false }));
    expectNoLeak(
      'sampled',
      () => void generate(model, prompts, { maxNewTokens: 5, greedy: false, rng: new Rng(1), topK: 5, topP: 0.9 }),
    );
    const first = generate(model, prompts, { maxNewTokens: 1, eosTokenId: null }).ids[0]![0]!;
    expectNoLeak(
      'stopped at EOS after one step',
      () => void generate(model, prompts, { maxNewTokens: 5, eosTokenId: first }),
    );
  });

  it('a failing call leaks nothing either (the cache is freed in finally)', () => {
    expectNoLeak('throws mid-way', () => {
      const decode = () => {
        throw new Error('decode failed');
      };
      expect(() => generate(model, [[1, 2]], { maxNewTokens: 3, stop: ['x'], decode })).toThrow(/decode failed/);
    });
  });

  it('a gradient step through sequenceLogprobs', () => {
    const vars = [...model.params.values()];
    expectNoLeak('variableGrads', () => {
      const { value, grads } = tf.variableGrads(
        () => tf.neg(tf.mean(sequenceLogprobs(model, batch, { training: { dropoutSeed: 1 } }))) as tf.Scalar,
        vars,
      );
      value.dispose();
      tf.dispose(grads);
    });
  });
});
