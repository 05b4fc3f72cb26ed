/**
 * LoRA adapters (lora.ts) on GPT-2, whose projections are Conv1D (weight [in, out], y = x W + b) with
 * q, k and v fused in c_attn, adapted as PEFT adapts them: A [r, in] and B [out, r] as for nn.Linear,
 * the merge W + (alpha/r) (B A)^T, keys under base_model.model.transformer.h.N, fan_in_fan_out true.
 * A fresh adapter changes nothing; the adapted logits are those of a model whose weights are merged
 * by an independent loop here, on both of c_attn's code paths (fused and sliced); the reference
 * view is the base exactly; training moves only the adapters; a PEFT folder round-trips; a folder
 * written as a PEFT user would (target_modules c_attn, c_proj) reads; bad targets are refused.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { padRight } from '../../src/main/lm/batch';
import type { NamedTensors } from '../../src/main/lm/config';
import { Gpt } from '../../src/main/lm/model';
import { sequenceLogprobs } from '../../src/main/lm/logprobs';
import {
  LoraAdapters,
  loraAName,
  loraBName,
  mergeLoraWeights,
  readPeftAdapter,
  readPeftConfig,
  writePeftAdapter,
  type LoraConfig,
} from '../../src/main/lm/lora';
import { readSafetensors, writeSafetensors } from '../../src/main/lm/safetensors';
import { AdamW } from '../../src/main/lm/optim';
import { trainStep } from '../../src/main/lm/trainer';
import { Rng } from '../../src/main/core/rng';
import { maxAbsDiff, randomWeights, TOY, useWasm } from './model/helpers';

let root: string;
beforeAll(async () => {
  await useWasm();
  root = mkdtempSync(join(tmpdir(), 'lora-gpt2-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const D = TOY.nEmbd;
const ALL: LoraConfig = { r: 4, alpha: 8, dropout: 0, targets: ['q', 'k', 'v', 'o', 'up', 'down'] };
/** One short row (3 x 8 = 24 rows <= D: c_attn's fused path) and a long batch (3 x 16 = 48 > D: sliced). */
const SHORT = tf.tensor2d([[7, 12, 3, 40, 12, 9, 31, 5]], [1, 8], 'int32');
const LONG = tf.tensor2d(
  Array.from({ length: 3 }, (_, b) => Array.from({ length: 16 }, (_, t) => (b * 17 + t * 5) % TOY.vocabSize)),
  [3, 16],
  'int32',
);
const logitsOf = (m: { forward: Gpt['forward'] }, ids: tf.Tensor2D) => {
  const t = m.forward(ids);
  const out = t.dataSync().slice() as Float32Array;
  t.dispose();
  return out;
};

function randomiseB(lora: LoraAdapters, seed: number): void {
  const rng = new Rng(seed);
  for (const [name, v] of lora.params) {
    if (!name.endsWith('lora_B.weight')) continue;
    v.assign(
      tf.tensor(
        Float32Array.from({ length: v.size }, () => rng.normal() * 0.2),
        v.shape,
      ),
    );
  }
}

/** W[i, o] += s * sum_k B[o, k] A[k, i] for each Conv1D W [in, out]: the merge written out, independently. */
function mergeByHand(weights: NamedTensors, lora: LoraAdapters, modules: string[], s: number): NamedTensors {
  const merged = new Map(weights);
  const r = lora.config.r;
  for (const module of modules) {
    for (let l = 0; l < TOY.nLayer; l++) {
      const w = weights.get(`h.${l}.${module}.weight`)!;
      const A = lora.params.get(loraAName(`transformer.h.${l}.${module}`))!.dataSync();
      const B = lora.params.get(loraBName(`transformer.h.${l}.${module}`))!.dataSync();
      const [inp, out] = w.shape as [number, number];
      const data = new Float32Array(w.data);
      for (let i = 0; i < inp; i++)
        for (let o = 0; o < out; o++) {
          let sum = 0;
          for (let k = 0; k < r; k++) sum += B[o * r + k]! * A[k * inp + i]!;
          data[i * out + o]! += s * sum;
        }
      merged.set(`h.${l}.${module}.weight`, { shape: w.shape, data });
    }
  }
  return merged;
}

describe('LoRA adapters on GPT-2', () => {
  it('a fresh adapter changes nothing; A [r, in] and B [out, r] under PEFT names, c_attn adapted once for q, k, v', () => {
    const model = Gpt.fromWeights(TOY, randomWeights(TOY, 1));
    const before = logitsOf(model, LONG);
    const lora = LoraAdapters.attach(model, ALL, new Rng(0));
    expect(lora.params.size).toBe(2 * 4 * TOY.nLayer); // c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj
    const shapes = (m: string) => [
      lora.params.get(loraAName(`transformer.h.1.${m}`))!.shape,
      lora.params.get(loraBName(`transformer.h.1.${m}`))!.shape,
    ];
    expect(shapes('attn.c_attn')).toEqual([
      [4, D],
      [3 * D, 4],
    ]);
    expect(shapes('attn.c_proj')).toEqual([
      [4, D],
      [D, 4],
    ]);
    expect(shapes('mlp.c_fc')).toEqual([
      [4, D],
      [4 * D, 4],
    ]);
    expect(shapes('mlp.c_proj')).toEqual([
      [4, 4 * D],
      [D, 4],
    ]);
    const a = [...lora.params.get(loraAName('transformer.h.0.mlp.c_proj'))!.dataSync()].map(Math.abs);
    expect(Math.max(...a)).toBeLessThanOrEqual(1 / Math.sqrt(4 * D)); // kaiming bound of in = 4D
    expect(Math.max(...a)).toBeGreaterThan(0.5 / Math.sqrt(4 * D));
    expect([...lora.params.get(loraBName('transformer.h.0.attn.c_attn'))!.dataSync()].every((x) => x === 0)).toBe(true);
    expect(logitsOf(model, LONG)).toEqual(before);
    lora.detach();
    model.dispose();
  });

  it('computes x W + b + (alpha/r) x A^T B^T on both c_attn paths, equal to W + (alpha/r) (B A)^T merged; the reference is the base', () => {
    const weights = randomWeights(TOY, 2);
    const model = Gpt.fromWeights(TOY, weights);
    const base = [logitsOf(model, SHORT), logitsOf(model, LONG)];
    const lora = LoraAdapters.attach(
      model,
      { r: 2, alpha: 6, dropout: 0, targets: ['q', 'k', 'v', 'down'] },
      new Rng(3),
    );
    randomiseB(lora, 4);
    const adapted = [logitsOf(model, SHORT), logitsOf(model, LONG)];
    for (const i of [0, 1]) {
      expect(maxAbsDiff(adapted[i]!, base[i]!)).toBeGreaterThan(1e-3);
      // The reference view and withoutAdapters compute the base bit for bit (the hook adds nothing).
      expect(logitsOf(lora.reference(), [SHORT, LONG][i]!)).toEqual(base[i]);
    }
    expect(lora.withoutAdapters(() => logitsOf(model, LONG))).toEqual(base[1]);

    // An independent model holding W + 3 (B A)^T in Conv1D layout computes the adapted logits.
    const byHand = mergeByHand(weights, lora, ['attn.c_attn', 'mlp.c_proj'], 3);
    const reference = Gpt.fromWeights(TOY, byHand);
    for (const i of [0, 1]) expect(maxAbsDiff(logitsOf(reference, [SHORT, LONG][i]!), adapted[i]!)).toBeLessThan(1e-4);

    // lora.merged() is that merge: the same weights (float64 sums there, float32 here), untargeted ones untouched.
    const merged = lora.merged();
    for (const [name, w] of byHand) {
      const diff = maxAbsDiff(merged.get(name)!.data, w.data);
      if (/attn\.c_attn\.weight|mlp\.c_proj\.weight/.test(name)) expect(diff, name).toBeLessThan(1e-6);
      else expect(merged.get(name)!.data, name).toEqual(weights.get(name)!.data);
    }
    const moved = (name: string) => maxAbsDiff(merged.get(name)!.data, weights.get(name)!.data);
    expect(moved('h.0.attn.c_attn.weight')).toBeGreaterThan(1e-3);
    expect(moved('h.1.mlp.c_proj.weight')).toBeGreaterThan(1e-3);
    for (const m of [reference, model]) m.dispose();
    lora.dispose();
  });

  it('gradients reach only the adapters: after training steps with dropout the base is bit for bit unchanged', () => {
    const model = Gpt.fromWeights(TOY, randomWeights(TOY, 5));
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
    expect(moved).toBe(lora.params.size);
    optimizer.dispose();
    lora.dispose();
    model.dispose();
  });

  it("a PEFT folder round-trips: fan_in_fan_out, GPT-2's module names and keys, weights, logits", () => {
    const weights = randomWeights(TOY, 6);
    const model = Gpt.fromWeights(TOY, weights);
    const lora = LoraAdapters.attach(
      model,
      { r: 3, alpha: 5, dropout: 0.05, targets: ['q', 'k', 'v', 'o', 'up'] },
      new Rng(2),
    );
    randomiseB(lora, 7);
    const adapted = logitsOf(model, LONG);
    const dir = join(root, 'adapter');
    writePeftAdapter(dir, lora, 'tiny-gpt2');
    const config = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      r: 3,
      lora_alpha: 5,
      lora_dropout: 0.05,
      // attn.c_proj, not c_proj: PEFT matches names as suffixes, and c_proj alone would adapt mlp.c_proj too.
      target_modules: ['c_attn', 'attn.c_proj', 'c_fc'],
      fan_in_fan_out: true,
      base_model_name_or_path: 'tiny-gpt2',
    });
    const { tensors } = readSafetensors(join(dir, 'adapter_model.safetensors'));
    expect([...tensors.keys()].sort()).toContain('base_model.model.transformer.h.1.attn.c_attn.lora_A.weight');
    expect(tensors.get('base_model.model.transformer.h.0.attn.c_attn.lora_B.weight')!.shape).toEqual([3 * D, 3]);
    expect(tensors.get('base_model.model.transformer.h.0.mlp.c_fc.lora_B.weight')!.shape).toEqual([4 * D, 3]);
    expect(tensors.size).toBe(2 * 3 * TOY.nLayer);

    const back = readPeftAdapter(dir);
    expect(back.family).toBe('gpt2');
    expect(back.baseModel).toBe('tiny-gpt2');
    expect(back.config).toEqual({ r: 3, alpha: 5, dropout: 0.05, targets: ['q', 'k', 'v', 'o', 'up'] });
    const fresh = Gpt.fromWeights(TOY, weights);
    const loaded = LoraAdapters.fromWeights(fresh, back.config, back.weights);
    expect(logitsOf(fresh, LONG)).toEqual(adapted);
    // The merge of the folder's weights (alol model merge's path) gives the adapted model.
    const merged = Gpt.fromWeights(TOY, mergeLoraWeights(weights, back.config, back.weights, 'gpt2'));
    expect(maxAbsDiff(logitsOf(merged, LONG), adapted)).toBeLessThan(1e-4);
    for (const m of [model, fresh, merged]) m.dispose();
    lora.dispose();
    loaded.dispose();
  });

  it("reads a folder as a PEFT user writes one for GPT-2 (target_modules c_attn, c_proj; '.default' keys)", () => {
    const dir = join(root, 'by-hand');
    mkdirSync(dir, { recursive: true });
    const r = 2;
    const config = { peft_type: 'LORA', r, lora_alpha: 4, target_modules: ['c_attn', 'c_proj'], fan_in_fan_out: true };
    writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify(config));
    const tensors: NamedTensors = new Map();
    const rng = new Rng(9);
    const put = (name: string, shape: [number, number]) =>
      tensors.set(name, { shape, data: Float32Array.from({ length: shape[0] * shape[1] }, () => rng.normal() * 0.1) });
    for (let l = 0; l < TOY.nLayer; l++) {
      for (const [m, inp, out] of [
        ['attn.c_attn', D, 3 * D],
        ['attn.c_proj', D, D],
        ['mlp.c_proj', 4 * D, D],
      ] as const) {
        put(`base_model.model.transformer.h.${l}.${m}.lora_A.default.weight`, [r, inp]);
        put(`base_model.model.transformer.h.${l}.${m}.lora_B.default.weight`, [out, r]);
      }
    }
    writeSafetensors(join(dir, 'adapter_model.safetensors'), tensors, { format: 'pt' });
    const read = readPeftAdapter(dir);
    expect(read.family).toBe('gpt2');
    expect(read.config).toEqual({ r, alpha: 4, dropout: 0, targets: ['q', 'k', 'v', 'o', 'down'] });
    const model = Gpt.fromWeights(TOY, randomWeights(TOY, 10));
    const lora = LoraAdapters.fromWeights(model, read.config, read.weights);
    expect(lora.params.size).toBe(2 * 3 * TOY.nLayer);
    lora.detach();
    model.dispose();
  });

  it('refuses gate, q without k and v, and adapters of the other family, by name', () => {
    const model = Gpt.fromWeights(TOY, randomWeights(TOY, 8));
    expect(() => LoraAdapters.attach(model, { ...ALL, targets: ['q', 'k', 'v', 'gate'] }, new Rng(0))).toThrow(
      /GPT-2 has no gate projection/,
    );
    expect(() => LoraAdapters.attach(model, { ...ALL, targets: ['q', 'v'] }, new Rng(0))).toThrow(
      /one fused c_attn, which PEFT adapts as a whole: give q, k and v together \(not q,v alone\)/,
    );
    expect(model.linearHook).toBeNull();
    const llamaKeys: NamedTensors = new Map([
      [
        'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight',
        { shape: [2, D], data: new Float32Array(2 * D) },
      ],
      [
        'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight',
        { shape: [D, 2], data: new Float32Array(2 * D) },
      ],
    ]);
    expect(() => mergeLoraWeights(model.weights(), { ...ALL, r: 2 }, llamaKeys, 'gpt2')).toThrow(
      /adapts model\.layers\.0\.self_attn\.q_proj, which is not a module of a GPT-2 model/,
    );
    const dir = join(root, 'mixed');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'adapter_config.json'),
      JSON.stringify({ peft_type: 'LORA', r: 2, lora_alpha: 4, target_modules: ['c_attn', 'q_proj'] }),
    );
    expect(() => readPeftConfig(dir)).toThrow(/target_modules c_attn, q_proj are not all modules of one family/);
    model.dispose();
  });
});
