import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GPT2_SMALL, parameterShapes, type GptConfig, type NamedTensors } from '../../src/main/lm/config';
import { Rng } from '../../src/main/core/rng';
import {
  hfConfigJson,
  readHfConfig,
  readHfWeights,
  readTrainingState,
  writeHfModel,
  writeTrainingState,
} from '../../src/main/lm/checkpoint';
import { readSafetensors, readSafetensorsHeader } from '../../src/main/lm/safetensors';
import { f32Bytes, layOut, u16Bytes, type HandTensor } from '../fixtures/lm/handmade';
import { useTempDir } from '../helpers/tempDir';

const tempDir = useTempDir('alol-checkpoint-');
const fixtures = fileURLToPath(new URL('../fixtures/lm/', import.meta.url));

const tiny: GptConfig = {
  vocabSize: 11,
  nPositions: 5,
  nEmbd: 4,
  nLayer: 2,
  nHead: 2,
  layerNormEpsilon: 1e-5,
  dropout: 0.1,
  bosTokenId: 10,
  eosTokenId: 10,
};

function randomWeights(config: GptConfig, seed = 1): NamedTensors {
  const rng = new Rng(seed);
  const weights: NamedTensors = new Map();
  for (const [name, shape] of parameterShapes(config)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1)).map(() => rng.normal());
    weights.set(name, { shape, data });
  }
  return weights;
}

function bitsOf(data: Float32Array): number[] {
  return [...new Uint32Array(data.buffer, data.byteOffset, data.length)];
}

function expectSameTensors(actual: NamedTensors, expected: NamedTensors): void {
  expect([...actual.keys()]).toEqual([...expected.keys()]);
  for (const [name, { shape, data }] of expected) {
    expect(actual.get(name)!.shape, name).toEqual(shape);
    expect(bitsOf(actual.get(name)!.data), name).toEqual(bitsOf(data));
  }
}

function f32Tensor(name: string, shape: number[], data: Float32Array): HandTensor {
  return { name, dtype: 'F32', shape, bytes: f32Bytes([...data]) };
}

/** A folder laid out as older transformers saved GPT2LMHeadModel: prefixed names, mask buffers, the tied head. */
function hfFolder(
  weights: NamedTensors,
  options: { lmHead?: Float32Array; omit?: string[]; add?: HandTensor[]; config?: object } = {},
): string {
  const dir = tempDir();
  const n = tiny.nPositions;
  const tensors: HandTensor[] = [];
  for (const [name, { shape, data }] of weights) {
    if (options.omit?.includes(name)) continue;
    tensors.push(f32Tensor(`transformer.${name}`, shape, data));
    const block = /^h\.(\d+)\.ln_1\.weight$/.exec(name);
    if (block) {
      // As GPT2Attention registered them: a lower-triangular byte mask and the -1e4 fill value.
      const mask = new Uint8Array(n * n).map((_, i) => (i % n <= Math.floor(i / n) ? 1 : 0));
      tensors.push({ name: `transformer.h.${block[1]}.attn.bias`, dtype: 'U8', shape: [1, 1, n, n], bytes: mask });
      tensors.push(f32Tensor(`transformer.h.${block[1]}.attn.masked_bias`, [], new Float32Array([-1e4])));
    }
  }
  tensors.push(
    f32Tensor('lm_head.weight', [tiny.vocabSize, tiny.nEmbd], options.lmHead ?? weights.get('wte.weight')!.data),
  );
  tensors.push(...(options.add ?? []));
  writeFileSync(join(dir, 'model.safetensors'), layOut(tensors, { format: 'pt' }));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(options.config ?? hfConfigJson(tiny)));
  return dir;
}

function configDir(fields: Record<string, unknown>): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'config.json'), JSON.stringify(fields));
  return dir;
}

const tinyFields = { model_type: 'gpt2', vocab_size: 11, n_positions: 5, n_embd: 4, n_layer: 2, n_head: 2 };

describe('readHfConfig', () => {
  it("reads GPT-2 small's own config.json", () => {
    const dir = tempDir();
    copyFileSync(join(fixtures, 'gpt2-config.json'), join(dir, 'config.json'));
    expect(readHfConfig(dir)).toEqual(GPT2_SMALL);
  });

  it('fills defaults: n_ctx for n_positions, epsilon, dropout from resid_pdrop, the end token', () => {
    expect(
      readHfConfig(configDir({ vocab_size: 11, n_ctx: 5, n_embd: 4, n_layer: 2, n_head: 2, resid_pdrop: 0.25 })),
    ).toEqual({
      vocabSize: 11,
      nPositions: 5,
      nEmbd: 4,
      nLayer: 2,
      nHead: 2,
      layerNormEpsilon: 1e-5,
      dropout: 0.25,
      bosTokenId: 10,
      eosTokenId: 10,
    });
    const gpt2Vocab = readHfConfig(
      configDir({
        ...tinyFields,
        vocab_size: 50257,
        bos_token_id: null,
        layer_norm_epsilon: 1e-6,
        activation_function: 'gelu_pytorch_tanh',
      }),
    );
    expect(gpt2Vocab).toMatchObject({ bosTokenId: 50256, eosTokenId: 50256, dropout: 0.1, layerNormEpsilon: 1e-6 });
    // Another model_type is fine when its fields are GPT-2's; the weights are checked on their own.
    expect(
      readHfConfig(configDir({ ...tinyFields, model_type: 'my-gpt2', bos_token_id: 0, eos_token_id: 3 })),
    ).toMatchObject({ bosTokenId: 0, eosTokenId: 3 });
  });

  const refusals: [string, Record<string, unknown>, string][] = [
    [
      'another activation',
      { ...tinyFields, activation_function: 'relu' },
      'field "activation_function" is "relu"; only GPT-2\'s tanh GELU is supported (gelu_new or gelu_pytorch_tanh)',
    ],
    [
      'another architecture',
      { model_type: 'llama', vocab_size: 11, hidden_size: 4, num_hidden_layers: 2 },
      'field "model_type" is "llama", not "gpt2", and the file lacks GPT-2\'s n_embd, n_layer, n_head, n_positions: not a GPT-2 layout',
    ],
    ['a missing field', { ...tinyFields, n_layer: undefined }, 'field "n_layer" is missing'],
    ['a string for a number', { ...tinyFields, n_head: '2' }, 'field "n_head" must be a positive integer, got "2"'],
    ['a fractional size', { ...tinyFields, n_embd: 4.5 }, 'field "n_embd" must be a positive integer, got 4.5'],
    ['heads that do not divide the width', { ...tinyFields, n_head: 3 }, 'field "n_head" (3) must divide n_embd (4)'],
    [
      'an eos id outside the vocabulary',
      { ...tinyFields, eos_token_id: 11 },
      'field "eos_token_id" must be a token id in [0, 11), got 11',
    ],
    ['a dropout of 1', { ...tinyFields, attn_pdrop: 1 }, 'field "attn_pdrop" must be a number in [0, 1), got 1'],
    [
      'a negative epsilon',
      { ...tinyFields, layer_norm_epsilon: -1 },
      'field "layer_norm_epsilon" must be a small positive number, got -1',
    ],
    [
      'another MLP width',
      { ...tinyFields, n_inner: 8 },
      'field "n_inner" is 8; only null or 4 * n_embd (16) is supported',
    ],
    ['unscaled attention', { ...tinyFields, scale_attn_weights: false }, 'field "scale_attn_weights" is false'],
    [
      'per-layer attention scaling',
      { ...tinyFields, scale_attn_by_inverse_layer_idx: true },
      'field "scale_attn_by_inverse_layer_idx" is true',
    ],
    ['cross-attention', { ...tinyFields, add_cross_attention: true }, 'field "add_cross_attention" is true'],
  ];
  for (const [what, fields, message] of refusals) {
    it(`refuses ${what}, naming config.json and the field`, () => {
      const dir = configDir(fields);
      expect(() => readHfConfig(dir)).toThrow(`${join(dir, 'config.json')}: ${message}`);
    });
  }

  it('says when config.json is missing or not JSON', () => {
    const dir = tempDir();
    expect(() => readHfConfig(dir)).toThrow(`${join(dir, 'config.json')}: not found`);
    writeFileSync(join(dir, 'config.json'), '{"n_embd": 4,');
    expect(() => readHfConfig(dir)).toThrow(`${join(dir, 'config.json')}: not valid JSON`);
    writeFileSync(join(dir, 'config.json'), '[]');
    expect(() => readHfConfig(dir)).toThrow(`${join(dir, 'config.json')}: expected a JSON object`);
  });
});

describe('readHfWeights', () => {
  it('imports a folder with "transformer." names, mask buffers and a tied lm_head', () => {
    const weights = randomWeights(tiny);
    const dir = hfFolder(weights);
    expectSameTensors(readHfWeights(dir, tiny), weights);
  });

  it('reads bfloat16 weights, widened exactly', () => {
    const weights = randomWeights(tiny);
    const tensors: HandTensor[] = [];
    const expected: NamedTensors = new Map();
    for (const [name, { shape, data }] of weights) {
      const top = [...new Uint32Array(data.buffer)].map((bits) => bits >>> 16);
      tensors.push({ name, dtype: 'BF16', shape, bytes: u16Bytes(top) });
      expected.set(name, { shape, data: new Float32Array(new Uint32Array(top.map((b) => b << 16)).buffer) });
    }
    const dir = tempDir();
    writeFileSync(join(dir, 'model.safetensors'), layOut(tensors));
    expectSameTensors(readHfWeights(dir, tiny), expected);
  });

  it('refuses an lm_head that differs from wte', () => {
    const weights = randomWeights(tiny);
    const head = weights.get('wte.weight')!.data.slice();
    head[7] = head[7]! + 1;
    const dir = hfFolder(weights, { lmHead: head });
    expect(() => readHfWeights(dir, tiny)).toThrow(
      `${join(dir, 'model.safetensors')}: tensor "lm_head.weight" differs from wte.weight: an untied LM head`,
    );
  });

  it('names every missing, unexpected and wrongly shaped tensor in one error', () => {
    const weights = randomWeights(tiny);
    const cAttn = weights.get('h.0.attn.c_attn.weight')!;
    weights.set('h.0.attn.c_attn.weight', { shape: [12, 4], data: cAttn.data });
    const dir = hfFolder(weights, {
      omit: ['h.1.mlp.c_fc.bias', 'ln_f.bias'],
      add: [f32Tensor('transformer.h.2.ln_1.weight', [4], new Float32Array(4))],
    });
    let message = '';
    try {
      readHfWeights(dir, tiny);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain(
      `${join(dir, 'model.safetensors')}: the tensors do not match the GPT-2 config (n_layer 2, n_embd 4, vocab_size 11, n_positions 5)`,
    );
    expect(message).toContain('missing 2: h.1.mlp.c_fc.bias, ln_f.bias');
    expect(message).toContain('unexpected 1: h.2.ln_1.weight');
    expect(message).toContain(
      'wrong shape 1: h.0.attn.c_attn.weight is [12, 4], expected [4, 12] (transposed: GPT-2 stores Conv1D weights [in, out])',
    );
  });

  it('refuses a second copy of a parameter, and a pickle-only folder', () => {
    const weights = randomWeights(tiny);
    const dir = hfFolder(weights, { add: [f32Tensor('ln_f.bias', [4], new Float32Array(4))] });
    expect(() => readHfWeights(dir, tiny)).toThrow(
      /tensor "(transformer\.)?ln_f\.bias" is a second copy of "ln_f\.bias"/,
    );

    const pickle = tempDir();
    writeFileSync(join(pickle, 'pytorch_model.bin'), 'PK');
    expect(() => readHfWeights(pickle, tiny)).toThrow(
      `${join(pickle, 'model.safetensors')}: not found (the folder has pytorch_model.bin: only safetensors can be read`,
    );
  });

  it('reads a sharded checkpoint through model.safetensors.index.json', () => {
    const weights = randomWeights(tiny);
    const names = [...weights.keys()];
    const half = Math.ceil(names.length / 2);
    const dir = tempDir();
    const shards = [names.slice(0, half), names.slice(half)];
    const weightMap: Record<string, string> = {};
    shards.forEach((shard, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      writeFileSync(
        join(dir, file),
        layOut(shard.map((name) => f32Tensor(name, weights.get(name)!.shape, weights.get(name)!.data))),
      );
      for (const name of shard) weightMap[name] = file;
    });
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    expectSameTensors(readHfWeights(dir, tiny), weights);

    writeFileSync(
      join(dir, 'model.safetensors.index.json'),
      JSON.stringify({ weight_map: { 'wte.weight': '../elsewhere.safetensors' } }),
    );
    expect(() => readHfWeights(dir, tiny)).toThrow(
      'weight_map "wte.weight" names "../elsewhere.safetensors", not a .safetensors file in the folder',
    );
  });
});

describe('writeHfModel', () => {
  it('writes a folder that reads back as the same config and bits', () => {
    const weights = randomWeights(tiny, 7);
    const dir = join(tempDir(), 'nested', 'model');
    writeHfModel(dir, tiny, weights, { metadata: { seed: '7' } });

    expect(readdirSync(dir).sort()).toEqual(['config.json', 'model.safetensors']);
    expect(readHfConfig(dir)).toEqual(tiny);
    expectSameTensors(readHfWeights(dir, tiny), weights);

    const header = readSafetensorsHeader(join(dir, 'model.safetensors'));
    expect(header.metadata).toEqual({ seed: '7', format: 'pt' });
    expect([...header.entries.keys()]).toEqual([...parameterShapes(tiny).keys()]);

    const json = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(json).toMatchObject({
      architectures: ['GPT2LMHeadModel'],
      model_type: 'gpt2',
      activation_function: 'gelu_new',
      vocab_size: 11,
      n_positions: 5,
      n_ctx: 5,
      n_embd: 4,
      n_layer: 2,
      n_head: 2,
      n_inner: null,
      layer_norm_epsilon: 1e-5,
      resid_pdrop: 0.1,
      embd_pdrop: 0.1,
      attn_pdrop: 0.1,
      scale_attn_weights: true,
      tie_word_embeddings: true,
      bos_token_id: 10,
      eos_token_id: 10,
    });
  });

  it('writes the same bytes for the same weights', () => {
    const [a, b] = [tempDir(), tempDir()];
    writeHfModel(a, tiny, randomWeights(tiny, 3));
    writeHfModel(b, tiny, randomWeights(tiny, 3));
    expect(readFileSync(join(a, 'model.safetensors'))).toEqual(readFileSync(join(b, 'model.safetensors')));
  });

  it('refuses weights that do not match the config before touching the folder', () => {
    const weights = randomWeights(tiny);
    weights.delete('wpe.weight');
    const dir = join(tempDir(), 'out');
    expect(() => writeHfModel(dir, tiny, weights)).toThrow(
      `${join(dir, 'model.safetensors')}: the tensors do not match the GPT-2 config (n_layer 2, n_embd 4, vocab_size 11, n_positions 5): missing 1: wpe.weight`,
    );
    expect(() => readdirSync(dir)).toThrow(/ENOENT/);
  });

  it('keeps the old weights when the write is interrupted at config.json', () => {
    const dir = tempDir();
    writeHfModel(dir, tiny, randomWeights(tiny, 1));
    const before = readFileSync(join(dir, 'model.safetensors'));
    // model.safetensors is renamed first; a folder in config.json's way makes the second rename fail.
    rmSync(join(dir, 'config.json'));
    mkdirSync(join(dir, 'config.json'));
    expect(() => writeHfModel(dir, tiny, randomWeights(tiny, 2))).toThrow(
      `could not replace ${join(dir, 'config.json')}`,
    );
    expect(readFileSync(join(dir, 'model.safetensors'))).toEqual(before);
    expect(readdirSync(dir).sort()).toEqual(['config.json', 'model.safetensors']);
  });
});

describe('training state', () => {
  function state(seed: number, steps: number) {
    const rng = new Rng(seed);
    for (let i = 0; i < steps; i++) rng.nextUint32();
    const optimizer: NamedTensors = new Map();
    for (const [name, { shape, data }] of randomWeights(tiny, seed)) {
      optimizer.set(`adam.m/${name}`, { shape, data });
      optimizer.set(`adam.v/${name}`, { shape, data: data.map((x) => x * x) });
    }
    return {
      step: steps,
      rng: rng.state(),
      optimizer,
      extra: { lr: 3e-4, epoch: 1, order: [3, 1, 2], losses: { nll: [2.5, 2.25] }, note: null },
    };
  }

  it('is null where none was written', () => {
    expect(readTrainingState(tempDir())).toBeNull();
  });

  it('round-trips step, RNG, optimizer bits and extra, so a resumed RNG draws the same numbers', () => {
    const dir = tempDir();
    const saved = state(5, 40);
    writeTrainingState(dir, saved);
    expect(readdirSync(dir).sort()).toEqual(['optimizer.safetensors', 'trainer_state.json']);
    const back = readTrainingState(dir)!;
    expect(back.step).toBe(40);
    // Stored as unsigned words; Rng.state() may hand one over as a signed int32, the same generator either way.
    expect(back.rng).toEqual(saved.rng.map((word) => word >>> 0));
    expect(back.extra).toEqual(saved.extra);
    expectSameTensors(back.optimizer, saved.optimizer);
    const [resumed, uninterrupted] = [new Rng(back.rng), new Rng(5)];
    for (let i = 0; i < 40; i++) uninterrupted.nextUint32();
    expect(Array.from({ length: 5 }, () => resumed.nextUint32())).toEqual(
      Array.from({ length: 5 }, () => uninterrupted.nextUint32()),
    );

    writeTrainingState(dir, { ...saved, rng: [-1, 0, 1, 0xffffffff] });
    expect(readTrainingState(dir)!.rng).toEqual([0xffffffff, 0, 1, 0xffffffff]);
  });

  it('refuses extra values JSON would lose, naming where they are', () => {
    const dir = tempDir();
    expect(() => writeTrainingState(dir, { ...state(1, 1), extra: { losses: [1, NaN] } })).toThrow(
      `${join(dir, 'trainer_state.json')}: extra.losses[1] is NaN, which JSON cannot hold`,
    );
    expect(() => writeTrainingState(dir, { ...state(1, 1), extra: { seen: new Set([1]) } })).toThrow(
      'extra.seen is a Set, which JSON cannot hold',
    );
    expect(() => writeTrainingState(dir, { ...state(1, 1), rng: [1, 2, 3, 2 ** 32] })).toThrow(
      'rng must be four 32-bit integers',
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it('keeps the previous state whole when a write fails part way', () => {
    const dir = tempDir();
    writeTrainingState(dir, state(1, 10));
    const failing = state(2, 20);
    const broken = failing.optimizer.get('adam.v/wte.weight')!.data;
    Object.defineProperty(broken, 'buffer', {
      get() {
        throw new Error('disk full');
      },
    });
    expect(() => writeTrainingState(dir, failing)).toThrow('disk full');
    expect(readTrainingState(dir)!.step).toBe(10);
    expectSameTensors(readTrainingState(dir)!.optimizer, state(1, 10).optimizer);
    expect(readdirSync(dir).sort()).toEqual(['optimizer.safetensors', 'trainer_state.json']);
  });

  it('reports a set torn between its two renames instead of resuming from it', () => {
    const dir = tempDir();
    const older = tempDir();
    writeTrainingState(dir, state(1, 10));
    copyFileSync(join(dir, 'trainer_state.json'), join(older, 'trainer_state.json'));
    writeTrainingState(dir, state(1, 20));
    // What a kill right after optimizer.safetensors was renamed leaves: the new optimizer, the old record.
    copyFileSync(join(older, 'trainer_state.json'), join(dir, 'trainer_state.json'));
    expect(() => readTrainingState(dir)).toThrow(
      /come from different writes: the write was interrupted between its two renames/,
    );
  });

  it('says which file of the pair is missing or which field is wrong', () => {
    const dir = tempDir();
    writeTrainingState(dir, state(1, 3));
    const record = JSON.parse(readFileSync(join(dir, 'trainer_state.json'), 'utf8'));
    writeFileSync(join(dir, 'trainer_state.json'), JSON.stringify({ ...record, step: -1 }));
    expect(() => readTrainingState(dir)).toThrow(
      `${join(dir, 'trainer_state.json')}: field "step" must be a non-negative integer, got -1`,
    );
    writeFileSync(join(dir, 'trainer_state.json'), JSON.stringify({ ...record, version: 2 }));
    expect(() => readTrainingState(dir)).toThrow('field "version" must be 1');
    rmSync(join(dir, 'trainer_state.json'));
    expect(() => readTrainingState(dir)).toThrow(
      `${join(dir, 'trainer_state.json')}: not found, though optimizer.safetensors is there`,
    );
    expect(readSafetensors(join(dir, 'optimizer.safetensors')).metadata).toMatchObject({ step: '3' });
  });
});
