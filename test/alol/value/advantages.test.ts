/** Advantages A = R - V(x), their stats, the cache key and the cache file. */
import { copyFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADVANTAGE_CODE_VERSION,
  advantageCacheKey,
  advantageCachePath,
  computeAdvantages,
  computeAdvantagesResumably,
  loadAdvantages,
  saveAdvantages,
  weightsSha256,
  type AdvantageCacheInputs,
} from '../../../src/main/alol/advantages';
import { predictValues, PooledHead } from '../../../src/main/lm/pooledHead';
import type { Gpt } from '../../../src/main/lm/model';
import { Rng } from '../../../src/main/core/rng';
import { useTempDir } from '../../helpers/tempDir';
import { TINY, tinyReference, useWasm } from './helpers';

describe('advantages', () => {
  let reference: Gpt;
  let head: PooledHead;
  const tempDir = useTempDir('alol-adv-');
  // Three prompts, one of them with three responses; rewards around V so both signs occur.
  const items = [
    { promptIds: [0, 5, 9], reward: 0.9 },
    { promptIds: [0, 1], reward: 0.1 },
    { promptIds: [0, 5, 9], reward: 0.2 },
    { promptIds: [0, 7, 7, 7, 2], reward: 0.55 },
    { promptIds: [0, 5, 9], reward: 0.6 },
    { promptIds: [0, 1], reward: 1 },
  ];

  beforeAll(async () => {
    await useWasm();
    reference = tinyReference();
    head = PooledHead.init({ nEmbd: TINY.nEmbd, maxValue: 1 }, new Rng(2));
  });
  afterAll(() => {
    reference.dispose();
    head.dispose();
  });

  it("A = R - V exactly, for the head's own predictions", () => {
    const result = computeAdvantages({ reference, head, items, batchSize: 2 });
    const unique = [
      [0, 5, 9],
      [0, 1],
      [0, 7, 7, 7, 2],
    ];
    const v = predictValues(reference, head, unique, 2);
    const which = [0, 1, 0, 2, 0, 1];
    items.forEach((item, i) => {
      expect(result.values[i]).toBe(v[which[i]!]);
      expect(result.advantages[i]).toBe(Math.fround(item.reward - result.values[i]!));
      // And V(x) of a prompt alone, to float error.
      expect(Math.abs(result.values[i]! - predictValues(reference, head, [item.promptIds])[0]!)).toBeLessThan(1e-5);
    });
  });

  it('a pass stopped after a chunk resumes from its partial file and ends bit-identical to one uninterrupted pass', async () => {
    const dir = tempDir();
    const key = 'c'.repeat(64);
    // 40 distinct prompts, 3 chunks of 2 batches of 8 prompts.
    const many = Array.from({ length: 80 }, (_, i) => ({
      promptIds: [0, 1 + (i % 20), 1 + (Math.floor(i / 20) % 2)],
      reward: (i % 10) / 10,
    }));
    const whole = computeAdvantages({ reference, head, items: many, batchSize: 8 });
    const stop = new AbortController();
    const seen: number[] = [];
    await expect(
      computeAdvantagesResumably({
        reference,
        head,
        items: many,
        dir,
        key,
        batchSize: 8,
        chunkBatches: 2,
        signal: stop.signal,
        onProgress: (done) => {
          seen.push(done);
          if (done === 16) stop.abort(new Error('killed'));
        },
      }),
    ).rejects.toThrow('killed');
    expect(seen).toEqual([0, 16]);
    expect(loadAdvantages(dir, key)).toBeNull();
    const resumed: number[] = [];
    const result = await computeAdvantagesResumably({
      reference,
      head,
      items: many,
      dir,
      key,
      batchSize: 8,
      chunkBatches: 2,
      onProgress: (done) => resumed.push(done),
    });
    // It started at the saved chunk, not at 0.
    expect(resumed).toEqual([16, 32, 40]);
    expect(Array.from(result.values)).toEqual(Array.from(whole.values));
    expect(Array.from(result.advantages)).toEqual(Array.from(whole.advantages));
    expect(result.stats).toEqual(whole.stats);
    expect(Array.from(loadAdvantages(dir, key)?.advantages ?? [])).toEqual(Array.from(whole.advantages));
    // A partial file of another key is not a resume point.
    const other = await computeAdvantagesResumably({
      reference,
      head,
      items: many,
      dir,
      key: 'd'.repeat(64),
      batchSize: 8,
      chunkBatches: 2,
      onProgress: (done) => resumed.push(done),
    });
    expect(resumed.slice(3)).toEqual([0, 16, 32, 40]);
    expect(Array.from(other.advantages)).toEqual(Array.from(whole.advantages));
  });

  it('reports the positive fraction and the means', () => {
    const { advantages, values, stats } = computeAdvantages({ reference, head, items });
    const A = Array.from(advantages);
    const positives = A.filter((a) => a > 0);
    expect(positives.length).toBeGreaterThan(0);
    expect(positives.length).toBeLessThan(A.length);
    expect(stats.count).toBe(6);
    expect(stats.positiveCount).toBe(positives.length);
    expect(stats.positiveFraction).toBe(positives.length / 6);
    expect(stats.meanAdvantage).toBeCloseTo(A.reduce((s, a) => s + a, 0) / 6, 10);
    expect(stats.meanPositivePart).toBeCloseTo(positives.reduce((s, a) => s + a, 0) / 6, 10);
    expect(stats.meanOfPositives).toBeCloseTo(positives.reduce((s, a) => s + a, 0) / positives.length, 10);
    expect(stats.meanReward).toBeCloseTo(items.reduce((s, it) => s + it.reward, 0) / 6, 12);
    expect(stats.meanValue).toBeCloseTo(Array.from(values).reduce((s, v) => s + v, 0) / 6, 10);
  });

  it('refuses a reward that is not a finite number', () => {
    expect(() => computeAdvantages({ reference, head, items: [{ promptIds: [0], reward: Number.NaN }] })).toThrow(
      /item 0 has reward NaN/,
    );
  });

  describe('cache key', () => {
    const base: AdvantageCacheInputs = {
      datasetVersion: 'ds-1@3',
      referenceSha: 'a'.repeat(64),
      valueHeadSha: 'b'.repeat(64),
      rewardFunctionId: 'demo',
    };

    it('is a sha256 that changes when any input changes', () => {
      const key = advantageCacheKey(base);
      expect(key).toMatch(/^[0-9a-f]{64}$/);
      expect(advantageCacheKey({ ...base })).toBe(key);
      expect(advantageCacheKey({ ...base, codeVersion: ADVANTAGE_CODE_VERSION })).toBe(key);
      const changed: AdvantageCacheInputs[] = [
        { ...base, datasetVersion: 'ds-1@4' },
        { ...base, referenceSha: 'c'.repeat(64) },
        { ...base, valueHeadSha: 'c'.repeat(64) },
        { ...base, rewardFunctionId: 'data-rewards' },
        { ...base, codeVersion: 'advantages/2' },
      ];
      const keys = changed.map(advantageCacheKey);
      for (const k of keys) expect(k).not.toBe(key);
      expect(new Set(keys).size).toBe(keys.length);
      // Fields cannot bleed into each other.
      expect(advantageCacheKey({ ...base, datasetVersion: 'ab', rewardFunctionId: 'c' })).not.toBe(
        advantageCacheKey({ ...base, datasetVersion: 'a', rewardFunctionId: 'bc' }),
      );
      expect(() => advantageCacheKey({ ...base, rewardFunctionId: '' })).toThrow(/rewardFunctionId/);
    });

    it('follows the weights: one changed value in the head or the reference gives another sha', () => {
      const headSha = weightsSha256(head.params);
      expect(weightsSha256(head.weights())).toBe(headSha);
      const w = head.weights();
      w.get('value.summary.bias')!.data[0]! += 1e-6;
      expect(weightsSha256(w)).not.toBe(headSha);
      const refW = reference.weights();
      const refSha = weightsSha256(refW);
      expect(weightsSha256(reference.params)).toBe(refSha);
      refW.get('h.1.mlp.c_fc.weight')!.data[17]! *= -1;
      expect(weightsSha256(refW)).not.toBe(refSha);
    });
  });

  it('a stored cache round-trips; another key finds nothing; a misnamed file is refused', () => {
    const dir = tempDir();
    const result = computeAdvantages({ reference, head, items });
    const key = advantageCacheKey({
      datasetVersion: 'ds-1@3',
      referenceSha: weightsSha256(reference.params),
      valueHeadSha: weightsSha256(head.params),
      rewardFunctionId: 'demo',
    });
    expect(loadAdvantages(dir, key)).toBeNull();
    const path = saveAdvantages(dir, key, result);
    expect(path).toBe(advantageCachePath(dir, key));
    const loaded = loadAdvantages(dir, key, items.length);
    expect(loaded).not.toBeNull();
    expect(Array.from(loaded!.advantages)).toEqual(Array.from(result.advantages));
    expect(Array.from(loaded!.values)).toEqual(Array.from(result.values));
    expect(loaded!.stats).toEqual(result.stats);

    const otherKey = advantageCacheKey({
      datasetVersion: 'ds-1@4',
      referenceSha: 'r',
      valueHeadSha: 'v',
      rewardFunctionId: 'demo',
    });
    expect(loadAdvantages(dir, otherKey)).toBeNull();
    copyFileSync(path, advantageCachePath(dir, otherKey));
    expect(() => loadAdvantages(dir, otherKey)).toThrow(/records key/);
    expect(() => loadAdvantages(dir, key, items.length + 1)).toThrow(/expected 7/);
  });
});
