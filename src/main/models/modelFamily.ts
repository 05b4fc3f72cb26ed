/**
 * The two model families a studio model folder may hold, behind one set of calls: GPT-2
 * (GPT2LMHeadModel: lm/hfConfig.ts, lm/model.ts) and the Llama family (LlamaForCausalLM,
 * Qwen2ForCausalLM, MistralForCausalLM: lm/llamaConfig.ts, lm/llama.ts). config.json's
 * architectures[0] picks the family; everything downstream takes the CausalLm interface.
 *
 *   const { config, weights } = readModelFolder(dir);   // GptConfig or LlamaConfig, checked against each other
 *   const model = modelFromWeights(config, weights);    // Gpt or Llama, as a CausalLm
 *   writeModelFolder(out, config, model.weights());     // config.json (+ generation_config.json) and model.safetensors
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError, type ModelShape } from '../../shared/contract';
import type { CausalLm, ModelFamily } from '../lm/causalLm';
import { parameterCount, type GptConfig, type NamedTensors } from '../lm/config';
import { parseHfConfig } from '../lm/hfConfig';
import { readHfWeights, readLlamaWeights, writeHfModel, writeLlamaModel } from '../lm/checkpoint';
import {
  configArchitecture,
  LLAMA_ARCHITECTURES,
  llamaParameterCount,
  readLlamaConfig,
  type LlamaConfig,
} from '../lm/llamaConfig';
import { Gpt } from '../lm/model';
import { Llama } from '../lm/llama';
import { readSafetensorsHeader } from '../lm/safetensors';
import { assertWebgpuFits, largestTensor } from '../lm/webgpu';
import type { Rng } from '../core/rng';

/** A studio model's config: GPT-2's or a Llama-family one (which names its architecture). */
export type ModelConfig = GptConfig | LlamaConfig;

export const GPT2_ARCHITECTURE = 'GPT2LMHeadModel';
/** Every architecture a folder may name: GPT-2 and the Llama family. */
export const ARCHITECTURES: readonly string[] = [GPT2_ARCHITECTURE, ...LLAMA_ARCHITECTURES];

export function isLlamaConfig(config: ModelConfig): config is LlamaConfig {
  return 'architecture' in config;
}

export function familyOf(config: ModelConfig): ModelFamily {
  return isLlamaConfig(config) ? 'llama' : 'gpt2';
}

export function modelParameterCount(config: ModelConfig): number {
  return isLlamaConfig(config) ? llamaParameterCount(config) : parameterCount(config);
}

/** The contract's one vocabulary for a model's shape. */
export function shapeOf(config: ModelConfig): ModelShape {
  const llama = isLlamaConfig(config);
  return {
    family: familyOf(config),
    layers: config.nLayer,
    dim: config.nEmbd,
    heads: config.nHead,
    kvHeads: llama ? config.nKvHead : config.nHead,
    ffn: llama ? config.intermediateSize : 4 * config.nEmbd,
    context: config.nPositions,
    vocab: config.vocabSize,
  };
}

function readConfigJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new AppError(
      code === 'ENOENT' ? 'not_found' : 'invalid_input',
      code === 'ENOENT'
        ? `${file}: not found (a Hugging Face model folder has a config.json)`
        : `${file}: ${(error as Error).message}`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new AppError('invalid_input', `${file}: not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * The config of a Hugging Face folder, read by the family its config.json's "architectures" names.
 * A config without "architectures" is read as GPT-2 when its model_type is "gpt2" or absent (older
 * GPT-2 exports), as transformers' AutoModel would by model_type; anything else is refused naming
 * the file and the key.
 */
export function readModelConfig(dir: string): ModelConfig {
  const file = join(dir, 'config.json');
  const json = readConfigJson(file);
  const architecture = configArchitecture(json);
  const modelType =
    typeof json === 'object' && json !== null ? (json as Record<string, unknown>).model_type : undefined;
  try {
    if (architecture === null) {
      if (modelType === undefined || modelType === 'gpt2') return parseHfConfig(json, file);
      throw new Error(
        `${file}: field "architectures" is missing, and model_type ${JSON.stringify(modelType)} is not GPT-2's; the studio runs ${ARCHITECTURES.join(', ')}`,
      );
    }
    if (architecture === GPT2_ARCHITECTURE) return parseHfConfig(json, file);
    if ((LLAMA_ARCHITECTURES as readonly string[]).includes(architecture)) return readLlamaConfig(dir);
    throw new Error(
      `${file}: field "architectures" names ${JSON.stringify(architecture)}, which the studio does not run (it runs ${ARCHITECTURES.join(', ')})`,
    );
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new AppError('invalid_input', (error as Error).message);
  }
}

/** The weights of a folder for its config, every mismatch naming the file and the tensor. */
export function readModelWeights(dir: string, config: ModelConfig): NamedTensors {
  try {
    return isLlamaConfig(config) ? readLlamaWeights(dir, config) : readHfWeights(dir, config);
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new AppError('invalid_input', (error as Error).message);
  }
}

export function readModelFolder(dir: string): { config: ModelConfig; weights: NamedTensors } {
  const config = readModelConfig(dir);
  return { config, weights: readModelWeights(dir, config) };
}

/**
 * The dtypes the folder's weights are stored in (model.safetensors, or every shard of the index),
 * read from the headers alone: "BF16", "F32", or several joined ("BF16+F32") when they mix.
 */
export function weightsDtype(dir: string): string {
  const single = join(dir, 'model.safetensors');
  const index = join(dir, 'model.safetensors.index.json');
  let files: string[] = [];
  if (existsSync(single)) files = [single];
  else if (existsSync(index)) {
    const map = (JSON.parse(readFileSync(index, 'utf8')) as { weight_map?: Record<string, string> }).weight_map ?? {};
    files = [...new Set(Object.values(map))].map((f) => join(dir, f));
  }
  const dtypes = new Set<string>();
  for (const file of files) for (const entry of readSafetensorsHeader(file).entries.values()) dtypes.add(entry.dtype);
  return dtypes.size === 0 ? 'F32' : [...dtypes].sort().join('+');
}

/** Writes config.json (and, for the Llama family, generation_config.json) and an F32 model.safetensors. */
export function writeModelFolder(
  dir: string,
  config: ModelConfig,
  weights: NamedTensors,
  extra: { metadata?: Record<string, string> } = {},
): void {
  if (isLlamaConfig(config)) writeLlamaModel(dir, config, weights, extra);
  else writeHfModel(dir, config, weights, extra);
}

/**
 * The model of these weights. On webgpu, a model whose largest tensor cannot be bound to a kernel
 * is refused first, naming the tensor and the device's limit, before any of it reaches the GPU
 * (past the limit WebGPU would compute on zeros). Every job's model is built here.
 */
export function modelFromWeights(config: ModelConfig, weights: NamedTensors): CausalLm {
  const largest = largestTensor([...weights].map(([name, t]) => [name, t.shape] as const));
  assertWebgpuFits(largest.bytes, `the model's tensor ${largest.name}`);
  return isLlamaConfig(config) ? Llama.fromWeights(config, weights) : Gpt.fromWeights(config, weights);
}

export function initModel(config: ModelConfig, rng: Rng): CausalLm {
  return isLlamaConfig(config) ? Llama.init(config, rng) : Gpt.init(config, rng);
}

/** A stored model's folder, loaded: the family its config names, as a CausalLm. */
export function loadModelFolder(dir: string): CausalLm {
  const { config, weights } = readModelFolder(dir);
  return modelFromWeights(config, weights);
}
