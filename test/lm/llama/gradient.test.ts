/**
 * Training needs the gradient of the loss with respect to every parameter, on wasm (whose gather
 * has no gradient: the embedding lookup must bring its own). The loss is the sequence NLL through
 * logprobs.ts, the path training takes; each gradient is checked against central differences of
 * the float64 reference's loss, entry by entry, for tied (Qwen2) and untied (Llama 3) heads.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { padRight } from '../../../src/main/lm/batch';
import { Llama } from '../../../src/main/lm/llama';
import type { LlamaConfig } from '../../../src/main/lm/llamaConfig';
import type { NamedTensors } from '../../../src/main/lm/config';
import { sequenceLogprobs } from '../../../src/main/lm/logprobs';
import { useWasm } from '../model/helpers';
import { LLAMA3, LLAMA_BIASED, QWEN2, randomWeights, referenceLogits } from './helpers';

beforeAll(useWasm);

const ids = [7, 12, 3, 40, 12, 9, 31, 5];

/** -sum_t log p(ids[t+1] | ids[..t]) in float64 from the reference. */
function referenceLoss(c: LlamaConfig, weights: NamedTensors): number {
  const logits = referenceLogits(c, weights, ids);
  let loss = 0;
  for (let t = 0; t + 1 < ids.length; t++) {
    const row = logits[t]!;
    const max = Math.max(...row);
    loss -= row[ids[t + 1]!]! - max - Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
  }
  return loss;
}

/** d loss / d weights[name][index] by central differences on the float64 reference. */
function numericGrad(c: LlamaConfig, weights: NamedTensors, name: string, index: number): number {
  const h = 1e-3;
  const at = (delta: number) => {
    const w = weights.get(name)!;
    const data = Float64Array.from(w.data);
    data[index]! += delta;
    // The reference reads Float32Array data; carry the perturbation in a float64-backed copy.
    const moved = new Map(weights);
    moved.set(name, { shape: w.shape, data: data as unknown as Float32Array });
    return referenceLoss(c, moved);
  };
  return (at(h) - at(-h)) / (2 * h);
}

function check(c: LlamaConfig, seed: number, probes: [string, number][]): void {
  const weights = randomWeights(c, seed);
  const model = Llama.fromWeights(c, weights);
  const batch = padRight([{ prompt: ids.slice(0, 1), response: ids.slice(1) }], { padId: 0 });
  const { value, grads } = tf.variableGrads(
    () => tf.neg(tf.sum(sequenceLogprobs(model, batch))) as tf.Scalar,
    [...model.params.values()],
  );
  // The loss itself is the reference's.
  expect(Math.abs(value.dataSync()[0]! - referenceLoss(c, weights))).toBeLessThan(1e-3);
  const byName = new Map<string, Float32Array>();
  for (const [name, v] of model.params) {
    const g = grads[v.name];
    expect(g, `gradient of ${name}`).toBeDefined();
    expect(g!.shape, name).toEqual(v.shape);
    const data = g!.dataSync() as Float32Array;
    expect(data.every(Number.isFinite), `${name} finite`).toBe(true);
    expect(
      data.some((x) => x !== 0),
      `${name} reached`,
    ).toBe(true);
    byName.set(name, Float32Array.from(data));
  }
  for (const [name, index] of probes) {
    const want = numericGrad(c, weights, name, index);
    const got = byName.get(name)![index]!;
    expect(Math.abs(got - want), `${name}[${index}]: ${got} vs ${want}`).toBeLessThan(1e-4 + 1e-4 * Math.abs(want));
  }
  value.dispose();
  tf.dispose(Object.values(grads));
  model.dispose();
}

describe('gradients against finite differences of the float64 reference', () => {
  it('Llama 3 shape (untied head, GQA, llama3 rope): every parameter gets a gradient; probed entries match', () => {
    const D = LLAMA3.nEmbd;
    check(LLAMA3, 31, [
      // Embedding rows of tokens in the input (12 occurs twice: the scatter-add must add both).
      ['model.embed_tokens.weight', 12 * D + 3],
      ['model.embed_tokens.weight', 7 * D + 0],
      // A token that never occurs as input gets exactly zero through an untied head.
      ['model.embed_tokens.weight', 60 * D + 1],
      ['lm_head.weight', 5 * D + 2],
      ['model.layers.0.self_attn.q_proj.weight', 17],
      ['model.layers.0.self_attn.k_proj.weight', 100],
      ['model.layers.1.self_attn.v_proj.weight', 9],
      ['model.layers.1.self_attn.o_proj.weight', 200],
      ['model.layers.0.mlp.gate_proj.weight', 33],
      ['model.layers.1.mlp.up_proj.weight', 700],
      ['model.layers.0.mlp.down_proj.weight', 45],
      ['model.layers.0.input_layernorm.weight', 4],
      ['model.layers.1.post_attention_layernorm.weight', 30],
      ['model.norm.weight', 11],
    ]);
  });

  it('Qwen2 shape (tied head, q/k/v biases, one KV head): the tied table gets both its gradients', () => {
    const D = QWEN2.nEmbd;
    check(QWEN2, 32, [
      ['model.embed_tokens.weight', 12 * D + 3], // input row and head row at once
      ['model.embed_tokens.weight', 60 * D + 1], // head only
      ['model.layers.0.self_attn.q_proj.bias', 5],
      ['model.layers.1.self_attn.k_proj.bias', 2],
      ['model.layers.0.self_attn.v_proj.bias', 7],
      ['model.layers.1.self_attn.k_proj.weight', 40],
    ]);
  });

  it('Llama with attention_bias and mlp_bias: o_proj and MLP biases too', () => {
    check(LLAMA_BIASED, 33, [
      ['model.layers.0.self_attn.o_proj.bias', 3],
      ['model.layers.1.mlp.gate_proj.bias', 20],
      ['model.layers.0.mlp.up_proj.bias', 1],
      ['model.layers.1.mlp.down_proj.bias', 8],
    ]);
  });
});
