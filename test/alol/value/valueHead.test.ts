/** The value head alone: masking, range, heads, weights in and out. */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../../src/main/core/rng';
import type { Gpt } from '../../../src/main/lm/model';
import {
  defaultValueHeads,
  predictValues,
  promptStates,
  stackStates,
  PooledHead,
  valueHeadShapes,
} from '../../../src/main/lm/pooledHead';
import { pearson } from '../../../src/main/alol/valueHead';
import { useTempDir } from '../../helpers/tempDir';
import { maxAbsDiff, take, TINY, tinyReference, useWasm } from './helpers';

describe('value head', () => {
  let reference: Gpt;
  let head: PooledHead;
  const tempDir = useTempDir('alol-value-');

  beforeAll(async () => {
    await useWasm();
    reference = tinyReference();
    head = PooledHead.init({ nEmbd: TINY.nEmbd, maxValue: 1 }, new Rng(2));
  });
  afterAll(() => {
    reference.dispose();
    head.dispose();
  });

  it('uses 8 heads when they divide d, else the largest divisor of d below 8', () => {
    expect(defaultValueHeads(768)).toBe(8);
    expect(defaultValueHeads(32)).toBe(8);
    expect(defaultValueHeads(36)).toBe(6);
    expect(defaultValueHeads(7)).toBe(7);
    expect(defaultValueHeads(11)).toBe(1);
    expect(head.config.nHeads).toBe(8);
    expect(() => PooledHead.init({ nEmbd: 32, maxValue: 1, nHeads: 5 }, new Rng(0))).toThrow(/nHeads 5/);
  });

  it('names every parameter value.* and draws the same head from the same seed', () => {
    expect([...head.params.keys()]).toEqual([...valueHeadShapes(TINY.nEmbd).keys()]);
    for (const name of head.params.keys()) expect(name.startsWith('value.')).toBe(true);
    const again = PooledHead.init({ nEmbd: TINY.nEmbd, maxValue: 1 }, new Rng(2));
    const other = PooledHead.init({ nEmbd: TINY.nEmbd, maxValue: 1 }, new Rng(3));
    const [a, b, c] = [head.weights(), again.weights(), other.weights()];
    for (const [name, w] of a) {
      expect(Array.from(b.get(name)!.data), name).toEqual(Array.from(w.data));
    }
    expect(Array.from(c.get('value.query')!.data)).not.toEqual(Array.from(a.get('value.query')!.data));
    again.dispose();
    other.dispose();
  });

  it('padding does not change V(x): a prompt alone and in a padded batch agree to 1e-5', () => {
    const prompt = [0, 5, 9];
    const alone = predictValues(reference, head, [prompt]);
    // Longer prompts around it: it gets right padding, in different batch positions.
    const batched = predictValues(reference, head, [[0, 7, 8, 9, 10, 11, 12, 13], prompt, [0, 3, 4, 5, 6]]);
    const first = predictValues(reference, head, [prompt, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]]);
    expect(Math.abs(batched[1]! - alone[0]!)).toBeLessThan(1e-5);
    expect(Math.abs(first[0]! - alone[0]!)).toBeLessThan(1e-5);
  });

  it('the head ignores whatever the padding positions hold', () => {
    const [s1, s2] = promptStates(reference, [
      [0, 5, 9],
      [0, 1, 2, 3, 4, 5],
    ]);
    const clean = take(
      tf.tidy(() => {
        const { hidden, mask } = stackStates([s1!, s2!], TINY.nEmbd);
        return head.predict(hidden, mask);
      }),
    );
    const noisy = take(
      tf.tidy(() => {
        const { hidden, mask } = stackStates([s1!, s2!], TINY.nEmbd);
        // Large values where row 0 is padding (positions 3..5); the mask must keep them out.
        const rng = new Rng(9);
        const junk = tf.tensor3d(
          Float32Array.from({ length: 2 * 6 * TINY.nEmbd }, () => 50 * rng.normal()),
          [2, 6, TINY.nEmbd],
        );
        const padding = tf.reshape(tf.sub(1, mask), [2, 6, 1]);
        return head.predict(tf.add(hidden, tf.mul(junk, padding)) as tf.Tensor3D, mask);
      }),
    );
    expect(maxAbsDiff(noisy, clean)).toBeLessThan(1e-6);
  });

  it('V(x) lies in [0, maxValue] even on extreme states', () => {
    const wide = PooledHead.init({ nEmbd: TINY.nEmbd, maxValue: 5 }, new Rng(4));
    const rng = new Rng(5);
    for (const scale of [0.1, 1, 100, 1e4]) {
      const v = take(
        tf.tidy(() => {
          const hidden = tf.tensor3d(
            Float32Array.from({ length: 16 * 4 * TINY.nEmbd }, () => scale * rng.normal()),
            [16, 4, TINY.nEmbd],
          );
          return wide.predict(hidden, tf.ones([16, 4]));
        }),
      );
      for (const x of v) {
        expect(x).toBeGreaterThanOrEqual(0);
        expect(x).toBeLessThanOrEqual(5);
      }
    }
    wide.dispose();
  });

  it('checks shapes', () => {
    expect(() => tf.tidy(() => head.predict(tf.zeros([2, 3, 16]), tf.ones([2, 3])))).toThrow(/D = 16/);
    expect(() => tf.tidy(() => head.predict(tf.zeros([2, 3, TINY.nEmbd]), tf.ones([2, 4])))).toThrow(/promptMask/);
  });

  it('saves and loads through safetensors, and fromWeights refuses weights that do not fit', () => {
    const path = join(tempDir(), 'value.safetensors');
    head.save(path);
    const loaded = PooledHead.load(path);
    expect(loaded.config).toEqual(head.config);
    const prompts = [
      [0, 5, 9],
      [0, 1],
    ];
    expect(Array.from(predictValues(reference, loaded, prompts))).toEqual(
      Array.from(predictValues(reference, head, prompts)),
    );
    loaded.dispose();

    const copy = PooledHead.fromWeights(head.config, head.weights());
    expect(Array.from(predictValues(reference, copy, prompts))).toEqual(
      Array.from(predictValues(reference, head, prompts)),
    );
    copy.dispose();

    const bad = head.weights();
    bad.delete('value.summary.bias');
    bad.set('value.extra', { shape: [1], data: new Float32Array(1) });
    expect(() => PooledHead.fromWeights(head.config, bad)).toThrow(
      /missing value\.summary\.bias; unexpected value\.extra/,
    );
    expect(() => PooledHead.fromWeights({ ...head.config, nEmbd: 16, nHeads: 8 }, head.weights())).toThrow(/shape/);
  });

  it('pearson', () => {
    expect(pearson([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
    expect(pearson([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 12);
    expect(pearson([1, 1, 1], [1, 2, 3])).toBeNull();
  });
});
