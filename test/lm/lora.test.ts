/**
 * LoRA adapters (lora.ts) on Llama-family models: a fresh adapter changes nothing; training steps
 * move only the adapters (the base bit for bit as it was); the adapter's output is W x + (alpha/r)
 * B A x computed independently; the reference view is the base alone; merged weights give the
 * adapted model's logits; a PEFT folder round-trips with PEFT's names and config; bad settings are
 * refused. GPT-2's adapters: loraGpt2.test.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { padRight } from '../../src/main/lm/batch';
import { Llama } from '../../src/main/lm/llama';
import { sequenceLogprobs } from '../../src/main/lm/logprobs';
import {
  LoraAdapters,
  loraAName,
  loraBName,
  parseLoraTargets,
  readPeftAdapter,
  writePeftAdapter,
  type LoraConfig,
} from '../../src/main/lm/lora';
import { readSafetensors } from '../../src/main/lm/safetensors';
import { AdamW } from '../../src/main/lm/optim';
import { trainStep } from '../../src/main/lm/trainer';
import { Rng } from '../../src/main/core/rng';
import { maxAbsDiff, useWasm } from './model/helpers';
import { LLAMA3, QWEN2, randomWeights } from './llama/helpers';

let root: string;
beforeAll(async () => {
  await useWasm();
  root = mkdtempSync(join(tmpdir(), 'lora-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const ALL: LoraConfig = { r: 4, alpha: 8, dropout: 0, targets: parseLoraTargets('q,k,v,o,gate,up,down') };
const ids = tf.tensor2d([[7, 12, 3, 40, 12, 9, 31, 5]], [1, 8], 'int32');
const logitsOf = (m: { forward: Llama['forward'] }) => {
  const t = m.forward(ids);
  const out = t.dataSync().slice() as Float32Array;
  t.dispose();
  return out;
};

/** B set to random values, so the adapters do something. */
function randomiseB(lora: LoraAdapters, seed: number): void {
  const rng = new Rng(seed);
  for (const [name, v] of lora.params) {
    if (!name.endsWith('lora_B.weight')) continue;
    const data = Float32Array.from({ length: v.size }, () => rng.normal() * 0.2);
    v.assign(tf.tensor(data, v.shape));
  }
}

describe('LoRA adapters', () => {
  it('a fresh adapter changes nothing: logits identical, A in PEFT bounds, B zero', () => {
    for (const c of [LLAMA3, QWEN2]) {
      const model = Llama.fromWeights(c, randomWeights(c, 1));
      const before = logitsOf(model);
      const lora = LoraAdapters.attach(model, ALL, new Rng(0));
      expect(lora.params.size).toBe(2 * 7 * c.nLayer);
      const a = lora.params.get(loraAName('model.layers.0.self_attn.q_proj'))!;
      expect(a.shape).toEqual([4, c.nEmbd]);
      const av = a.dataSync();
      expect(Math.max(...av.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(c.nEmbd));
      expect(Math.max(...av.map(Math.abs))).toBeGreaterThan(0.5 / Math.sqrt(c.nEmbd));
      const b = lora.params.get(loraBName('model.layers.0.mlp.down_proj'))!;
      expect(b.shape).toEqual([c.nEmbd, 4]);
      expect([...b.dataSync()].every((x) => x === 0)).toBe(true);
      expect(logitsOf(model)).toEqual(before);
      lora.detach();
      model.dispose();
    }
  });

  it('computes W x + (alpha/r) B A x on the targeted projections; the reference is the base alone', () => {
    const c = QWEN2; // q/k/v biases
    const weights = randomWeights(c, 2);
    const model = Llama.fromWeights(c, weights);
    const base = logitsOf(model);
    const lora = LoraAdapters.attach(model, { r: 2, alpha: 6, dropout: 0, targets: ['q', 'v', 'up'] }, new Rng(3));
    randomiseB(lora, 4);
    const adapted = logitsOf(model);
    expect(maxAbsDiff(adapted, base)).toBeGreaterThan(1e-3);
    // The reference view and withoutAdapters compute the base exactly.
    expect(logitsOf(lora.reference())).toEqual(base);
    expect(lora.withoutAdapters(() => logitsOf(model))).toEqual(base);
    expect(lora.enabled).toBe(true);
    // An independent model whose weights are W + 3 B A computes the adapted logits.
    const merged = new Map(weights);
    for (const module of ['self_attn.q_proj', 'self_attn.v_proj', 'mlp.up_proj']) {
      for (let l = 0; l < c.nLayer; l++) {
        const m = `model.layers.${l}.${module}`;
        const w = weights.get(`${m}.weight`)!;
        const A = lora.params.get(loraAName(m))!.dataSync();
        const B = lora.params.get(loraBName(m))!.dataSync();
        const [out, inp] = w.shape as [number, number];
        const data = new Float32Array(w.data);
        for (let o = 0; o < out; o++)
          for (let i = 0; i < inp; i++) {
            let s = 0;
            for (let k = 0; k < 2; k++) s += B[o * 2 + k]! * A[k * inp + i]!;
            data[o * inp + i]! += 3 * s;
          }
        merged.set(`${m}.weight`, { shape: w.shape, data });
      }
    }
    const reference = Llama.fromWeights(c, merged);
    expect(maxAbsDiff(logitsOf(reference), adapted)).toBeLessThan(1e-4);
    // lora.merged() is the same merge: within 1e-5 of the adapted logits, relative to their scale
    // (float32 sums in another order; these random weights give logits in the tens).
    const fromMerged = Llama.fromWeights(c, lora.merged());
    const scale = Math.max(1, ...adapted.map(Math.abs));
    expect(maxAbsDiff(logitsOf(fromMerged), adapted) / scale).toBeLessThan(1e-6);
    for (const m of [reference, fromMerged, model]) m.dispose();
    lora.dispose();
  });

  it('gradients reach only the adapters: after training steps the base is bit for bit unchanged', () => {
    const c = LLAMA3;
    const model = Llama.fromWeights(c, randomWeights(c, 5));
    const baseBefore = model.weights();
    const lora = LoraAdapters.attach(model, { ...ALL, dropout: 0.1 }, new Rng(1));
    const adaptersBefore = lora.weights();
    const optimizer = new AdamW(lora.params, { lr: 1e-2 });
    const batch = padRight(
      [
        { prompt: [1, 2, 3], response: [4, 5, 6, 7] },
        { prompt: [9, 8], response: [7, 6, 5] },
      ],
      { padId: 0 },
    );
    const losses: number[] = [];
    for (let step = 0; step < 3; step++) {
      const r = trainStep({
        params: lora.params,
        optimizer,
        microBatches: [{ seed: step }],
        lr: 1e-2,
        maxGradNorm: 1,
        loss: (mb) =>
          tf.neg(tf.mean(sequenceLogprobs(model, batch, { training: { dropoutSeed: mb.seed } }))) as tf.Scalar,
      });
      expect(Number.isFinite(r.loss)).toBe(true);
      expect(r.gradNorm).toBeGreaterThan(0);
      losses.push(r.loss);
    }
    expect(losses[2]!).toBeLessThan(losses[0]!);
    for (const [name, w] of model.weights()) expect(w.data, name).toEqual(baseBefore.get(name)!.data);
    for (const v of model.params.values()) expect(v.trainable).toBe(false);
    let moved = 0;
    for (const [name, w] of lora.weights()) if (maxAbsDiff(w.data, adaptersBefore.get(name)!.data) > 0) moved++;
    expect(moved).toBe(lora.params.size); // every A and B moved (B from zero after the first step)
    optimizer.dispose();
    lora.dispose();
    model.dispose();
  });

  it('a PEFT adapter folder round-trips: config, key names, weights, logits', () => {
    const c = LLAMA3;
    const weights = randomWeights(c, 6);
    const model = Llama.fromWeights(c, weights);
    const lora = LoraAdapters.attach(model, { r: 3, alpha: 5, dropout: 0.05, targets: ['q', 'o', 'down'] }, new Rng(2));
    randomiseB(lora, 7);
    const adapted = logitsOf(model);
    const dir = join(root, 'adapter');
    writePeftAdapter(dir, lora, 'tiny-llama');
    const config = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      r: 3,
      lora_alpha: 5,
      lora_dropout: 0.05,
      target_modules: ['q_proj', 'o_proj', 'down_proj'],
      base_model_name_or_path: 'tiny-llama',
    });
    const { tensors } = readSafetensors(join(dir, 'adapter_model.safetensors'));
    expect(tensors.has('base_model.model.model.layers.1.self_attn.o_proj.lora_A.weight')).toBe(true);
    expect(tensors.get('base_model.model.model.layers.0.mlp.down_proj.lora_B.weight')!.shape).toEqual([c.nEmbd, 3]);
    expect(tensors.size).toBe(2 * 3 * c.nLayer);

    const back = readPeftAdapter(dir);
    expect(back.baseModel).toBe('tiny-llama');
    expect(back.config).toEqual({ r: 3, alpha: 5, dropout: 0.05, targets: ['q', 'o', 'down'] });
    const fresh = Llama.fromWeights(c, weights);
    const loaded = LoraAdapters.fromWeights(fresh, back.config, back.weights);
    expect(logitsOf(fresh)).toEqual(adapted);
    for (const m of [model, fresh]) m.dispose();
    lora.dispose();
    loaded.dispose();
  });

  it('refuses unknown targets and bad settings with clear messages', () => {
    expect(() => parseLoraTargets('q,x')).toThrow(/unknown LoRA target x: choose from q, k, v, o, gate, up, down/);
    const model = Llama.fromWeights(LLAMA3, randomWeights(LLAMA3, 8));
    expect(() => LoraAdapters.attach(model, { ...ALL, r: 0 }, new Rng(0))).toThrow(/rank r/);
    expect(() => LoraAdapters.attach(model, { ...ALL, dropout: 1 }, new Rng(0))).toThrow(/dropout/);
    model.dispose();
  });
});
