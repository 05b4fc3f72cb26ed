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
 *
 * A run's checkpoints (writeCheckpoint, readLatestCheckpoint) are one such training state per step
 * in its own folder (checkpoint/step-000000012/) with a manifest.json of each file's sha256 and
 * size, written last: a folder without it, or whose files do not match it (torn, truncated,
 * damaged), is passed over for the checkpoint before, which stays until a newer one is whole.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
} from 'node:fs';
import { createHash, randomUUID } from 'node:crypto';
import { basename, join } from 'node:path';
import { parameterShapes, sameShape, type GptConfig, type NamedTensors } from './config';
import type { RngState } from '../core/rng';
import { hfConfigJson } from './hfConfig';
import { writeFilesAtomically, writeFully, type AtomicWriteOptions, type PendingFile } from '../core/atomicWrite';
import { readSafetensors, readSafetensorsHeader, safetensorsWriter } from './safetensors';
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
      if (!shards.has(shard) && !existsSync(join(dir, shard)))
        throw new Error(`${indexPath}: weight_map "${name}" names ${JSON.stringify(shard)}, which is not in ${dir}`);
      shards.add(shard);
    }
    if (shards.size === 0) throw new Error(`${indexPath}: field "weight_map" names no shards`);
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
 * Refuses a weight that is NaN or infinite, naming the file, the tensor and the first such value.
 * Refused rather than warned about: one NaN or infinity in a weight makes every forward pass that
 * reads it NaN, so the model could neither generate nor train, and would fail later with less to
 * say about why.
 */
function checkFinite(file: string, name: string, data: Float32Array): void {
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!;
    if (x - x !== 0) {
      let count = 0;
      for (let j = i; j < data.length; j++) if (data[j]! - data[j]! !== 0) count++;
      throw new Error(
        `${file}: tensor "${name}" holds ${count} ${count === 1 ? 'value that is' : 'values that are'} not finite (the first, ${x}, at index ${i}): a model with NaN or infinite weights cannot run`,
      );
    }
  }
}

/**
 * Compares the values a config needs at the least (`needed`, from its sizes alone) with what the
 * safetensors headers declare, before any parameter list is built or any tensor read: a config
 * whose sizes its files cannot begin to hold (more than twice what they declare) is refused by
 * its numbers, not by building a list of parameters its files do not have.
 */
function checkDeclaredSize(dir: string, files: string[], needed: number, sizes: string): void {
  let declared = 0;
  for (const file of files)
    for (const entry of readSafetensorsHeader(file).entries.values())
      declared += entry.shape.reduce((a, b) => a * b, 1);
  // Twice over: a folder short of a few tensors gets the list of them (checkParameters) instead.
  if (needed > 2 * declared) {
    throw new Error(
      `${join(dir, 'config.json')}: its sizes (${sizes}) need at least ${needed.toLocaleString('en-US')} weights, but the safetensors files declare ${declared.toLocaleString('en-US')}`,
    );
  }
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
  const c = config;
  checkDeclaredSize(
    dir,
    files,
    (c.vocabSize + c.nPositions) * c.nEmbd + c.nLayer * 12 * c.nEmbd * c.nEmbd,
    `vocab_size ${c.vocabSize}, n_positions ${c.nPositions}, n_embd ${c.nEmbd}, n_layer ${c.nLayer}`,
  );
  for (const file of files) {
    const { tensors } = readSafetensors(file, { skip: (name) => MASK_BUFFER.test(name) });
    for (const [stored, tensor] of tensors) {
      checkFinite(file, stored, tensor.data);
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
  const files = weightFiles(dir);
  {
    const c = config;
    const attention = c.nEmbd * c.headDim * (2 * c.nHead + 2 * c.nKvHead);
    checkDeclaredSize(
      dir,
      files,
      c.vocabSize * c.nEmbd + c.nLayer * (attention + 3 * c.nEmbd * c.intermediateSize),
      `vocab_size ${c.vocabSize}, hidden_size ${c.nEmbd}, intermediate_size ${c.intermediateSize}, num_hidden_layers ${c.nLayer}`,
    );
  }
  const expected = llamaParameterShapes(config);
  const found: NamedTensors = new Map();
  const sources = new Map<string, string>();
  const problems: string[] = [];
  let tiedHead: { file: string; tensor: { shape: number[]; data: Float32Array } } | undefined;
  for (const file of files) {
    const { tensors } = readSafetensors(file, { skip: (name) => ROTARY_BUFFER.test(name) });
    for (const [name, tensor] of tensors) {
      checkFinite(file, name, tensor.data);
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
const MANIFEST_FILE = 'manifest.json';
const MANIFEST_FORMAT = 'alol-checkpoint-manifest';

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
  writeStateSet(dir, state, {});
}

/** What writeStateSet adds for a checkpoint: a manifest written last, and a hook at every stage. */
interface SetOptions {
  manifest?: boolean;
  onStage?: AtomicWriteOptions['onStage'];
}

function writeStateSet(dir: string, state: TrainingState, options: SetOptions): void {
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
  // Each file's hash is taken from its temporary file once it is on disk, before any rename, and
  // the manifest that records them is written and renamed last: the set's commit record.
  const digests: Record<string, FileDigest> = {};
  const hashed = (path: string) =>
    options.manifest ? (temp: string) => (digests[basename(path)] = fileDigest(temp)) : undefined;
  const files: PendingFile[] = [
    { path: optimizerPath, write: writeOptimizer, written: hashed(optimizerPath) },
    { path: statePath, write: (fd) => writeFully(fd, stateText), written: hashed(statePath) },
  ];
  if (options.manifest) {
    files.push({
      path: join(dir, MANIFEST_FILE),
      write: (fd) => {
        const manifest = { format: MANIFEST_FORMAT, version: 1, checkpoint_id: id, step: state.step, files: digests };
        writeFully(fd, new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`));
      },
    });
  }
  mkdirSync(dir, { recursive: true });
  writeFilesAtomically(files, options.onStage ? { onStage: options.onStage } : {});
}

interface FileDigest {
  sha256: string;
  bytes: number;
}

/** sha256 and size of a file, read in 16 MiB pieces (an optimizer file can be gigabytes). */
function fileDigest(path: string): FileDigest {
  const hash = createHash('sha256');
  const buffer = new Uint8Array(1 << 24);
  const fd = openSync(path, 'r');
  let bytes = 0;
  try {
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.byteLength, bytes);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
      bytes += n;
    }
  } finally {
    closeSync(fd);
  }
  return { sha256: hash.digest('hex'), bytes };
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

// ---------------------------------------------------------------------------------------------
// A run's checkpoints: one folder per step under the run's checkpoint folder, each one complete
// only once its manifest.json (every file's sha256 and size, written and renamed last) is there.

const STEP_FOLDER = /^step-(\d+)$/;
/** Complete checkpoints kept: the newest and the one before it, the fallback when the newest is found damaged. */
const KEEP = 2;

/** The folder of the checkpoint of `step` under `root` (step-000000012). */
export function checkpointFolder(root: string, step: number): string {
  return join(root, `step-${String(step).padStart(9, '0')}`);
}

/** The step folders under root, newest first. */
function stepFolders(root: string): { step: number; dir: string }[] {
  if (!existsSync(root)) return [];
  const found: { step: number; dir: string }[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const match = entry.isDirectory() ? STEP_FOLDER.exec(entry.name) : null;
    if (match) found.push({ step: Number(match[1]), dir: join(root, entry.name) });
  }
  return found.sort((a, b) => b.step - a.step);
}

/**
 * Writes the training state of `state.step` as its own folder under `root`: optimizer.safetensors
 * and trainer_state.json, each atomically (temporary file, fsync, rename), then manifest.json with
 * their sha256 and sizes. Only then are older checkpoints removed, all but the one before this
 * (kept to fall back to), with any of a later step (an abandoned attempt's, found damaged when the
 * run resumed before it). `onStage` is called at every stage a kill leaves something different
 * behind ("written optimizer.safetensors", "renamed manifest.json", "committed", "pruned").
 * Returns the new checkpoint's folder.
 */
export function writeCheckpoint(
  root: string,
  state: TrainingState,
  options: { onStage?: (stage: string) => void } = {},
): string {
  const dir = checkpointFolder(root, state.step);
  const onStage = options.onStage;
  // A folder of this step left by an earlier attempt stops counting before any of its files changes.
  rmSync(join(dir, MANIFEST_FILE), { force: true });
  writeStateSet(dir, state, {
    manifest: true,
    ...(onStage ? { onStage: (stage: string, path: string) => onStage(`${stage} ${basename(path)}`) } : {}),
  });
  onStage?.('committed');
  const older = stepFolders(root).filter((f) => f.step !== state.step);
  const previous = older.filter((f) => f.step < state.step).slice(0, KEEP - 1);
  for (const f of older) if (!previous.includes(f)) rmSync(f.dir, { recursive: true, force: true });
  // A checkpoint from before step folders, its files directly in root: superseded now.
  for (const name of [OPTIMIZER_FILE, STATE_FILE]) rmSync(join(root, name), { force: true });
  onStage?.('pruned');
  return dir;
}

/**
 * The step of the newest checkpoint under `root` whose write finished (its manifest is there), for
 * reports: its files are not read (readLatestCheckpoint checks them when a run resumes). Null when none.
 */
export function latestCheckpointStep(root: string): number | null {
  return stepFolders(root).find((f) => existsSync(join(f.dir, MANIFEST_FILE)))?.step ?? null;
}

/** The checkpoint in `dir` after checking every file against its manifest; throws naming what is wrong. */
function readVerifiedCheckpoint(dir: string): TrainingState {
  const manifestPath = join(dir, MANIFEST_FILE);
  if (!existsSync(manifestPath)) throw new Error(`${manifestPath}: not found: the checkpoint's write did not finish`);
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch (error) {
    throw new Error(`${manifestPath}: not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  const m = manifest as { format?: unknown; step?: unknown; files?: Record<string, Partial<FileDigest>> } | null;
  if (typeof m !== 'object' || m === null || m.format !== MANIFEST_FORMAT || typeof m.files !== 'object' || !m.files)
    throw new Error(`${manifestPath}: not a checkpoint manifest`);
  for (const name of [OPTIMIZER_FILE, STATE_FILE]) {
    const want = m.files[name];
    const path = join(dir, name);
    if (typeof want?.sha256 !== 'string' || typeof want.bytes !== 'number')
      throw new Error(`${manifestPath}: records no sha256 and size for ${name}`);
    if (!existsSync(path)) throw new Error(`${path}: missing, though ${MANIFEST_FILE} lists it`);
    const size = statSync(path).size;
    if (size !== want.bytes)
      throw new Error(`${path}: ${size} bytes, but ${MANIFEST_FILE} records ${want.bytes}: torn or damaged`);
    const got = fileDigest(path).sha256;
    if (got !== want.sha256)
      throw new Error(`${path}: sha256 ${got} differs from ${want.sha256} in ${MANIFEST_FILE}: damaged`);
  }
  const state = readTrainingState(dir);
  if (!state) throw new Error(`${dir}: no training state`);
  if (state.step !== m.step)
    throw new Error(`${manifestPath}: records step ${String(m.step)}, the state ${state.step}`);
  return state;
}

export interface LatestCheckpoint {
  /** The newest checkpoint whose files match their manifest, or null when there is none. */
  found: { dir: string; state: TrainingState } | null;
  /** Newer checkpoints passed over, newest first, each with what was wrong with it. */
  skipped: { dir: string; reason: string }[];
}

/**
 * The newest whole checkpoint under `root` (writeCheckpoint's folders; else the files of a
 * checkpoint written before them directly in root). A folder without its manifest (a write killed
 * part way), or with a file whose size or sha256 differs from it (torn, truncated, damaged), is
 * skipped for the one before it, and reported.
 */
export function readLatestCheckpoint(root: string): LatestCheckpoint {
  const skipped: LatestCheckpoint['skipped'] = [];
  for (const { dir } of stepFolders(root)) {
    try {
      return { found: { dir, state: readVerifiedCheckpoint(dir) }, skipped };
    } catch (error) {
      skipped.push({ dir, reason: (error as Error).message });
    }
  }
  try {
    const legacy = readTrainingState(root);
    if (legacy) return { found: { dir: root, state: legacy }, skipped };
  } catch (error) {
    skipped.push({ dir: root, reason: (error as Error).message });
  }
  return { found: null, skipped };
}
