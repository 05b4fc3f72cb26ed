/**
 * Hugging Face GPT-2 config.json, both ways. Reading is strict about anything that would change
 * the model's arithmetic (activation, attention scaling, MLP width, cross-attention), since the
 * studio's GPT computes only GPT-2's; fields that do not (summary_*, task_specific_params,
 * use_cache, torch_dtype, ...) are ignored.
 *
 *   {"model_type": "gpt2", "vocab_size": 50257, "n_positions": 1024, "n_embd": 768, "n_layer": 12,
 *    "n_head": 12, "layer_norm_epsilon": 1e-05, "resid_pdrop": 0.1, ...}
 *   -> { vocabSize: 50257, nPositions: 1024, nEmbd: 768, nLayer: 12, nHead: 12,
 *        layerNormEpsilon: 1e-5, dropout: 0.1, bosTokenId: 50256, eosTokenId: 50256 }
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GptConfig } from './config';
import { CONFIG_LIMITS, overLimit } from './configLimits';

/** The config.json that transformers' GPT2LMHeadModel loads for a GptConfig. */
export interface HfGpt2Config {
  architectures: ['GPT2LMHeadModel'];
  model_type: 'gpt2';
  activation_function: 'gelu_new';
  vocab_size: number;
  n_positions: number;
  n_ctx: number;
  n_embd: number;
  n_layer: number;
  n_head: number;
  n_inner: null;
  layer_norm_epsilon: number;
  resid_pdrop: number;
  embd_pdrop: number;
  attn_pdrop: number;
  initializer_range: number;
  scale_attn_weights: true;
  scale_attn_by_inverse_layer_idx: false;
  reorder_and_upcast_attn: false;
  tie_word_embeddings: true;
  bos_token_id: number;
  eos_token_id: number;
  torch_dtype: 'float32';
  use_cache: true;
}

/** Both names transformers gives the tanh approximation of GELU that GPT-2 was trained with. */
const GELU_TANH = ['gelu_new', 'gelu_pytorch_tanh'];
const GPT2_KEYS = ['vocab_size', 'n_embd', 'n_layer', 'n_head'];

export function hfConfigJson(config: GptConfig): HfGpt2Config {
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    activation_function: 'gelu_new',
    vocab_size: config.vocabSize,
    n_positions: config.nPositions,
    n_ctx: config.nPositions,
    n_embd: config.nEmbd,
    n_layer: config.nLayer,
    n_head: config.nHead,
    n_inner: null,
    layer_norm_epsilon: config.layerNormEpsilon,
    resid_pdrop: config.dropout,
    embd_pdrop: config.dropout,
    attn_pdrop: config.dropout,
    initializer_range: 0.02,
    scale_attn_weights: true,
    scale_attn_by_inverse_layer_idx: false,
    reorder_and_upcast_attn: false,
    tie_word_embeddings: true,
    bos_token_id: config.bosTokenId,
    eos_token_id: config.eosTokenId,
    torch_dtype: 'float32',
    use_cache: true,
  };
}

/** A config.json object to a GptConfig; `file` names the source in errors. */
export function parseHfConfig(json: unknown, file: string): GptConfig {
  const fail = (field: string, problem: string): never => {
    throw new Error(`${file}: field "${field}" ${problem}`);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new Error(`${file}: expected a JSON object`);
  const raw = json as Record<string, unknown>;
  const shown = (field: string) => JSON.stringify(raw[field]);
  const has = (field: string) => raw[field] !== undefined && raw[field] !== null;

  const modelType = raw.model_type;
  if (modelType !== undefined && modelType !== 'gpt2') {
    const missing = GPT2_KEYS.filter((key) => !has(key));
    if (!has('n_positions') && !has('n_ctx')) missing.push('n_positions');
    if (missing.length > 0) {
      fail(
        'model_type',
        `is ${shown('model_type')}, not "gpt2", and the file lacks GPT-2's ${missing.join(', ')}: not a GPT-2 layout`,
      );
    }
  }

  const positiveInt = (field: string, limit: number): number => {
    const value = raw[field];
    if (value === undefined || value === null) return fail(field, 'is missing');
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0)
      return fail(field, `must be a positive integer, got ${shown(field)}`);
    const over = overLimit(value, limit);
    return over === null ? value : fail(field, over);
  };
  const probability = (field: string): number => {
    const value = raw[field];
    if (!has(field)) return 0.1;
    if (typeof value !== 'number' || !(value >= 0 && value < 1))
      return fail(field, `must be a number in [0, 1), got ${shown(field)}`);
    return value;
  };
  const tokenId = (field: string, vocabSize: number, fallback: number): number => {
    const value = raw[field];
    if (!has(field)) return fallback;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value >= vocabSize) {
      return fail(field, `must be a token id in [0, ${vocabSize}), got ${shown(field)}`);
    }
    return value;
  };

  const activation = raw.activation_function ?? 'gelu_new';
  if (typeof activation !== 'string' || !GELU_TANH.includes(activation)) {
    fail(
      'activation_function',
      `is ${shown('activation_function')}; only GPT-2's tanh GELU is supported (${GELU_TANH.join(' or ')})`,
    );
  }
  if (raw.scale_attn_weights === false)
    fail('scale_attn_weights', 'is false; GPT-2 scales attention by 1/sqrt(head size)');
  if (raw.scale_attn_by_inverse_layer_idx === true)
    fail('scale_attn_by_inverse_layer_idx', 'is true; only plain GPT-2 attention is supported');
  if (raw.add_cross_attention === true)
    fail('add_cross_attention', 'is true; cross-attention layers are not supported');

  const vocabSize = positiveInt('vocab_size', CONFIG_LIMITS.vocab);
  // n_ctx is the older name; n_positions, the size of the position table, wins when both are there.
  const nPositions = positiveInt(
    !has('n_positions') && has('n_ctx') ? 'n_ctx' : 'n_positions',
    CONFIG_LIMITS.positions,
  );
  const nEmbd = positiveInt('n_embd', CONFIG_LIMITS.width);
  const nLayer = positiveInt('n_layer', CONFIG_LIMITS.layers);
  const nHead = positiveInt('n_head', CONFIG_LIMITS.heads);
  if (nEmbd % nHead !== 0) fail('n_head', `(${nHead}) must divide n_embd (${nEmbd})`);
  if (has('n_inner') && raw.n_inner !== 4 * nEmbd)
    fail('n_inner', `is ${shown('n_inner')}; only null or 4 * n_embd (${4 * nEmbd}) is supported`);

  let layerNormEpsilon = 1e-5;
  if (has('layer_norm_epsilon')) {
    const value = raw.layer_norm_epsilon;
    if (typeof value !== 'number' || !(value > 0 && value < 1))
      fail('layer_norm_epsilon', `must be a small positive number, got ${shown('layer_norm_epsilon')}`);
    layerNormEpsilon = value as number;
  }
  const dropout = probability('resid_pdrop');
  probability('embd_pdrop');
  probability('attn_pdrop');
  // GPT-2's <|endoftext|> is 50256; another vocabulary's last id is the usual place for its end token.
  const defaultId = vocabSize === 50257 ? 50256 : vocabSize - 1;
  return {
    vocabSize,
    nPositions,
    nEmbd,
    nLayer,
    nHead,
    layerNormEpsilon,
    dropout,
    bosTokenId: tokenId('bos_token_id', vocabSize, defaultId),
    eosTokenId: tokenId('eos_token_id', vocabSize, defaultId),
  };
}

/** The GptConfig of a Hugging Face GPT-2 folder, from its config.json. */
export function readHfConfig(dir: string): GptConfig {
  const file = join(dir, 'config.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(
      code === 'ENOENT'
        ? `${file}: not found (a Hugging Face model folder has a config.json)`
        : `${file}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  return parseHfConfig(json, file);
}
