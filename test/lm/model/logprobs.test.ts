import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { batchTensors, padLeft, padRight, type Example } from '../../../src/main/lm/batch';
import { logprobsOf, sequenceLogprobs, tokenLogprobs } from '../../../src/main/lm/logprobs';
import { Gpt } from '../../../src/main/lm/model';
import { Rng } from '../../../src/main/core/rng';
import { maxAbsDiff, randomTokens, randomWeights, take, TOY, useWasm } from './helpers';

beforeAll(useWasm);

/** log-softmax of forward's logits, in float64, read at row t for target ids[t+1]. */
function expectedFromLogits(model: Gpt, ids: number[]): number[] {
  const V = TOY.vocabSize;
  const logits = take(model.forward(tf.tensor2d(ids, [1, ids.length], 'int32')));
  return ids.slice(1).map((target, t) => {
    const row = logits.slice(t * V, (t + 1) * V);
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
    return row[target]! - lse;
  });
}

describe('padRight and padLeft', () => {
  it('lay out ids, masks and positions as documented', () => {
    const right = padRight(
      [
        { prompt: [5, 6], response: [7, 0] },
        { prompt: [5], response: [9] },
      ],
      { padId: 0 },
    );
    expect([right.batchSize, right.length]).toEqual([2, 4]);
    expect(Array.from(right.ids)).toEqual([5, 6, 7, 0, 5, 9, 0, 0]);
    expect(Array.from(right.attentionMask)).toEqual([1, 1, 1, 1, 1, 1, 0, 0]);
    expect(Array.from(right.responseMask)).toEqual([0, 0, 1, 1, 0, 1, 0, 0]);
    expect(right.promptLengths).toEqual([2, 1]);
    expect(right.responseLengths).toEqual([2, 1]);

    const left = padLeft([[5, 6, 7], [8]], 0);
    expect(Array.from(left.ids)).toEqual([5, 6, 7, 0, 0, 8]);
    expect(Array.from(left.attentionMask)).toEqual([1, 1, 1, 0, 0, 1]);
    expect(Array.from(left.positions)).toEqual([0, 1, 2, 0, 0, 0]);
  });

  it('refuse empty prompts, non-token values and overlong batches', () => {
    expect(() => padRight([{ prompt: [], response: [1] }], { padId: 0 })).toThrow(/empty prompt/);
    expect(() => padRight([{ prompt: [1.5], response: [1] }], { padId: 0 })).toThrow(/not a token id/);
    expect(() => padRight([{ prompt: [1, 2], response: [3] }], { padId: 0, maxLength: 2 })).toThrow(/exceeds/);
    expect(() => padLeft([[]], 0)).toThrow(/empty/);
  });
});

describe('tokenLogprobs and sequenceLogprobs', () => {
  const model = Gpt.fromWeights(TOY, randomWeights(TOY, 21));
  const rng = new Rng(3);
  const examples: Example[] = [
    { prompt: randomTokens(rng, 4, 49), response: [...randomTokens(rng, 5, 49), 49] },
    { prompt: randomTokens(rng, 7, 49), response: [...randomTokens(rng, 2, 49), 49] },
    { prompt: randomTokens(rng, 1, 49), response: [49] },
  ];
  const batch = padRight(examples, { padId: 49 });

  it('equal the log-softmax of forward logits at the response positions, zero elsewhere', () => {
    const lp = tokenLogprobs(model, batch);
    expect(lp.shape).toEqual([3, batch.length - 1]);
    expect(lp.dtype).toBe('float32');
    const got = take(lp);
    const T1 = batch.length - 1;
    examples.forEach((e, b) => {
      const ids = [...e.prompt, ...e.response];
      const want = expectedFromLogits(model, ids);
      for (let t = 0; t < T1; t++) {
        const isResponseTarget = t + 1 >= e.prompt.length && t + 1 < ids.length;
        if (isResponseTarget) expect(Math.abs(got[b * T1 + t]! - want[t]!), `row ${b}, t ${t}`).toBeLessThan(1e-5);
        else expect(got[b * T1 + t], `row ${b}, t ${t} is not a response target`).toBe(0);
      }
    });
    // The logprobs are informative (peaked model), not all near log(1/V).
    expect(Math.min(...got)).toBeLessThan(-5);
  });

  it('sequenceLogprobs are the SUMS over response tokens', () => {
    const tokens = take(tokenLogprobs(model, batch));
    const sums = take(sequenceLogprobs(model, batch));
    const T1 = batch.length - 1;
    examples.forEach((e, b) => {
      const ids = [...e.prompt, ...e.response];
      const want = expectedFromLogits(model, ids)
        .slice(e.prompt.length - 1)
        .reduce((s, v) => s + v, 0);
      expect(Math.abs(sums[b]! - want)).toBeLessThan(1e-4);
      expect(Math.abs(sums[b]! - tokens.slice(b * T1, (b + 1) * T1).reduce((s, v) => s + v, 0))).toBeLessThan(1e-4);
    });
  });

  it("padding does not change a sequence's sum: alone and in a padded batch agree to 1e-5", () => {
    const inBatch = take(sequenceLogprobs(model, batch));
    examples.forEach((e, b) => {
      const alone = take(sequenceLogprobs(model, padRight([e], { padId: 0 })))[0]!;
      expect(Math.abs(alone - inBatch[b]!), `example ${b}`).toBeLessThan(1e-5);
    });
    // Whatever pads the batch: another pad id gives the same sums.
    const otherPad = take(sequenceLogprobs(model, padRight(examples, { padId: 3 })));
    expect(maxAbsDiff(otherPad, inBatch)).toBeLessThan(1e-5);
  });

  it('the prompt conditions the response: another prompt gives another sum', () => {
    const a = take(sequenceLogprobs(model, padRight([examples[0]!], { padId: 0 })))[0]!;
    const b = take(sequenceLogprobs(model, padRight([{ ...examples[0]!, prompt: [1, 2, 3, 4] }], { padId: 0 })))[0]!;
    expect(Math.abs(a - b)).toBeGreaterThan(1e-3);
  });

  // B*T = 40 > d = 32 slices the c_attn weight into q, k, v; B*T = 10 slices the activations instead.
  it.each([
    ['four examples (weight-sliced q, k, v)', padRight([...examples, examples[1]!], { padId: 49 })],
    ['one example (activation-split q, k, v)', padRight([examples[0]!], { padId: 49 })],
  ])('is differentiable, %s: every parameter gets a finite gradient matching finite differences', (_, batch) => {
    expect(batch.batchSize * batch.length > TOY.nEmbd).toBe(batch.batchSize === 4);
    const vars = [...model.params.values()];
    const loss = () => tf.neg(tf.sum(sequenceLogprobs(model, batch))) as tf.Scalar;
    const { value, grads } = tf.variableGrads(loss, vars);
    const lossValue = take(value)[0]!;
    const names = [...model.params.keys()];
    const byName = new Map(names.map((name, i) => [name, grads[vars[i]!.name]!]));
    for (const [name, g] of byName) {
      const values = g.dataSync();
      expect(values.every(Number.isFinite), name).toBe(true);
      expect(
        values.some((v) => v !== 0),
        `${name} has an all-zero gradient`,
      ).toBe(true);
    }
    // Central differences on a few entries of several kinds of parameter.
    const h = 1e-2;
    const checks: [string, number][] = [
      ['wte.weight', 49 * 32 + 3],
      ['wpe.weight', 2 * 32 + 5],
      ['h.0.attn.c_attn.weight', 7 * 96 + 40],
      ['h.1.attn.c_proj.bias', 11],
      ['h.0.mlp.c_fc.weight', 100],
      ['h.1.ln_2.weight', 4],
      ['ln_f.bias', 9],
    ];
    for (const [name, index] of checks) {
      const variable = model.params.get(name)!;
      const original = variable.dataSync().slice();
      const at = (delta: number) => {
        const moved = original.slice();
        moved[index]! += delta;
        variable.assign(tf.tensor(moved, variable.shape));
        return take(loss())[0]!;
      };
      const numeric = (at(h) - at(-h)) / (2 * h);
      variable.assign(tf.tensor(original, variable.shape));
      const analytic = byName.get(name)!.dataSync()[index]!;
      expect(Math.abs(analytic - numeric), `${name}[${index}]: analytic ${analytic}, numeric ${numeric}`).toBeLessThan(
        2e-2 * Math.max(1, Math.abs(numeric)),
      );
    }
    expect(Number.isFinite(lossValue)).toBe(true);
    tf.dispose(grads);
  });
});

describe('logprobsOf', () => {
  it('gives log p(ids[i+1] | ids[0..i]) as plain numbers', () => {
    const model = Gpt.fromWeights(TOY, randomWeights(TOY, 22));
    const ids = randomTokens(new Rng(9), 10, TOY.vocabSize);
    const got = logprobsOf(model, ids);
    expect(got).toHaveLength(9);
    expect(maxAbsDiff(got, expectedFromLogits(model, ids))).toBeLessThan(1e-5);
    expect(logprobsOf(model, [3])).toEqual([]);
    model.dispose();
  });
});

describe('batchTensors', () => {
  it('makes int32 ids and float32 masks of shape (B, T)', () => {
    const t = batchTensors(padRight([{ prompt: [1], response: [2, 3] }], { padId: 0 }));
    expect([t.ids.dtype, t.attentionMask.dtype, t.responseMask.dtype]).toEqual(['int32', 'float32', 'float32']);
    expect(t.ids.shape).toEqual([1, 3]);
    tf.dispose([t.ids, t.attentionMask, t.responseMask]);
  });
});
