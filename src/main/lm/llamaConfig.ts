/**
 * A Llama-family model's shape (LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM), read
 * strictly from a Hugging Face config.json (and generation_config.json's end-of-sequence ids) and
 * written back. Fields that change the arithmetic are checked; anything this engine does not
 * compute (another activation, partial rotary, yarn or dynamic rope, a sliding window shorter than
 * the context) is refused with the file and the key. Fields that do not (use_cache, torch_dtype,
 * initializer_range, ...) are ignored.
 *
 *   {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 49152,
 *    "hidden_size": 576, "intermediate_size": 1536, "num_hidden_layers": 30, "num_attention_heads": 9,
 *    "num_key_value_heads": 3, "max_position_embeddings": 8192, "rms_norm_eps": 1e-05,
 *    "rope_theta": 100000, "tie_word_embeddings": true, "eos_token_id": 0, ...}   (SmolLM2-135M)
 *   -> { architecture: 'LlamaForCausalLM', vocabSize: 49152, nEmbd: 576, intermediateSize: 1536,
 *        nLayer: 30, nHead: 9, nKvHead: 3, headDim: 64, nPositions: 8192, ... }
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_LIMITS, overLimit } from './configLimits';

export const LLAMA_ARCHITECTURES = ['LlamaForCausalLM', 'Qwen2ForCausalLM', 'MistralForCausalLM'] as const;
export type LlamaArchitecture = (typeof LLAMA_ARCHITECTURES)[number];

const MODEL_TYPES: Record<LlamaArchitecture, string> = {
  LlamaForCausalLM: 'llama',
  Qwen2ForCausalLM: 'qwen2',
  MistralForCausalLM: 'mistral',
};

/** rope_scaling: none (null), linear (positions / factor) or Llama 3's frequency-dependent scaling. */
export type RopeScaling =
  | { type: 'linear'; factor: number }
  | {
      type: 'llama3';
      factor: number;
      lowFreqFactor: number;
      highFreqFactor: number;
      originalMaxPositionEmbeddings: number;
    };

export interface LlamaConfig {
  architecture: LlamaArchitecture;
  vocabSize: number;
  /** hidden_size. */
  nEmbd: number;
  intermediateSize: number;
  /** num_hidden_layers. */
  nLayer: number;
  /** num_attention_heads (query heads). */
  nHead: number;
  /** num_key_value_heads: nHead / nKvHead query heads share each key/value head. */
  nKvHead: number;
  /** head_dim (default hidden_size / num_attention_heads). */
  headDim: number;
  /** The context this model runs at: max_position_embeddings unless chosen smaller. */
  nPositions: number;
  /** max_position_embeddings as the config says (written back as it was). */
  maxPositionEmbeddings: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: RopeScaling | null;
  tieWordEmbeddings: boolean;
  /** Biases on q_proj, k_proj, v_proj (Llama: attention_bias; Qwen2: always). */
  qkvBias: boolean;
  /** A bias on o_proj (Llama: attention_bias; Qwen2 and Mistral: never). */
  oBias: boolean;
  /** Biases on gate_proj, up_proj, down_proj (Llama: mlp_bias). */
  mlpBias: boolean;
  /** Mistral's (or Qwen2's, when use_sliding_window) window; null = full attention. Never below nPositions. */
  slidingWindow: number | null;
  /** Dropout on attention probabilities while training (attention_dropout, usually 0). */
  attentionDropout: number;
  bosTokenId: number | null;
  /** The first of eosTokenIds. */
  eosTokenId: number;
  /** Every end-of-sequence id (generation_config.json's list where there is one). */
  eosTokenIds: number[];
  padTokenId: number | null;
}

export interface ParseOptions {
  /** Run at this context instead of max_position_embeddings (it must not exceed it). */
  context?: number;
  /** generation_config.json's contents, whose eos_token_id (a number or list) wins over config.json's. */
  generationConfig?: unknown;
  /** Names generation_config.json in errors. */
  generationFile?: string;
}

type Raw = Record<string, unknown>;

/** The sized fields' limits (configLimits.ts), checked as each is read. */
const LIMIT_OF: Record<string, number> = {
  vocab_size: CONFIG_LIMITS.vocab,
  hidden_size: CONFIG_LIMITS.width,
  intermediate_size: CONFIG_LIMITS.width,
  num_hidden_layers: CONFIG_LIMITS.layers,
  num_attention_heads: CONFIG_LIMITS.heads,
  num_key_value_heads: CONFIG_LIMITS.heads,
  head_dim: CONFIG_LIMITS.width,
  max_position_embeddings: CONFIG_LIMITS.positions,
};

function isObject(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A config.json object to a LlamaConfig; `file` names the source in errors. */
export function parseLlamaConfig(json: unknown, file: string, options: ParseOptions = {}): LlamaConfig {
  if (!isObject(json)) throw new Error(`${file}: expected a JSON object`);
  const raw = json;
  const fail = (field: string, problem: string): never => {
    throw new Error(`${file}: field "${field}" ${problem}`);
  };
  const shown = (value: unknown) => JSON.stringify(value);
  const has = (field: string) => raw[field] !== undefined && raw[field] !== null;
  const positiveInt = (field: string, fallback?: number): number => {
    const value = raw[field];
    if (value === undefined || value === null) return fallback ?? fail(field, 'is missing');
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0)
      return fail(field, `must be a positive integer, got ${shown(value)}`);
    const over = overLimit(value, LIMIT_OF[field] ?? Infinity);
    return over === null ? value : fail(field, over);
  };
  const positiveNumber = (where: string, value: unknown): number =>
    typeof value === 'number' && Number.isFinite(value) && value > 0
      ? value
      : fail(where, `must be a positive number, got ${shown(value)}`);
  const flag = (field: string, fallback: boolean): boolean => {
    const value = raw[field];
    if (value === undefined || value === null) return fallback;
    return typeof value === 'boolean' ? value : fail(field, `must be true or false, got ${shown(value)}`);
  };

  // Which architecture: architectures[0], consistent with model_type.
  const architectures = raw.architectures;
  if (!Array.isArray(architectures) || architectures.length !== 1 || typeof architectures[0] !== 'string') {
    fail('architectures', `must be a list of one architecture name, got ${shown(architectures)}`);
  }
  const named = (architectures as string[])[0]!;
  if (!(LLAMA_ARCHITECTURES as readonly string[]).includes(named)) {
    fail('architectures', `names ${shown(named)}; the Llama family here is ${LLAMA_ARCHITECTURES.join(', ')}`);
  }
  const architecture = named as LlamaArchitecture;
  const modelType = MODEL_TYPES[architecture];
  if (raw.model_type !== modelType)
    fail('model_type', `is ${shown(raw.model_type)}; ${architecture} has model_type "${modelType}"`);

  const activation = raw.hidden_act ?? 'silu';
  if (activation !== 'silu') fail('hidden_act', `is ${shown(activation)}; only "silu" (SwiGLU) is computed`);

  const vocabSize = positiveInt('vocab_size');
  const nEmbd = positiveInt('hidden_size');
  const intermediateSize = positiveInt('intermediate_size');
  const nLayer = positiveInt('num_hidden_layers');
  const nHead = positiveInt('num_attention_heads');
  // transformers: num_key_value_heads None means plain multi-head attention.
  const nKvHead = positiveInt('num_key_value_heads', nHead);
  if (nHead % nKvHead !== 0) fail('num_key_value_heads', `(${nKvHead}) must divide num_attention_heads (${nHead})`);
  if (!has('head_dim') && nEmbd % nHead !== 0)
    fail('num_attention_heads', `(${nHead}) must divide hidden_size (${nEmbd}) when head_dim is not given`);
  const headDim = positiveInt('head_dim', nEmbd / nHead);
  if (headDim % 2 !== 0) fail('head_dim', `must be even for rotary embeddings, got ${headDim}`);
  const maxPositionEmbeddings = positiveInt('max_position_embeddings');
  if (has('partial_rotary_factor') && raw.partial_rotary_factor !== 1)
    fail('partial_rotary_factor', `is ${shown(raw.partial_rotary_factor)}; only 1 (full rotary) is computed`);

  const rmsNormEps = positiveNumber('rms_norm_eps', raw.rms_norm_eps ?? fail('rms_norm_eps', 'is missing'));

  // rope: transformers 4.x writes rope_theta and rope_scaling; 5.x writes rope_parameters {rope_type, rope_theta, ...}.
  let ropeField = 'rope_scaling';
  let ropeTheta = 10000;
  let scaling: unknown = raw.rope_scaling;
  if (has('rope_parameters')) {
    ropeField = 'rope_parameters';
    const params = raw.rope_parameters;
    if (!isObject(params)) fail('rope_parameters', `must be an object, got ${shown(params)}`);
    scaling = params;
    if ((params as Raw).rope_theta !== undefined)
      ropeTheta = positiveNumber('rope_parameters.rope_theta', (params as Raw).rope_theta);
  }
  if (has('rope_theta')) ropeTheta = positiveNumber('rope_theta', raw.rope_theta);
  let ropeScaling: RopeScaling | null = null;
  if (scaling !== undefined && scaling !== null) {
    if (!isObject(scaling)) return fail(ropeField, `must be an object or null, got ${shown(scaling)}`);
    const type = scaling.rope_type ?? scaling.type;
    const key = (name: string) => `${ropeField}.${name}`;
    if (type === 'linear') {
      ropeScaling = { type: 'linear', factor: positiveNumber(key('factor'), scaling.factor) };
    } else if (type === 'llama3') {
      ropeScaling = {
        type: 'llama3',
        factor: positiveNumber(key('factor'), scaling.factor),
        lowFreqFactor: positiveNumber(key('low_freq_factor'), scaling.low_freq_factor),
        highFreqFactor: positiveNumber(key('high_freq_factor'), scaling.high_freq_factor),
        originalMaxPositionEmbeddings: positiveNumber(
          key('original_max_position_embeddings'),
          scaling.original_max_position_embeddings,
        ),
      };
      if (ropeScaling.highFreqFactor <= ropeScaling.lowFreqFactor)
        fail(
          key('high_freq_factor'),
          `(${ropeScaling.highFreqFactor}) must exceed low_freq_factor (${ropeScaling.lowFreqFactor})`,
        );
    } else if (type !== 'default') {
      fail(`${ropeField}.rope_type`, `is ${shown(type)}; only "default", "linear" and "llama3" are computed`);
    }
  }

  // Biases, per architecture as transformers builds the layers.
  let qkvBias = false;
  let oBias = false;
  let mlpBias = false;
  if (architecture === 'LlamaForCausalLM') {
    qkvBias = oBias = flag('attention_bias', false);
    mlpBias = flag('mlp_bias', false);
  } else if (architecture === 'Qwen2ForCausalLM') {
    qkvBias = true;
  } else {
    for (const field of ['attention_bias', 'mlp_bias'])
      if (raw[field] === true) fail(field, `is true, but ${architecture} has no such biases`);
  }

  // The window: Mistral's sliding_window, Qwen2's only when use_sliding_window.
  let slidingWindow: number | null = null;
  if (
    architecture === 'MistralForCausalLM' ||
    (architecture === 'Qwen2ForCausalLM' && flag('use_sliding_window', false))
  ) {
    slidingWindow = has('sliding_window') ? positiveInt('sliding_window') : null;
  }

  const context = options.context ?? maxPositionEmbeddings;
  if (!(Number.isSafeInteger(context) && context > 0 && context <= maxPositionEmbeddings)) {
    fail('max_position_embeddings', `is ${maxPositionEmbeddings}; a context of ${context} cannot run`);
  }
  if (slidingWindow !== null && slidingWindow < context) {
    fail(
      'sliding_window',
      `is ${slidingWindow}, shorter than the context of ${context}: sliding-window attention is not computed here; run at a context of at most ${slidingWindow}`,
    );
  }

  let attentionDropout = 0;
  if (has('attention_dropout')) {
    const value = raw.attention_dropout;
    if (typeof value !== 'number' || !(value >= 0 && value < 1))
      fail('attention_dropout', `must be a number in [0, 1), got ${shown(value)}`);
    attentionDropout = value as number;
  }

  const tokenId = (where: string, value: unknown): number =>
    typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value < vocabSize
      ? value
      : fail(where, `must be a token id in [0, ${vocabSize}), got ${shown(value)}`);
  const tokenIds = (where: string, value: unknown): number[] => {
    const list = Array.isArray(value) ? value : [value];
    if (list.length === 0) fail(where, 'is an empty list');
    return list.map((id) => tokenId(where, id));
  };
  let eosTokenIds = has('eos_token_id')
    ? tokenIds('eos_token_id', raw.eos_token_id)
    : fail('eos_token_id', 'is missing (generation needs an end-of-sequence id)');
  const generation = options.generationConfig;
  if (generation !== undefined) {
    const generationFile = options.generationFile ?? 'generation_config.json';
    if (!isObject(generation)) throw new Error(`${generationFile}: expected a JSON object`);
    if (generation.eos_token_id !== undefined && generation.eos_token_id !== null) {
      try {
        eosTokenIds = tokenIds('eos_token_id', generation.eos_token_id);
      } catch (error) {
        throw new Error((error as Error).message.replace(file, generationFile), { cause: error });
      }
    }
  }
  const tieWordEmbeddings = flag('tie_word_embeddings', false);

  return {
    architecture,
    vocabSize,
    nEmbd,
    intermediateSize,
    nLayer,
    nHead,
    nKvHead,
    headDim,
    nPositions: context,
    maxPositionEmbeddings,
    rmsNormEps,
    ropeTheta,
    ropeScaling,
    tieWordEmbeddings,
    qkvBias,
    oBias,
    mlpBias,
    slidingWindow,
    attentionDropout,
    bosTokenId: has('bos_token_id') ? tokenId('bos_token_id', raw.bos_token_id) : null,
    eosTokenId: eosTokenIds[0]!,
    eosTokenIds,
    padTokenId: has('pad_token_id') ? tokenId('pad_token_id', raw.pad_token_id) : null,
  };
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(
      code === 'ENOENT'
        ? `${file}: not found (a Hugging Face model folder has a config.json)`
        : `${file}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

/** The architecture a config.json names (architectures[0]), or null; for choosing GPT-2 or the Llama reader. */
export function configArchitecture(json: unknown): string | null {
  const list = isObject(json) ? json.architectures : undefined;
  return Array.isArray(list) && typeof list[0] === 'string' ? list[0] : null;
}

/** The LlamaConfig of a Hugging Face folder: config.json, and generation_config.json when there is one. */
export function readLlamaConfig(dir: string, options: { context?: number } = {}): LlamaConfig {
  const file = join(dir, 'config.json');
  const generationFile = join(dir, 'generation_config.json');
  const generationConfig = existsSync(generationFile) ? readJson(generationFile) : undefined;
  return parseLlamaConfig(readJson(file), file, {
    ...options,
    ...(generationConfig !== undefined ? { generationConfig, generationFile } : {}),
  });
}

function ropeScalingJson(scaling: RopeScaling | null): Record<string, unknown> | null {
  if (!scaling) return null;
  if (scaling.type === 'linear') return { rope_type: 'linear', factor: scaling.factor };
  return {
    rope_type: 'llama3',
    factor: scaling.factor,
    low_freq_factor: scaling.lowFreqFactor,
    high_freq_factor: scaling.highFreqFactor,
    original_max_position_embeddings: scaling.originalMaxPositionEmbeddings,
  };
}

/**
 * The config.json transformers loads for a LlamaConfig (4.x field names: rope_theta and
 * rope_scaling, which 5.x still reads). Weights are float32 as written by this studio.
 */
export function llamaConfigJson(c: LlamaConfig): Record<string, unknown> {
  const json: Record<string, unknown> = {
    architectures: [c.architecture],
    model_type: MODEL_TYPES[c.architecture],
    vocab_size: c.vocabSize,
    hidden_size: c.nEmbd,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.nLayer,
    num_attention_heads: c.nHead,
    num_key_value_heads: c.nKvHead,
    head_dim: c.headDim,
    hidden_act: 'silu',
    max_position_embeddings: c.maxPositionEmbeddings,
    rms_norm_eps: c.rmsNormEps,
    rope_theta: c.ropeTheta,
    rope_scaling: ropeScalingJson(c.ropeScaling),
    tie_word_embeddings: c.tieWordEmbeddings,
    attention_dropout: c.attentionDropout,
    bos_token_id: c.bosTokenId,
    eos_token_id: c.eosTokenIds.length === 1 ? c.eosTokenIds[0] : c.eosTokenIds,
    initializer_range: 0.02,
    torch_dtype: 'float32',
    use_cache: true,
  };
  if (c.padTokenId !== null) json.pad_token_id = c.padTokenId;
  if (c.architecture === 'LlamaForCausalLM') {
    json.attention_bias = c.qkvBias;
    json.mlp_bias = c.mlpBias;
    json.pretraining_tp = 1;
  } else if (c.architecture === 'Qwen2ForCausalLM') {
    json.use_sliding_window = c.slidingWindow !== null;
    json.sliding_window = c.slidingWindow;
    json.max_window_layers = c.nLayer;
  } else {
    json.sliding_window = c.slidingWindow;
  }
  return json;
}

/** generation_config.json: the end-of-sequence ids (a list when there are several) and the bos id. */
export function generationConfigJson(c: LlamaConfig): Record<string, unknown> {
  return {
    bos_token_id: c.bosTokenId,
    eos_token_id: c.eosTokenIds.length === 1 ? c.eosTokenIds[0] : c.eosTokenIds,
    ...(c.padTokenId !== null ? { pad_token_id: c.padTokenId } : {}),
  };
}

/**
 * The parameter names and shapes of a config, exactly as in the checkpoint: nn.Linear weights
 * [out, in], biases only where the config has them, lm_head.weight only when untied.
 */
export function llamaParameterShapes(c: LlamaConfig): Map<string, number[]> {
  const d = c.nEmbd;
  const q = c.nHead * c.headDim;
  const kv = c.nKvHead * c.headDim;
  const m = c.intermediateSize;
  const shapes = new Map<string, number[]>([['model.embed_tokens.weight', [c.vocabSize, d]]]);
  const linear = (name: string, out: number, inp: number, bias: boolean) => {
    shapes.set(`${name}.weight`, [out, inp]);
    if (bias) shapes.set(`${name}.bias`, [out]);
  };
  for (let i = 0; i < c.nLayer; i++) {
    const p = `model.layers.${i}`;
    shapes.set(`${p}.input_layernorm.weight`, [d]);
    linear(`${p}.self_attn.q_proj`, q, d, c.qkvBias);
    linear(`${p}.self_attn.k_proj`, kv, d, c.qkvBias);
    linear(`${p}.self_attn.v_proj`, kv, d, c.qkvBias);
    linear(`${p}.self_attn.o_proj`, d, q, c.oBias);
    shapes.set(`${p}.post_attention_layernorm.weight`, [d]);
    linear(`${p}.mlp.gate_proj`, m, d, c.mlpBias);
    linear(`${p}.mlp.up_proj`, m, d, c.mlpBias);
    linear(`${p}.mlp.down_proj`, d, m, c.mlpBias);
  }
  shapes.set('model.norm.weight', [d]);
  if (!c.tieWordEmbeddings) shapes.set('lm_head.weight', [c.vocabSize, d]);
  return shapes;
}

export function llamaParameterCount(c: LlamaConfig): number {
  let n = 0;
  for (const shape of llamaParameterShapes(c).values()) n += shape.reduce((a, b) => a * b, 1);
  return n;
}
