/**
 * Model and training checkpoints on disk, as folders Hugging Face transformers can open:
 *
 *   config.json              the GPT-2 config (hfConfig.ts)
 *   model.safetensors        F32 weights named as parameterShapes names them, metadata {"format": "pt"}
 *   optimizer.safetensors    training state for an exact resume: optimizer tensors ("adam.m/h.0.ln_1.weight", ...)
 *   trainer_state.json       step, RNG state and the trainer's extra fields
 *
 * Every write goes through writeFilesAtomically: all files of a set are written under temporary
 * names first, then renamed in a fixed order with the set's commit record last (config.json for a
 * model, trainer_state.json for a training state). A kill while writing leaves the previous files
 * as they were.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { parameterShapes, sameShape, type GptConfig, type NamedTensors } from './config';
import type { RngState } from '../core/rng';
import { hfConfigJson } from './hfConfig';
import { writeFilesAtomically, writeFully } from '../core/atomicWrite';
import { readSafetensors, safetensorsWriter } from './safetensors';
import { generationConfigJson, llamaConfigJson, llamaParameterShapes, type LlamaConfig } from './llamaConfig';

export { hfConfigJson, readHfConfig } from './hfConfig';

const PREFIX = 'transformer.';
/** The causal-mask buffers older transformers saved beside the weights: constants, not parameters. */
const MASK_BUFFER = /^(transformer\.)?h\.\d+\.attn\.(bias|masked_bias)$/;
/** Problems listed by name in an error before the rest are counted. */
const LISTED = 20;

function listed(names: string[]): string {
  const shown = names.slice(0, LISTED).join(', ');
  return names.length > LISTED ? `${shown} and ${names.length - LISTED} more` : shown;
}

/** Bitwise, so NaN equals the same NaN and -0 differs from 0, as two copies of one tensor would. */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/**
 * Names and shapes against parameterShapes(config): every parameter present with its shape, and
 * nothing else. One error lists every problem; `where` names the source.
 */
function checkParameters(where: string, config: GptConfig, tensors: NamedTensors): void {
  const expected = parameterShapes(config);
  const missing = [...expected.keys()].filter((name) => !tensors.has(name));
  const unexpected = [...tensors.keys()].filter((name) => !expected.has(name));
  const wrong: string[] = [];
  for (const [name, { shape, data }] of tensors) {
    const want = expected.get(name);
    if (!want) continue;
    if (!sameShape(shape, want)) {
      // Conv1D weights are [in, out]; a checkpoint from nn.Linear code has them [out, in].
      const transposed =
        shape.length === 2 && sameShape([shape[1]!, shape[0]!], want)
          ? ' (transposed: GPT-2 stores Conv1D weights [in, out])'
          : '';
      wrong.push(`${name} is [${shape.join(', ')}], expected [${want.join(', ')}]${transposed}`);
    } else if (data.length !== want.reduce((a, b) => a * b, 1)) {
      wrong.push(`${name} has ${data.length} values for shape [${shape.join(', ')}]`);
    }
  }
  const problems: string[] = [];
  if (missing.length > 0) problems.push(`missing ${missing.length}: ${listed(missing)}`);
  if (unexpected.length > 0) problems.push(`unexpected ${unexpected.length}: ${listed(unexpected)}`);
  if (wrong.length > 0) problems.push(`wrong shape ${wrong.length}: ${listed(wrong)}`);
  if (problems.length > 0) {
    throw new Error(
      `${where}: the tensors do not match the GPT-2 config (n_layer ${config.nLayer}, n_embd ${config.nEmbd}, vocab_size ${config.vocabSize}, n_positions ${config.nPositions}): ${problems.join('; ')}`,
    );
  }
}

/** The safetensors files of a folder: model.safetensors, or the shards its index names. */
function weightFiles(dir: string): string[] {
  const single = join(dir, 'model.safetensors');
  if (existsSync(single)) return [single];
  const indexPath = join(dir, 'model.safetensors.index.json');
  if (existsSync(indexPath)) {
    let index: unknown;
    try {
      index = JSON.parse(readFileSync(indexPath, 'utf8'));
    } catch (error) {
      throw new Error(`${indexPath}: not valid JSON: ${(error as Error).message}`, { cause: error });
    }
    const map = (index as { weight_map?: unknown } | null)?.weight_map;
    if (typeof map !== 'object' || map === null) throw new Error(`${indexPath}: field "weight_map" is missing`);
    const shards = new Set<string>();
    for (const [name, shard] of Object.entries(map)) {
      // Only plain file names: an index must not point outside its folder.
      if (typeof shard !== 'string' || !/^[\w.-]+\.safetensors$/.test(shard)) {
        throw new Error(
          `${indexPath}: weight_map "${name}" names ${JSON.stringify(shard)}, not a .safetensors file in the folder`,
        );
      }
      shards.add(shard);
    }
    return [...shards].map((shard) => join(dir, shard));
  }
  const pickle = existsSync(join(dir, 'pytorch_model.bin'));
  throw new Error(
    `${single}: not found` +
      (pickle
        ? ' (the folder has pytorch_model.bin: only safetensors can be read, since pickle files can run code; save it again with save_pretrained(..., safe_serialization=True))'
        : ''),
  );
}

/**
 * The weights of a Hugging Face GPT-2 folder, named and shaped as parameterShapes(config) says.
 * Accepts names with or without "transformer.", skips the attention mask buffers, accepts an
 * lm_head.weight only when it equals wte.weight (a tied head), and reads F32, F16, BF16 and F64.
 */
export function readHfWeights(dir: string, config: GptConfig): NamedTensors {
  const found: NamedTensors = new Map();
  const sources = new Map<string, string>();
  let lmHead: { file: string; tensor: { shape: number[]; data: Float32Array } } | undefined;
  const files = weightFiles(dir);
  for (const file of files) {
    const { tensors } = readSafetensors(file, { skip: (name) => MASK_BUFFER.test(name) });
    for (const [stored, tensor] of tensors) {
      if (stored === 'lm_head.weight') {
        lmHead = { file, tensor };
        continue;
      }
      const name = stored.startsWith(PREFIX) ? stored.slice(PREFIX.length) : stored;
      const earlier = sources.get(name);
      if (earlier !== undefined)
        throw new Error(`${file}: tensor "${stored}" is a second copy of "${name}" (first in ${earlier})`);
      sources.set(name, file);
      found.set(name, tensor);
    }
  }
  const where = files.length === 1 ? files[0]! : `${dir} (${files.length} safetensors shards)`;
  checkParameters(where, config, found);
  if (lmHead) {
    const wte = found.get('wte.weight')!;
    if (!sameShape(lmHead.tensor.shape, wte.shape) || !sameBits(lmHead.tensor.data, wte.data)) {
      throw new Error(
        `${lmHead.file}: tensor "lm_head.weight" differs from wte.weight: an untied LM head, and only heads tied to wte are supported`,
      );
    }
  }
  // In parameterShapes' order, whatever the file's, so every reader sees the same sequence.
  return new Map([...parameterShapes(config).keys()].map((name) => [name, found.get(name)!]));
}

/**
 * Writes config.json and model.safetensors: names without "transformer." (as the gpt2 checkpoints
 * on the Hub have them; transformers loads either form), no lm_head (transformers ties it to wte
 * when tie_word_embeddings is true), and metadata "format": "pt", which transformers checks (it
 * overrides a caller's "format"). model.safetensors is renamed into place first, config.json last.
 * Creates `dir`.
 */
export function writeHfModel(
  dir: string,
  config: GptConfig,
  weights: NamedTensors,
  extra: { metadata?: Record<string, string> } = {},
): void {
  const modelPath = join(dir, 'model.safetensors');
  checkParameters(modelPath, config, weights);
  const ordered: NamedTensors = new Map([...parameterShapes(config).keys()].map((name) => [name, weights.get(name)!]));
  const writeModel = safetensorsWriter(modelPath, ordered, { ...extra.metadata, format: 'pt' });
  const configText = new TextEncoder().encode(`${JSON.stringify(hfConfigJson(config), null, 2)}\n`);
  mkdirSync(dir, { recursive: true });
  writeFilesAtomically([
    { path: modelPath, write: writeModel },
    { path: join(dir, 'config.json'), write: (fd) => writeFully(fd, configText) },
  ]);
}

/** Rotary inv_freq buffers some older Llama checkpoints saved: recomputed from the config, not parameters. */
const ROTARY_BUFFER = /^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/;

/**
 * The weights of a Hugging Face Llama-family folder (LlamaForCausalLM, Qwen2ForCausalLM,
 * MistralForCausalLM), named and shaped as llamaParameterShapes(config) says: model.safetensors or
 * the shards of model.safetensors.index.json, F32, F16, BF16 or F64 converted to float32 at load.
 * A tied config accepts an lm_head.weight only when it equals model.embed_tokens.weight. Every
 * problem names its file and tensor.
 */
export function readLlamaWeights(dir: string, config: LlamaConfig): NamedTensors {
  const expected = llamaParameterShapes(config);
  const found: NamedTensors = new Map();
  const sources = new Map<string, string>();
  const problems: string[] = [];
  let tiedHead: { file: string; tensor: { shape: number[]; data: Float32Array } } | undefined;
  const files = weightFiles(dir);
  for (const file of files) {
    const { tensors } = readSafetensors(file, { skip: (name) => ROTARY_BUFFER.test(name) });
    for (const [name, tensor] of tensors) {
      const earlier = sources.get(name);
      if (earlier !== undefined) throw new Error(`${file}: tensor "${name}" is a second copy (first in ${earlier})`);
      sources.set(name, file);
      if (name === 'lm_head.weight' && config.tieWordEmbeddings) {
        tiedHead = { file, tensor };
        continue;
      }
      const want = expected.get(name);
      if (!want) problems.push(`${file}: tensor "${name}" is not a parameter of this config`);
      else if (!sameShape(tensor.shape, want))
        problems.push(`${file}: tensor "${name}" is [${tensor.shape.join(', ')}], expected [${want.join(', ')}]`);
      else found.set(name, tensor);
    }
  }
  const where = files.length === 1 ? files[0]! : join(dir, 'model.safetensors.index.json');
  for (const name of expected.keys()) if (!sources.has(name)) problems.push(`${where}: tensor "${name}" is missing`);
  if (problems.length > 0) {
    const c = config;
    throw new Error(
      `the weights do not match ${join(dir, 'config.json')} (${c.architecture}, num_hidden_layers ${c.nLayer}, hidden_size ${c.nEmbd}, ` +
        `num_attention_heads ${c.nHead}, num_key_value_heads ${c.nKvHead}, intermediate_size ${c.intermediateSize}, vocab_size ${c.vocabSize}, ` +
        `tie_word_embeddings ${c.tieWordEmbeddings}): ${listed(problems)}`,
    );
  }
  if (tiedHead) {
    const embed = found.get('model.embed_tokens.weight')!;
    if (!sameShape(tiedHead.tensor.shape, embed.shape) || !sameBits(tiedHead.tensor.data, embed.data)) {
      throw new Error(
        `${tiedHead.file}: tensor "lm_head.weight" differs from model.embed_tokens.weight, but ${join(dir, 'config.json')} says tie_word_embeddings: true`,
      );
    }
  }
  return new Map([...expected.keys()].map((name) => [name, found.get(name)!]));
}

/**
 * Writes config.json, generation_config.json and model.safetensors (F32, metadata "format": "pt")
 * for a Llama-family model, as transformers' save_pretrained lays them out; config.json last.
 */
export function writeLlamaModel(
  dir: string,
  config: LlamaConfig,
  weights: NamedTensors,
  extra: { metadata?: Record<string, string> } = {},
): void {
  const modelPath = join(dir, 'model.safetensors');
  const expected = llamaParameterShapes(config);
  const problems: string[] = [];
  for (const [name, shape] of expected) {
    const w = weights.get(name);
    if (!w) problems.push(`missing ${name}`);
    else if (!sameShape(w.shape, shape) || w.data.length !== shape.reduce((a, b) => a * b, 1))
      problems.push(`${name} is [${w.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
  for (const name of weights.keys()) if (!expected.has(name)) problems.push(`unexpected ${name}`);
  if (problems.length > 0)
    throw new Error(`${modelPath}: the tensors do not match the ${config.architecture} config: ${listed(problems)}`);
  const ordered: NamedTensors = new Map([...expected.keys()].map((name) => [name, weights.get(name)!]));
  const writeModel = safetensorsWriter(modelPath, ordered, { ...extra.metadata, format: 'pt' });
  const json = (value: unknown) => new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
  const configText = json(llamaConfigJson(config));
  const generationText = json(generationConfigJson(config));
  mkdirSync(dir, { recursive: true });
  writeFilesAtomically([
    { path: modelPath, write: writeModel },
    { path: join(dir, 'generation_config.json'), write: (fd) => writeFully(fd, generationText) },
    { path: join(dir, 'config.json'), write: (fd) => writeFully(fd, configText) },
  ]);
}

export interface TrainingState {
  /** Optimizer steps taken. */
  step: number;
  rng: RngState;
  /** Optimizer tensors by name, e.g. "adam.m/h.0.ln_1.weight" and "adam.v/h.0.ln_1.weight". */
  optimizer: NamedTensors;
  /** Anything else the trainer needs to resume (data order, scheduler, metrics so far): JSON values only. */
  extra: Record<string, unknown>;
}

const STATE_FILE = 'trainer_state.json';
const OPTIMIZER_FILE = 'optimizer.safetensors';
const STATE_FORMAT = 'alol-training-state';
const STATE_VERSION = 1;

/** Refuses values JSON would drop or change (undefined, NaN, Infinity, Map, class instances), naming where. */
function checkJson(value: unknown, path: string): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`${path} is ${value}, which JSON cannot hold`);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => checkJson(item, `${path}[${i}]`));
    return;
  }
  const proto = typeof value === 'object' ? Object.getPrototypeOf(value) : undefined;
  if (proto === Object.prototype || proto === null) {
    for (const [key, item] of Object.entries(value as object)) checkJson(item, `${path}.${key}`);
    return;
  }
  const kind = typeof value === 'object' ? ((value as object).constructor?.name ?? 'object') : typeof value;
  throw new Error(`${path} is a ${kind}, which JSON cannot hold`);
}

/** Four 32-bit words; signed ones too, since Rng.state() can return a word as int32 and Rng reads either alike. */
function isRngState(value: unknown): value is RngState {
  return (
    Array.isArray(value) &&
    value.length === 4 &&
    value.every((x) => Number.isInteger(x) && x >= -0x80000000 && x <= 0xffffffff)
  );
}

/**
 * Writes optimizer.safetensors and trainer_state.json as one set. Both carry the same random
 * checkpoint_id; optimizer.safetensors is renamed into place first and trainer_state.json last, so
 * a kill in the instant between the two renames leaves ids that differ, which readTrainingState
 * reports instead of resuming from a mixed state. Creates `dir`.
 */
export function writeTrainingState(dir: string, state: TrainingState): void {
  const statePath = join(dir, STATE_FILE);
  const optimizerPath = join(dir, OPTIMIZER_FILE);
  if (!Number.isSafeInteger(state.step) || state.step < 0)
    throw new Error(`${statePath}: step must be a non-negative integer, got ${state.step}`);
  if (!isRngState(state.rng))
    throw new Error(`${statePath}: rng must be four 32-bit integers, got ${JSON.stringify(state.rng)}`);
  try {
    checkJson(state.extra, 'extra');
  } catch (error) {
    throw new Error(`${statePath}: ${(error as Error).message}`, { cause: error });
  }
  const id = randomUUID();
  const writeOptimizer = safetensorsWriter(optimizerPath, state.optimizer, {
    checkpoint_id: id,
    step: String(state.step),
  });
  const record = {
    format: STATE_FORMAT,
    version: STATE_VERSION,
    checkpoint_id: id,
    step: state.step,
    rng: state.rng.map((word) => word >>> 0),
    extra: state.extra,
  };
  const stateText = new TextEncoder().encode(`${JSON.stringify(record, null, 2)}\n`);
  mkdirSync(dir, { recursive: true });
  writeFilesAtomically([
    { path: optimizerPath, write: writeOptimizer },
    { path: statePath, write: (fd) => writeFully(fd, stateText) },
  ]);
}

/** The training state in `dir`, or null when it holds none (neither file). */
export function readTrainingState(dir: string): TrainingState | null {
  const statePath = join(dir, STATE_FILE);
  const optimizerPath = join(dir, OPTIMIZER_FILE);
  const hasState = existsSync(statePath);
  const hasOptimizer = existsSync(optimizerPath);
  if (!hasState && !hasOptimizer) return null;
  if (!hasState)
    throw new Error(`${statePath}: not found, though ${OPTIMIZER_FILE} is there: an incomplete checkpoint`);
  if (!hasOptimizer)
    throw new Error(`${optimizerPath}: not found, though ${STATE_FILE} is there: an incomplete checkpoint`);

  let json: unknown;
  try {
    json = JSON.parse(readFileSync(statePath, 'utf8'));
  } catch (error) {
    throw new Error(`${statePath}: not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new Error(`${statePath}: expected a JSON object`);
  const raw = json as Record<string, unknown>;
  const fail = (field: string, problem: string): never => {
    throw new Error(`${statePath}: field "${field}" ${problem}, got ${JSON.stringify(raw[field])}`);
  };
  if (raw.format !== STATE_FORMAT) fail('format', `must be "${STATE_FORMAT}"`);
  if (raw.version !== STATE_VERSION)
    fail('version', `must be ${STATE_VERSION} (a newer studio may have written this checkpoint)`);
  const id = typeof raw.checkpoint_id === 'string' ? raw.checkpoint_id : fail('checkpoint_id', 'must be a string');
  const step =
    typeof raw.step === 'number' && Number.isSafeInteger(raw.step) && raw.step >= 0
      ? raw.step
      : fail('step', 'must be a non-negative integer');
  const rng = isRngState(raw.rng) ? raw.rng : fail('rng', 'must be four 32-bit integers');
  const extra =
    typeof raw.extra === 'object' && raw.extra !== null && !Array.isArray(raw.extra)
      ? (raw.extra as Record<string, unknown>)
      : fail('extra', 'must be an object');

  const { tensors, metadata } = readSafetensors(optimizerPath);
  const optimizerId = metadata.checkpoint_id;
  if (optimizerId !== id) {
    throw new Error(
      `${dir}: ${OPTIMIZER_FILE} (checkpoint ${optimizerId ?? 'without an id'}) and ${STATE_FILE} (checkpoint ${id}) come from different writes: ` +
        'the write was interrupted between its two renames; resume from an earlier checkpoint',
    );
  }
  return { step, rng: [rng[0] >>> 0, rng[1] >>> 0, rng[2] >>> 0, rng[3] >>> 0], optimizer: tensors, extra };
}
