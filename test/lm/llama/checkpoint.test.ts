/**
 * Hugging Face Llama-family folders written here (nothing downloads): config.json as transformers
 * writes it, model.safetensors in F32, F16 and BF16 and a sharded model.safetensors.index.json all
 * load to the same weights and logits; weights that disagree with the config (a name, a shape, a
 * dtype, an untied head in a tied config) are refused naming the file and the tensor.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLlamaWeights, writeLlamaModel } from '../../../src/main/lm/checkpoint';
import type { NamedTensors } from '../../../src/main/lm/config';
import { Llama } from '../../../src/main/lm/llama';
import { readLlamaConfig, type LlamaConfig } from '../../../src/main/lm/llamaConfig';
import { Rng } from '../../../src/main/core/rng';
import { randomTokens, take, useWasm } from '../model/helpers';
import { LLAMA3, QWEN2, randomWeights, referenceLogits } from './helpers';

let root: string;
beforeAll(async () => {
  await useWasm();
  root = mkdtempSync(join(tmpdir(), 'llama-ckpt-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

type Dtype = 'F32' | 'F16' | 'BF16' | 'I32';

/** float32 -> IEEE half bits, for values exactly representable as normal halves (the quantized weights are). */
function f16Bits(v: number): number {
  if (v === 0) return Object.is(v, -0) ? 0x8000 : 0;
  const sign = v < 0 ? 0x8000 : 0;
  const a = Math.abs(v);
  const e = Math.floor(Math.log2(a));
  const mantissa = (a / 2 ** e - 1) * 1024;
  if (!Number.isInteger(mantissa) || e < -14 || e > 15) throw new Error(`${v} is not exact in float16`);
  return sign | ((e + 15) << 10) | mantissa;
}

/** A safetensors file written by hand, each tensor in the dtype asked for (per name, default F32). */
function writeFile(path: string, tensors: NamedTensors, dtypeOf: (name: string) => Dtype = () => 'F32'): void {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, { shape, data }] of tensors) {
    const dtype = dtypeOf(name);
    let bytes: Uint8Array;
    if (dtype === 'F32') bytes = new Uint8Array(Float32Array.from(data).buffer);
    else if (dtype === 'I32') bytes = new Uint8Array(Int32Array.from(data, Math.round).buffer);
    else {
      const bits = new Uint16Array(data.length);
      const f32 = new Uint32Array(Float32Array.from(data).buffer);
      for (let i = 0; i < data.length; i++) {
        if (dtype === 'BF16') {
          if ((f32[i]! & 0xffff) !== 0) throw new Error(`${data[i]} is not exact in bfloat16`);
          bits[i] = f32[i]! >>> 16;
        } else bits[i] = f16Bits(data[i]!);
      }
      bytes = new Uint8Array(bits.buffer);
    }
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes.byteLength] };
    parts.push(bytes);
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const head = new Uint8Array(8 + json.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(json.length), true);
  head.set(new TextEncoder().encode(json), 8);
  writeFileSync(path, Buffer.concat([head, ...parts]));
}

/** config.json as transformers writes it for these configs (written out here, not by llamaConfig.ts). */
function configJson(c: LlamaConfig): Record<string, unknown> {
  const qwen = c.architecture === 'Qwen2ForCausalLM';
  return {
    architectures: [c.architecture],
    model_type: qwen ? 'qwen2' : 'llama',
    attention_dropout: 0.0,
    bos_token_id: c.bosTokenId,
    eos_token_id: c.eosTokenIds.length === 1 ? c.eosTokenIds[0] : c.eosTokenIds,
    hidden_act: 'silu',
    hidden_size: c.nEmbd,
    head_dim: c.headDim,
    initializer_range: 0.02,
    intermediate_size: c.intermediateSize,
    max_position_embeddings: c.maxPositionEmbeddings,
    num_attention_heads: c.nHead,
    num_hidden_layers: c.nLayer,
    num_key_value_heads: c.nKvHead,
    rms_norm_eps: c.rmsNormEps,
    rope_theta: c.ropeTheta,
    rope_scaling:
      c.ropeScaling?.type === 'llama3'
        ? {
            rope_type: 'llama3',
            factor: c.ropeScaling.factor,
            low_freq_factor: c.ropeScaling.lowFreqFactor,
            high_freq_factor: c.ropeScaling.highFreqFactor,
            original_max_position_embeddings: c.ropeScaling.originalMaxPositionEmbeddings,
          }
        : null,
    tie_word_embeddings: c.tieWordEmbeddings,
    torch_dtype: 'bfloat16',
    use_cache: true,
    vocab_size: c.vocabSize,
    ...(qwen
      ? { use_sliding_window: false, sliding_window: 4096, max_window_layers: c.nLayer }
      : { attention_bias: false, mlp_bias: false, pretraining_tp: 1 }),
  };
}

function folder(name: string, c: LlamaConfig): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(configJson(c), null, 2));
  return dir;
}

function logitsOf(c: LlamaConfig, weights: NamedTensors, ids: number[]): number[] {
  const model = Llama.fromWeights(c, weights);
  try {
    return take(model.forward(tf.tensor2d(ids, [1, ids.length], 'int32')));
  } finally {
    model.dispose();
  }
}

describe('loading a Hugging Face folder', () => {
  for (const c of [LLAMA3, QWEN2]) {
    it(`${c.architecture}: F32, F16, BF16 and sharded files give the same weights and logits as the weights themselves`, () => {
      const weights = randomWeights(c, 41, { quantized: true });
      const ids = randomTokens(new Rng(2), 12, c.vocabSize);
      const want = logitsOf(c, weights, ids);
      // The quantized weights still compute the float64 reference's logits.
      const ref = referenceLogits(c, weights, ids).flat();
      expect(Math.max(...want.map((v, i) => Math.abs(v - ref[i]!)))).toBeLessThan(1e-4);

      for (const dtype of ['F32', 'F16', 'BF16'] as const) {
        const dir = folder(`${c.architecture}-${dtype}`, c);
        // Mixed as real checkpoints are: norms in F32, everything else in the dtype; plus an old rotary buffer.
        const withBuffer: NamedTensors = new Map(weights);
        withBuffer.set('model.layers.0.self_attn.rotary_emb.inv_freq', {
          shape: [c.headDim / 2],
          data: new Float32Array(c.headDim / 2),
        });
        writeFile(join(dir, 'model.safetensors'), withBuffer, (name) =>
          name.endsWith('norm.weight') || name.includes('rotary') ? 'F32' : dtype,
        );
        const config = readLlamaConfig(dir);
        expect(config).toEqual(c);
        const loaded = readLlamaWeights(dir, config);
        expect([...loaded.keys()]).toEqual([...weights.keys()]);
        for (const [name, w] of weights) expect(loaded.get(name)!.data, `${dtype} ${name}`).toEqual(w.data);
        expect(logitsOf(config, loaded, ids)).toEqual(want);
      }

      // Sharded: two files and an index, as save_pretrained(max_shard_size=...) writes them.
      const dir = folder(`${c.architecture}-sharded`, c);
      const names = [...weights.keys()];
      const shards = [names.slice(0, 7), names.slice(7)];
      const weightMap: Record<string, string> = {};
      shards.forEach((list, i) => {
        const file = `model-0000${i + 1}-of-00002.safetensors`;
        writeFile(join(dir, file), new Map(list.map((n) => [n, weights.get(n)!])), () => (i === 0 ? 'BF16' : 'F16'));
        for (const n of list) weightMap[n] = file;
      });
      writeFileSync(
        join(dir, 'model.safetensors.index.json'),
        JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }),
      );
      expect(logitsOf(c, readLlamaWeights(dir, readLlamaConfig(dir)), ids)).toEqual(want);
    });
  }

  it('generation_config.json: its eos list wins over config.json', () => {
    const dir = folder('generation', QWEN2);
    writeFileSync(
      join(dir, 'generation_config.json'),
      JSON.stringify({ bos_token_id: 1, eos_token_id: [5, 2], do_sample: true }),
    );
    const config = readLlamaConfig(dir);
    expect(config.eosTokenIds).toEqual([5, 2]);
    expect(config.eosTokenId).toBe(5);
    writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: [5, 999] }));
    expect(() => readLlamaConfig(dir)).toThrow(
      /generation_config\.json: field "eos_token_id" must be a token id in \[0, 64\), got 999/,
    );
  });

  it('writeLlamaModel writes a folder that reads back to the same config and weights', () => {
    const dir = join(root, 'written');
    const weights = randomWeights(LLAMA3, 43);
    writeLlamaModel(dir, LLAMA3, weights);
    const config = readLlamaConfig(dir);
    expect(config).toEqual(LLAMA3);
    const back = readLlamaWeights(dir, config);
    for (const [name, w] of weights) expect(back.get(name)!.data).toEqual(w.data);
  });
});

describe('weights that disagree with the config name the file and the tensor', () => {
  const c = LLAMA3;
  const weights = randomWeights(c, 42);
  const write = (name: string, tensors: NamedTensors, dtypeOf?: (name: string) => Dtype) => {
    const dir = folder(name, c);
    const file = join(dir, 'model.safetensors');
    writeFile(file, tensors, dtypeOf);
    return { dir, file };
  };
  const escaped = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  it('a renamed tensor: missing under its name, and the stray name', () => {
    const renamed: NamedTensors = new Map(
      [...weights].map(([n, w]) => [
        n === 'model.layers.1.mlp.up_proj.weight' ? 'model.layers.1.mlp.upproj.weight' : n,
        w,
      ]),
    );
    const { dir, file } = write('renamed', renamed);
    const attempt = () => readLlamaWeights(dir, readLlamaConfig(dir));
    expect(attempt).toThrow(
      new RegExp(`${escaped(file)}: tensor "model\\.layers\\.1\\.mlp\\.up_proj\\.weight" is missing`),
    );
    expect(attempt).toThrow(
      new RegExp(
        `${escaped(file)}: tensor "model\\.layers\\.1\\.mlp\\.upproj\\.weight" is not a parameter of this config`,
      ),
    );
    expect(attempt).toThrow(new RegExp(escaped(join(dir, 'config.json'))));
  });

  it('a wrong shape: k_proj with as many heads as q_proj (num_key_value_heads says 2)', () => {
    const wrong: NamedTensors = new Map(weights);
    wrong.set('model.layers.0.self_attn.k_proj.weight', {
      shape: [c.nHead * c.headDim, c.nEmbd],
      data: new Float32Array(c.nHead * c.headDim * c.nEmbd),
    });
    const { dir, file } = write('shape', wrong);
    expect(() => readLlamaWeights(dir, readLlamaConfig(dir))).toThrow(
      new RegExp(
        `${escaped(file)}: tensor "model\\.layers\\.0\\.self_attn\\.k_proj\\.weight" is \\[32, 32\\], expected \\[16, 32\\]`,
      ),
    );
  });

  it('a dtype that is not floating point', () => {
    const { dir, file } = write('dtype', weights, (name) => (name === 'model.norm.weight' ? 'I32' : 'F32'));
    expect(() => readLlamaWeights(dir, readLlamaConfig(dir))).toThrow(
      new RegExp(`${escaped(file)}: tensor "model\\.norm\\.weight": dtype I32 cannot be read as floats`),
    );
  });

  it('a missing lm_head in an untied config, and an lm_head unlike the embedding in a tied one', () => {
    const headless: NamedTensors = new Map(weights);
    headless.delete('lm_head.weight');
    const { dir, file } = write('headless', headless);
    expect(() => readLlamaWeights(dir, readLlamaConfig(dir))).toThrow(
      new RegExp(`${escaped(file)}: tensor "lm_head\\.weight" is missing`),
    );

    const tiedWeights = randomWeights(QWEN2, 44);
    const tiedDir = folder('tied-head', QWEN2);
    const tiedFile = join(tiedDir, 'model.safetensors');
    // An lm_head equal to the embedding is accepted (some checkpoints save the tied copy) ...
    writeFile(tiedFile, new Map([...tiedWeights, ['lm_head.weight', tiedWeights.get('model.embed_tokens.weight')!]]));
    expect(readLlamaWeights(tiedDir, readLlamaConfig(tiedDir)).has('lm_head.weight')).toBe(false);
    // ... one that differs is not.
    const other = {
      shape: [QWEN2.vocabSize, QWEN2.nEmbd],
      data: new Float32Array(QWEN2.vocabSize * QWEN2.nEmbd).fill(0.5),
    };
    writeFile(tiedFile, new Map([...tiedWeights, ['lm_head.weight', other]]));
    expect(() => readLlamaWeights(tiedDir, readLlamaConfig(tiedDir))).toThrow(
      new RegExp(
        `${escaped(tiedFile)}: tensor "lm_head\\.weight" differs from model\\.embed_tokens\\.weight, but .*config\\.json says tie_word_embeddings: true`,
      ),
    );
  });

  it('no weights at all: the missing file is named', () => {
    const dir = folder('empty', c);
    expect(() => readLlamaWeights(dir, readLlamaConfig(dir))).toThrow(
      new RegExp(`${escaped(join(dir, 'model.safetensors'))}: not found`),
    );
  });
});
