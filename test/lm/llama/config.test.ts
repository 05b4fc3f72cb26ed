/**
 * config.json of the Llama family, read strictly: the published configs of SmolLM2-135M,
 * Qwen2.5-0.5B, Llama 3.2 1B (instruct), TinyLlama 1.1B and Mistral 7B (as on the Hub, abridged of
 * nothing that matters), transformers 5's rope_parameters, every refusal naming the file and the
 * key, and the written form reading back to the same config.
 */
import { describe, expect, it } from 'vitest';
import { llamaConfigJson, llamaParameterCount, parseLlamaConfig } from '../../../src/main/lm/llamaConfig';
import { CONFIGS } from './helpers';

const FILE = '/models/x/config.json';

const SMOLLM2_135M = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 0,
  eos_token_id: 0,
  hidden_act: 'silu',
  hidden_size: 576,
  initializer_range: 0.041666666666666664,
  intermediate_size: 1536,
  is_llama_config: true,
  max_position_embeddings: 8192,
  mlp_bias: false,
  model_type: 'llama',
  num_attention_heads: 9,
  num_hidden_layers: 30,
  num_key_value_heads: 3,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_interleaved: false,
  rope_scaling: null,
  rope_theta: 100000,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.42.3',
  use_cache: true,
  vocab_size: 49152,
};

const QWEN25_05B = {
  architectures: ['Qwen2ForCausalLM'],
  attention_dropout: 0.0,
  bos_token_id: 151643,
  eos_token_id: 151645,
  hidden_act: 'silu',
  hidden_size: 896,
  initializer_range: 0.02,
  intermediate_size: 4864,
  max_position_embeddings: 32768,
  max_window_layers: 21,
  model_type: 'qwen2',
  num_attention_heads: 14,
  num_hidden_layers: 24,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  sliding_window: 32768,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.43.1',
  use_cache: true,
  use_sliding_window: false,
  vocab_size: 151936,
};

const LLAMA32_1B_INSTRUCT = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 128000,
  eos_token_id: [128001, 128008, 128009],
  head_dim: 64,
  hidden_act: 'silu',
  hidden_size: 2048,
  initializer_range: 0.02,
  intermediate_size: 8192,
  max_position_embeddings: 131072,
  mlp_bias: false,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 16,
  num_key_value_heads: 8,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: {
    factor: 32.0,
    high_freq_factor: 4.0,
    low_freq_factor: 1.0,
    original_max_position_embeddings: 8192,
    rope_type: 'llama3',
  },
  rope_theta: 500000.0,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.45.0.dev0',
  use_cache: true,
  vocab_size: 128256,
};

const TINYLLAMA = {
  architectures: ['LlamaForCausalLM'],
  bos_token_id: 1,
  eos_token_id: 2,
  hidden_act: 'silu',
  hidden_size: 2048,
  initializer_range: 0.02,
  intermediate_size: 5632,
  max_position_embeddings: 2048,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 22,
  num_key_value_heads: 4,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: null,
  rope_theta: 10000.0,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  transformers_version: '4.35.0',
  use_cache: true,
  vocab_size: 32000,
};

const MISTRAL_7B_V01 = {
  architectures: ['MistralForCausalLM'],
  bos_token_id: 1,
  eos_token_id: 2,
  hidden_act: 'silu',
  hidden_size: 4096,
  initializer_range: 0.02,
  intermediate_size: 14336,
  max_position_embeddings: 32768,
  model_type: 'mistral',
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-5,
  rope_theta: 10000.0,
  sliding_window: 4096,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  transformers_version: '4.34.0.dev0',
  use_cache: true,
  vocab_size: 32000,
};

describe('published configs', () => {
  it('SmolLM2-135M: tied, 9 heads on 3 KV heads, 134.5M parameters', () => {
    const c = parseLlamaConfig(SMOLLM2_135M, FILE);
    expect(c).toMatchObject({
      architecture: 'LlamaForCausalLM',
      nEmbd: 576,
      nHead: 9,
      nKvHead: 3,
      headDim: 64,
      nPositions: 8192,
      ropeTheta: 100000,
      ropeScaling: null,
      tieWordEmbeddings: true,
      qkvBias: false,
      eosTokenIds: [0],
    });
    expect(llamaParameterCount(c)).toBe(134515008);
  });

  it('Qwen2.5-0.5B: q/k/v biases, no o bias, tied, no sliding window (use_sliding_window false), 494M parameters', () => {
    const c = parseLlamaConfig(QWEN25_05B, FILE);
    expect(c).toMatchObject({
      architecture: 'Qwen2ForCausalLM',
      qkvBias: true,
      oBias: false,
      mlpBias: false,
      slidingWindow: null,
      tieWordEmbeddings: true,
      rmsNormEps: 1e-6,
    });
    expect(llamaParameterCount(c)).toBe(494032768);
  });

  it('Llama 3.2 1B Instruct: head_dim given, llama3 rope scaling, three eos ids, 1.236B parameters', () => {
    const c = parseLlamaConfig(LLAMA32_1B_INSTRUCT, FILE);
    expect(c.ropeScaling).toEqual({
      type: 'llama3',
      factor: 32,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositionEmbeddings: 8192,
    });
    expect(c.eosTokenIds).toEqual([128001, 128008, 128009]);
    expect(c.eosTokenId).toBe(128001);
    expect(c.headDim).toBe(64);
    expect(llamaParameterCount(c)).toBe(1235814400);
  });

  it('TinyLlama 1.1B: untied, 32 heads on 4 KV heads', () => {
    const c = parseLlamaConfig(TINYLLAMA, FILE);
    expect(c).toMatchObject({ nKvHead: 4, tieWordEmbeddings: false, nPositions: 2048 });
    expect(llamaParameterCount(c)).toBe(1100048384);
  });

  it('Mistral 7B v0.1: its 4096 window is shorter than the 32768 context, so refused there and accepted at 4096', () => {
    expect(() => parseLlamaConfig(MISTRAL_7B_V01, FILE)).toThrow(
      `${FILE}: field "sliding_window" is 4096, shorter than the context of 32768: sliding-window attention is not computed here; run at a context of at most 4096`,
    );
    const c = parseLlamaConfig(MISTRAL_7B_V01, FILE, { context: 4096 });
    expect(c).toMatchObject({
      architecture: 'MistralForCausalLM',
      nPositions: 4096,
      maxPositionEmbeddings: 32768,
      slidingWindow: 4096,
    });
    // v0.3 has no window at all.
    expect(parseLlamaConfig({ ...MISTRAL_7B_V01, sliding_window: null }, FILE).slidingWindow).toBeNull();
  });

  it("transformers 5's rope_parameters", () => {
    const { rope_scaling: _, rope_theta: __, ...rest } = LLAMA32_1B_INSTRUCT;
    const c = parseLlamaConfig(
      { ...rest, rope_parameters: { ...LLAMA32_1B_INSTRUCT.rope_scaling, rope_theta: 500000.0 } },
      FILE,
    );
    expect(c.ropeTheta).toBe(500000);
    expect(c.ropeScaling?.type).toBe('llama3');
    const plain = parseLlamaConfig(
      {
        ...SMOLLM2_135M,
        rope_scaling: undefined,
        rope_theta: undefined,
        rope_parameters: { rope_type: 'default', rope_theta: 100000 },
      },
      FILE,
    );
    expect(plain).toEqual(parseLlamaConfig(SMOLLM2_135M, FILE));
  });
});

describe('refusals name the file and the key', () => {
  const refuses = (json: unknown, pattern: RegExp) => expect(() => parseLlamaConfig(json, FILE)).toThrow(pattern);
  const at = (key: string) => new RegExp(`^${FILE.replace(/[./]/g, '\\$&')}: field "${key.replace(/\./g, '\\.')}"`);

  it('an unknown or mismatched architecture', () => {
    refuses({ ...SMOLLM2_135M, architectures: ['GemmaForCausalLM'] }, at('architectures'));
    refuses({ ...SMOLLM2_135M, architectures: undefined }, at('architectures'));
    refuses({ ...SMOLLM2_135M, model_type: 'qwen2' }, at('model_type'));
  });

  it('a missing key', () => {
    for (const key of [
      'vocab_size',
      'hidden_size',
      'intermediate_size',
      'num_hidden_layers',
      'num_attention_heads',
      'max_position_embeddings',
      'rms_norm_eps',
      'eos_token_id',
    ]) {
      refuses({ ...SMOLLM2_135M, [key]: undefined }, new RegExp(`${at(key).source} is missing`));
    }
  });

  it('inconsistent sizes and values this engine does not compute', () => {
    refuses({ ...SMOLLM2_135M, num_key_value_heads: 4 }, at('num_key_value_heads'));
    refuses({ ...SMOLLM2_135M, num_attention_heads: 15 }, at('num_attention_heads')); // 576 / 15 is no head size
    refuses({ ...SMOLLM2_135M, head_dim: 63 }, at('head_dim'));
    refuses({ ...SMOLLM2_135M, hidden_act: 'gelu' }, at('hidden_act'));
    refuses({ ...SMOLLM2_135M, rope_scaling: { rope_type: 'yarn', factor: 4 } }, at('rope_scaling.rope_type'));
    refuses({ ...SMOLLM2_135M, rope_scaling: { rope_type: 'llama3', factor: 8 } }, at('rope_scaling.low_freq_factor'));
    refuses({ ...SMOLLM2_135M, partial_rotary_factor: 0.5 }, at('partial_rotary_factor'));
    refuses({ ...SMOLLM2_135M, eos_token_id: 49152 }, at('eos_token_id'));
    refuses({ ...SMOLLM2_135M, hidden_size: 576.5 }, at('hidden_size'));
    refuses({ ...QWEN25_05B, use_sliding_window: true, sliding_window: 4096 }, at('sliding_window'));
    refuses({ ...MISTRAL_7B_V01, attention_bias: true, sliding_window: null }, at('attention_bias'));
    expect(() => parseLlamaConfig([], FILE)).toThrow(`${FILE}: expected a JSON object`);
  });
});

describe('written back', () => {
  for (const [name, config] of Object.entries(CONFIGS)) {
    it(`${name}: llamaConfigJson reads back to the same config`, () => {
      expect(parseLlamaConfig(JSON.parse(JSON.stringify(llamaConfigJson(config))), FILE)).toEqual(config);
    });
  }
  it('a published config survives the round trip', () => {
    for (const json of [SMOLLM2_135M, QWEN25_05B, LLAMA32_1B_INSTRUCT, TINYLLAMA]) {
      const c = parseLlamaConfig(json, FILE);
      expect(parseLlamaConfig(llamaConfigJson(c), FILE)).toEqual(c);
    }
  });
});
