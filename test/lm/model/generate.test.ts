import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../../../src/main/lm/generate';
import { Gpt } from '../../../src/main/lm/model';
import { Rng } from '../../../src/main/core/rng';
import { argmax } from '../../../src/main/lm/sampling';
import { randomTokens, randomWeights, take, TOY, useWasm } from './helpers';

const CONFIG = { ...TOY, nPositions: 48 };
const NO_EOS = { eosTokenId: null };
let model: Gpt;

beforeAll(async () => {
  await useWasm();
  model = Gpt.fromWeights(CONFIG, randomWeights(CONFIG, 31));
});
afterAll(() => model.dispose());

const rng = new Rng(17);
const prompts = [
  randomTokens(rng, 3, 49),
  randomTokens(rng, 9, 49),
  randomTokens(rng, 1, 49),
  randomTokens(rng, 6, 49),
];

/** Greedy decoding by hand: the whole sequence through forward each step, argmax of the last row. */
function greedyByHand(prompt: number[], steps: number): number[] {
  const ids = [...prompt];
  for (let i = 0; i < steps; i++) {
    const logits = take(model.forward(tf.tensor2d(ids, [1, ids.length], 'int32')));
    ids.push(argmax(logits.slice((ids.length - 1) * CONFIG.vocabSize)));
  }
  return ids.slice(prompt.length);
}

const decode = (ids: number[]) => ids.map((i) => `<${i}>`).join('');

describe('greedy decoding', () => {
  it('cached and uncached agree exactly on a left-padded batch of different lengths, and equal decoding by hand', () => {
    const cached = generate(model, prompts, { maxNewTokens: 12, ...NO_EOS });
    const uncached = generate(model, prompts, { maxNewTokens: 12, ...NO_EOS, useCache: false });
    expect(cached.ids).toEqual(uncached.ids);
    expect(cached.finishReason).toEqual(['length', 'length', 'length', 'length']);
    expect(cached.ids.every((ids) => ids.length === 12)).toBe(true);
    // Not a degenerate model: the rows differ and do not just repeat one token.
    expect(new Set(cached.ids.map((ids) => ids.join())).size).toBe(4);
    expect(new Set(cached.ids.flat()).size).toBeGreaterThan(5);
    prompts.forEach((p, b) => expect(cached.ids[b], `prompt ${b}`).toEqual(greedyByHand(p, 12)));
  });

  it('each prompt in the padded batch decodes as it does alone', () => {
    const batch = generate(model, prompts, { maxNewTokens: 10, ...NO_EOS });
    prompts.forEach((p, b) =>
      expect(generate(model, [p], { maxNewTokens: 10, ...NO_EOS }).ids[0], `prompt ${b}`).toEqual(batch.ids[b]),
    );
  });

  it('stops a row at EOS, leaving the EOS out, while the other rows go on', () => {
    const free = generate(model, prompts, { maxNewTokens: 12, ...NO_EOS });
    // Make row 1's fourth token the EOS (taken at its first occurrence in that row).
    const eos = free.ids[1]![3]!;
    const cut = free.ids.map((ids) => {
      const at = ids.indexOf(eos);
      return at >= 0 ? ids.slice(0, at) : ids;
    });
    for (const useCache of [true, false]) {
      const out = generate(model, prompts, { maxNewTokens: 12, eosTokenId: eos, useCache });
      expect(out.ids).toEqual(cut);
      expect(out.finishReason).toEqual(cut.map((ids, b) => (ids.length < free.ids[b]!.length ? 'eos' : 'length')));
    }
  });

  it('stops at a stop string spanning two tokens: ids before it, text cut exactly', () => {
    const free = generate(model, [prompts[0]!], { maxNewTokens: 12, ...NO_EOS });
    const [t3, t4] = [free.ids[0]![3]!, free.ids[0]![4]!];
    const stop = `${t3}><${t4}`; // the end of token 3's text and the start of token 4's
    const out = generate(model, [prompts[0]!], { maxNewTokens: 12, ...NO_EOS, stop: [stop, 'never'], decode });
    const text = decode(free.ids[0]!);
    const firstAt = text.indexOf(stop);
    expect(out.finishReason).toEqual(['stop']);
    expect(out.text![0]).toBe(text.slice(0, firstAt));
    // Tokens whose text lies wholly before the stop string: a token straddling it is dropped.
    expect(decode(out.ids[0]!).length).toBeLessThanOrEqual(firstAt);
    expect(out.text![0]!.startsWith(decode(out.ids[0]!))).toBe(true);
    expect(out.ids[0]).toEqual(free.ids[0]!.slice(0, out.ids[0]!.length));
    expect(out.ids[0]!.length).toBeLessThanOrEqual(3);
  });

  it('returns decoded text for every row when given decode, and honours maxNewTokens 0', () => {
    const out = generate(model, prompts.slice(0, 2), { maxNewTokens: 4, ...NO_EOS, decode });
    expect(out.text).toEqual(out.ids.map(decode));
    const none = generate(model, prompts.slice(0, 2), { maxNewTokens: 0 });
    expect(none).toEqual({ ids: [[], []], finishReason: ['length', 'length'] });
  });

  it('stops a row when its next position would leave the context', () => {
    const small = Gpt.fromWeights(TOY, randomWeights(TOY, 32)); // context 16
    const long = randomTokens(new Rng(1), 14, 49);
    for (const useCache of [true, false]) {
      const out = generate(small, [long, [5]], { maxNewTokens: 10, ...NO_EOS, useCache });
      // 14 prompt tokens: new tokens while the last token's position stays < 16, so 3 of them.
      expect(out.ids[0]).toHaveLength(3);
      expect(out.ids[1]).toHaveLength(10);
      expect(out.finishReason).toEqual(['length', 'length']);
      expect(out.ids[1]).toEqual(generate(small, [[5]], { maxNewTokens: 10, ...NO_EOS, useCache }).ids[0]);
    }
    expect(() => generate(small, [randomTokens(new Rng(1), 17, 49)], { maxNewTokens: 1 })).toThrow(/context/);
    small.dispose();
  });
});

describe('sampled decoding', () => {
  it('is repeatable with a seed, differs with another, and cached equals uncached', () => {
    const options = {
      maxNewTokens: 10,
      greedy: false,
      temperature: 1.2,
      topK: 20,
      topP: 0.95,
      repetitionPenalty: 1.2,
      ...NO_EOS,
    };
    const a = generate(model, prompts, { ...options, seed: 5 });
    const a2 = generate(model, prompts, { ...options, rng: new Rng(5) });
    const b = generate(model, prompts, { ...options, seed: 6 });
    const u = generate(model, prompts, { ...options, seed: 5, useCache: false });
    expect(a2.ids).toEqual(a.ids);
    expect(u.ids).toEqual(a.ids);
    expect(b.ids).not.toEqual(a.ids);
  });

  it('applies the repetition penalty over the prompt too', () => {
    const plain = generate(model, [prompts[1]!], { maxNewTokens: 8, ...NO_EOS });
    const penalised = generate(model, [prompts[1]!], { maxNewTokens: 8, ...NO_EOS, repetitionPenalty: 1e6 });
    // With an enormous penalty no seen token (prompt or earlier output) can come back while unseen ones remain.
    const seen = new Set(prompts[1]);
    for (const t of penalised.ids[0]!) {
      expect(seen.has(t), `token ${t} repeated`).toBe(false);
      seen.add(t);
    }
    expect(penalised.ids).not.toEqual(plain.ids);
  });

  it('refuses bad options', () => {
    expect(() => generate(model, prompts, { maxNewTokens: 2, greedy: false })).toThrow(/rng or seed/);
    expect(() => generate(model, prompts, { maxNewTokens: 2, stop: ['x'] })).toThrow(/decode/);
    expect(() => generate(model, prompts, { maxNewTokens: 2, greedy: false, seed: 1, temperature: 0 })).toThrow(
      /temperature/,
    );
    expect(() => generate(model, prompts, { maxNewTokens: 2, greedy: false, seed: 1, topP: 1.5 })).toThrow(/topP/);
    expect(() => generate(model, [[50]], { maxNewTokens: 2 })).toThrow(/vocabulary/);
  });
});
