/** Value targets: scored decodes of the reference (greedy, or K samples averaged), or the data's own rewards. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataRewardTargets, decodeTargets, splitHeldOut } from '../../../src/main/alol/valueTargets';
import { generate } from '../../../src/main/lm/generate';
import type { Gpt } from '../../../src/main/lm/model';
import { Rng } from '../../../src/main/core/rng';
import { decodeIds, tinyReference, useWasm } from './helpers';

/** A made-up reward on text: the share of response words that name an even token, plus a prompt term. */
function score(prompt: string, response: string): number {
  const words = response.split(' ').filter((w) => w.length > 0);
  const even = words.filter((w) => Number(w.slice(1)) % 2 === 0).length;
  return (words.length === 0 ? 0 : even / words.length) * 0.8 + (prompt.length % 5) * 0.05;
}

describe('value targets', () => {
  let reference: Gpt;
  const prompts = [
    [0, 5, 9],
    [0, 1],
    [0, 7, 7, 7, 2],
    [0, 3],
    [0, 11, 4, 6],
  ];

  beforeAll(async () => {
    await useWasm();
    reference = tinyReference(4);
  });
  afterAll(() => reference.dispose());

  it('greedy: one decode per prompt, the target is the score of what generate() decodes', async () => {
    const calls: [string, string][] = [];
    const targets = await decodeTargets({
      reference,
      prompts,
      decode: decodeIds,
      score: (p, r) => {
        calls.push([p, r]);
        return score(p, r);
      },
      maxNewTokens: 6,
      batchSize: 2,
    });
    expect(targets.source).toBe('decodes');
    expect(targets.decoding).toBe('greedy');
    const expected = generate(reference, prompts, { maxNewTokens: 6, decode: decodeIds });
    expect(expected.ids.some((ids) => ids.length > 0)).toBe(true); // something was decoded and scored
    expect(targets.rows.map((r) => r.promptIds)).toEqual(prompts);
    targets.rows.forEach((row, i) => {
      expect(row.decodes).toHaveLength(1);
      expect(row.decodes![0]!.ids).toEqual(expected.ids[i]);
      expect(row.decodes![0]!.text).toBe(expected.text![i]);
      expect(row.target).toBe(score(decodeIds(prompts[i]!), expected.text![i]!));
    });
    // Scored once per decode, in prompt order.
    expect(calls).toEqual(prompts.map((p, i) => [decodeIds(p), expected.text![i]]));
  });

  it('sampled: K decodes per prompt from one seeded stream, their scores averaged', async () => {
    const K = 4;
    const sampled = { samples: K, seed: 7, temperature: 1.5 };
    const targets = await decodeTargets({
      reference,
      prompts,
      decode: decodeIds,
      score: async (p, r) => score(p, r),
      maxNewTokens: 5,
      sampled,
      batchSize: 16,
    });
    expect(targets.decoding).toEqual({ samples: K, seed: 7, temperature: 1.5, topK: 0, topP: 1 });
    // The same call generate() would make: each prompt K times in a row, sampling from one Rng.
    const repeated = prompts.flatMap((p) => Array.from({ length: K }, () => p));
    const expected = generate(reference, repeated, {
      maxNewTokens: 5,
      decode: decodeIds,
      greedy: false,
      rng: new Rng(7),
      temperature: 1.5,
      topK: 0,
      topP: 1,
    });
    let differing = 0;
    targets.rows.forEach((row, i) => {
      expect(row.decodes).toHaveLength(K);
      const scores = row.decodes!.map((d, k) => {
        expect(d.ids).toEqual(expected.ids[i * K + k]);
        expect(d.score).toBe(score(decodeIds(prompts[i]!), expected.text![i * K + k]!));
        return d.score;
      });
      expect(row.target).toBeCloseTo(scores.reduce((a, b) => a + b, 0) / K, 12);
      if (new Set(row.decodes!.map((d) => d.text)).size > 1) differing++;
    });
    expect(differing).toBeGreaterThan(0); // sampling, not K copies of one decode

    const again = await decodeTargets({
      reference,
      prompts,
      decode: decodeIds,
      score,
      maxNewTokens: 5,
      sampled,
      batchSize: 16,
    });
    expect(again).toEqual(targets);
    const otherSeed = await decodeTargets({
      reference,
      prompts,
      decode: decodeIds,
      score,
      maxNewTokens: 5,
      sampled: { ...sampled, seed: 8 },
    });
    expect(otherSeed.rows.map((r) => r.decodes!.map((d) => d.ids))).not.toEqual(
      targets.rows.map((r) => r.decodes!.map((d) => d.ids)),
    );
  });

  it('a score that is not a finite number is an error naming the prompt', async () => {
    await expect(
      decodeTargets({
        reference,
        prompts,
        decode: decodeIds,
        score: (p) => (p === decodeIds(prompts[2]!) ? Number.NaN : 0.5),
        maxNewTokens: 2,
      }),
    ).rejects.toThrow(/score\(\) returned NaN for prompt 2/);
  });

  it("data rewards: the held-out rows' own rewards, and says so", () => {
    const rows = [
      { promptIds: [0, 5], reward: 0.25 },
      { promptIds: [0, 5], reward: 0.75 },
      { promptIds: [0, 6], reward: 1 },
    ];
    const targets = dataRewardTargets(rows);
    expect(targets.source).toBe('data-rewards');
    expect(targets.decoding).toBeUndefined();
    expect(targets.rows).toEqual([
      { promptIds: [0, 5], target: 0.25 },
      { promptIds: [0, 5], target: 0.75 },
      { promptIds: [0, 6], target: 1 },
    ]);
    expect(() => dataRewardTargets([{ promptIds: [0], reward: Number.POSITIVE_INFINITY }])).toThrow(
      /row 0 has reward Infinity/,
    );
    expect(() => dataRewardTargets([])).toThrow(/no rows/);
  });

  it('splitHeldOut holds out whole prompts, repeatably', () => {
    const rows = Array.from({ length: 40 }, (_, i) => ({ promptIds: [0, i % 20], reward: i }));
    const a = splitHeldOut(rows, { fraction: 0.25, seed: 3 });
    const b = splitHeldOut(rows, { fraction: 0.25, seed: 3 });
    expect(a).toEqual(b);
    expect(new Set(a.heldOut.map((r) => r.promptIds[1])).size).toBe(5);
    expect(a.heldOut).toHaveLength(10);
    const heldKeys = new Set(a.heldOut.map((r) => r.promptIds[1]));
    expect(a.rest.some((r) => heldKeys.has(r.promptIds[1]))).toBe(false);
    expect(splitHeldOut(rows, { fraction: 0, seed: 3 }).heldOut).toHaveLength(0);
    expect(splitHeldOut(rows, { fraction: 0.001, seed: 3 }).heldOut).toHaveLength(2);
  });
});
