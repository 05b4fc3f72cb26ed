/**
 * What the studio does with models: import a Hugging Face folder (GPT-2, or the Llama family:
 * Llama, Qwen2, Mistral; config.json's architectures picks, models/modelFamily.ts), create a new
 * model (a tokenizer trained on a dataset, GPT-2 or Llama weights initialised from a seed), export
 * (F32 or BF16), tokenize, score and generate. Checkpoint folders live under the project's models/
 * folder in Hugging Face's layout; every job loads them as a CausalLm (loadModel).
 */
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import type { Db } from '../db/openDb';
import type { ProjectPaths } from '../core/project';
import { DatasetStore } from '../data/datasetStore';
import {
  AppError,
  modelFiles,
  type GenerateSettings,
  type ModelSummary,
  type PromptFormat,
} from '../../shared/contract';
import { chooseFormat } from './promptFormat';
import { samplingIds, stopIds } from '../lm/chatTemplate';
import type { GptConfig } from '../lm/config';
import type { LlamaConfig } from '../lm/llamaConfig';
import { eosIdsOf, type CausalLm } from '../lm/causalLm';
import { ModelStore, type NewModel, type StoredModel } from './modelStore';
import { HfTokenizer, Tokenizer } from '../lm/tokenizer/index';
import { describeSample, tokenizerSample } from '../lm/tokenizer/trainingSample';
import { generate } from '../lm/generate';
import { logprobsOf } from '../lm/logprobs';
import { readSafetensors, safetensorsWriter } from '../lm/safetensors';
import { writeFilesAtomically } from '../core/atomicWrite';
import { Rng } from '../core/rng';
import { ADAPTER_CONFIG, mergeLoraWeights, readPeftAdapter, readPeftConfig } from '../lm/lora';
import {
  initModel,
  isLlamaConfig,
  loadModelFolder,
  modelParameterCount,
  readModelConfig,
  readModelFolder,
  readModelWeights,
  weightsDtype,
  writeModelFolder,
  type ModelConfig,
} from './modelFamily';

/** The files of a checkpoint folder that make a model, in Hugging Face's layout. */
export const MODEL_FILES = modelFiles;

/** Most text a tokenizer is trained on: more adds time, not quality, at the sizes we train. */
const TOKENIZER_TEXT_LIMIT = 8 * 1024 * 1024;

export interface ModelJobContext {
  db: Db;
  paths: ProjectPaths;
  progress: (update: { phase: string; done: number; total: number | null }) => void;
  signal: AbortSignal;
}

export function modelFolder(paths: ProjectPaths, model: Pick<ModelSummary, 'folder'>): string {
  return join(paths.models, model.folder);
}

/** A file's SHA-256 in hex, streamed. */
export async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Writes a checkpoint under a temporary name and moves it into place, so a crash leaves no half folder. */
export async function storeModel(
  ctx: ModelJobContext,
  entry: Omit<NewModel, 'folder' | 'weightsSha256' | 'parameters' | 'config' | 'chatTemplate' | 'dtype' | 'lora'> & {
    dtype?: string;
  },
  write: (dir: string) => Promise<ModelConfig>,
): Promise<StoredModel> {
  const store = new ModelStore(ctx.db);
  if (store.has(entry.name)) throw new AppError('conflict', `a model named "${entry.name}" exists already`);
  const folder = `${entry.name.replace(/[^\p{L}\p{N}._-]+/gu, '_')}-${Date.now().toString(36)}`;
  const staging = join(ctx.paths.models, `.${folder}.partial`);
  const final = join(ctx.paths.models, folder);
  mkdirSync(staging, { recursive: true });
  try {
    const config = await write(staging);
    ctx.signal.throwIfAborted();
    const weightsSha256 = await fileSha256(join(staging, 'model.safetensors'));
    const chatTemplate = hasChatTemplate(staging);
    // A LoRA run's model and a merge keep the adapter's PEFT folder beside the merged weights.
    const adapterDir = join(staging, 'adapter');
    const lora = existsSync(join(adapterDir, ADAPTER_CONFIG)) ? readPeftConfig(adapterDir).config : null;
    renameSync(staging, final);
    try {
      return store.add({
        ...entry,
        dtype: entry.dtype ?? 'F32',
        chatTemplate,
        lora,
        folder,
        config,
        parameters: modelParameterCount(config),
        weightsSha256,
      });
    } catch (error) {
      rmSync(final, { recursive: true, force: true });
      throw error;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Whether a folder's tokenizer has a chat template: tokenizer_config.json's chat_template, or chat_template.jinja. */
export function hasChatTemplate(dir: string): boolean {
  if (existsSync(join(dir, 'chat_template.jinja'))) return true;
  const file = join(dir, 'tokenizer_config.json');
  if (!existsSync(file)) return false;
  try {
    const json = JSON.parse(readFileSync(file, 'utf8')) as { chat_template?: unknown };
    return json.chat_template !== undefined && json.chat_template !== null && json.chat_template !== '';
  } catch {
    return false;
  }
}

function describeTokenizer(tokenizer: Tokenizer, trainedOn?: string): string {
  const kind = tokenizer instanceof HfTokenizer ? 'Hugging Face tokenizer.json' : 'byte-level BPE';
  return `${kind}, ${tokenizer.vocabSize} tokens${trainedOn ? `, trained on ${trainedOn}` : ''}`;
}

/** Tokenizer files an imported folder may have beside tokenizer.json, kept byte for byte. */
const TOKENIZER_EXTRAS = ['tokenizer_config.json', 'special_tokens_map.json', 'chat_template.jinja'] as const;

/** A stored model's tokenizer files, byte for byte, into another model's folder (a run's trained model). */
export function copyTokenizerFiles(fromDir: string, toDir: string): void {
  for (const file of ['tokenizer.json', ...TOKENIZER_EXTRAS])
    if (existsSync(join(fromDir, file))) copyFileSync(join(fromDir, file), join(toDir, file));
}

export async function importModel(ctx: ModelJobContext, options: { path: string; name: string }): Promise<StoredModel> {
  const source = resolve(options.path);
  if (!existsSync(source)) throw new AppError('not_found', `${source}: no such folder`);
  ctx.progress({ phase: 'reading', done: 0, total: 3 });
  // Weights before the tokenizer: a folder of an unknown architecture is refused by its config.json.
  const { config, weights } = readModelFolder(source);
  ctx.progress({ phase: 'reading', done: 1, total: 3 });
  let tokenizer: Tokenizer;
  try {
    tokenizer = await Tokenizer.load(source);
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new AppError('invalid_input', (error as Error).message);
  }
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new AppError(
      'invalid_input',
      `${join(source, 'tokenizer.json')}: the tokenizer has ${tokenizer.vocabSize} tokens but ${join(source, 'config.json')}'s vocab_size is ${config.vocabSize}`,
    );
  }
  const dtype = weightsDtype(source);
  ctx.progress({ phase: 'writing', done: 2, total: 3 });
  const stored = await storeModel(
    ctx,
    { name: options.name, origin: 'imported', source, tokenizer: describeTokenizer(tokenizer), dtype },
    async (dir) => {
      writeModelFolder(dir, config, weights);
      // Saved (GPT-2's vocab.json + merges.txt become a tokenizer.json), then the folder's own files as they are.
      await tokenizer.save(dir);
      copyTokenizerFiles(source, dir);
      return config;
    },
  );
  ctx.progress({ phase: 'writing', done: 3, total: 3 });
  return stored;
}

export interface CreateOptions {
  name: string;
  dataset: string;
  version?: number | undefined;
  /** gpt2 (default) or llama (LlamaForCausalLM: RMSNorm, rotary, SwiGLU, tied embeddings). */
  arch?: 'gpt2' | 'llama' | undefined;
  layers: number;
  dim: number;
  heads: number;
  /** llama: key/value heads (default heads). */
  kvHeads?: number | undefined;
  /** llama: the MLP's intermediate size (default defaultFfn(dim)). */
  ffn?: number | undefined;
  context: number;
  vocab: number;
  seed: number;
}

/** Llama's MLP width for a hidden size: 8/3 of it (SwiGLU's three matrices cost about GPT-2's two at 4x), rounded up to a multiple of 8. */
export function defaultFfn(dim: number): number {
  return Math.ceil((8 * dim) / 3 / 8) * 8;
}

/** The LlamaConfig `model new --arch llama` makes: tied embeddings, no biases, rope_theta 10000, eps 1e-5. */
export function newLlamaConfig(o: {
  vocabSize: number;
  layers: number;
  dim: number;
  heads: number;
  kvHeads?: number | undefined;
  ffn?: number | undefined;
  context: number;
  eos: number;
}): LlamaConfig {
  const kvHeads = o.kvHeads ?? o.heads;
  if (o.dim % o.heads !== 0) throw new AppError('invalid_input', `dim ${o.dim} is not a multiple of heads ${o.heads}`);
  if (o.heads % kvHeads !== 0)
    throw new AppError('invalid_input', `heads ${o.heads} is not a multiple of kvHeads ${kvHeads}`);
  if ((o.dim / o.heads) % 2 !== 0)
    throw new AppError('invalid_input', `the head size ${o.dim / o.heads} must be even for rotary embeddings`);
  return {
    architecture: 'LlamaForCausalLM',
    vocabSize: o.vocabSize,
    nEmbd: o.dim,
    intermediateSize: o.ffn ?? defaultFfn(o.dim),
    nLayer: o.layers,
    nHead: o.heads,
    nKvHead: kvHeads,
    headDim: o.dim / o.heads,
    nPositions: o.context,
    maxPositionEmbeddings: o.context,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    ropeScaling: null,
    tieWordEmbeddings: true,
    qkvBias: false,
    oBias: false,
    mlpBias: false,
    slidingWindow: null,
    attentionDropout: 0,
    bosTokenId: o.eos,
    eosTokenId: o.eos,
    eosTokenIds: [o.eos],
    padTokenId: null,
  };
}

export async function createModel(ctx: ModelJobContext, o: CreateOptions): Promise<StoredModel> {
  const datasets = new DatasetStore(ctx.db);
  const dataset = datasets.get(o.dataset, o.version);
  ctx.progress({ phase: 'tokenizer', done: 0, total: null });
  const sample = tokenizerSample(datasets.texts(dataset.name, dataset.version), {
    maxChars: TOKENIZER_TEXT_LIMIT,
    seed: o.seed,
  });
  if (sample.texts.length === 0)
    throw new AppError('invalid_input', `dataset "${dataset.name}" has no text to train a tokenizer on`);
  const tokenizer = Tokenizer.train(sample.texts, { vocabSize: o.vocab, specialTokens: ['<|endoftext|>'] });
  const eos = tokenizer.eosTokenId;
  if (eos === undefined) throw new Error('the trained tokenizer has no <|endoftext|>');
  const config: ModelConfig =
    o.arch === 'llama'
      ? newLlamaConfig({ ...o, vocabSize: tokenizer.vocabSize, eos })
      : ({
          vocabSize: tokenizer.vocabSize,
          nPositions: o.context,
          nEmbd: o.dim,
          nLayer: o.layers,
          nHead: o.heads,
          layerNormEpsilon: 1e-5,
          dropout: 0.1,
          bosTokenId: eos,
          eosTokenId: eos,
        } satisfies GptConfig);
  ctx.progress({ phase: 'weights', done: 0, total: null });
  const source = `${dataset.name} v${dataset.version}`;
  const trainedOn = `${describeSample(sample, o.seed)} of ${source}`;
  return storeModel(
    ctx,
    { name: o.name, origin: 'created', source, tokenizer: describeTokenizer(tokenizer, trainedOn) },
    async (dir) => {
      const model = initModel(config, new Rng(o.seed));
      try {
        writeModelFolder(dir, config, model.weights(), { metadata: { seed: String(o.seed) } });
      } finally {
        model.dispose();
      }
      await tokenizer.save(dir);
      return config;
    },
  );
}

/**
 * Writes a folder transformers loads: the model's files as stored (config.json, generation_config.json,
 * model.safetensors, the tokenizer files as imported). dtype bf16 rewrites model.safetensors in
 * BF16 (rounded to nearest even) and config.json's torch_dtype to "bfloat16".
 */
export function exportModel(
  paths: ProjectPaths,
  model: StoredModel,
  destination: string,
  options: { dtype?: 'f32' | 'bf16' } = {},
): { folder: string; files: string[] } {
  const target = resolve(destination);
  if (existsSync(target) && readdirSync(target).some((f) => (MODEL_FILES as readonly string[]).includes(f))) {
    throw new AppError('conflict', `${target} already holds a model; choose an empty or new folder`);
  }
  mkdirSync(target, { recursive: true });
  const from = modelFolder(paths, model);
  const files = MODEL_FILES.filter((file) => existsSync(join(from, file)));
  const bf16 = options.dtype === 'bf16';
  for (const file of files) {
    if (bf16 && (file === 'model.safetensors' || file === 'config.json')) continue;
    copyFileSync(join(from, file), join(target, file));
  }
  if (bf16) {
    const modelPath = join(target, 'model.safetensors');
    const { tensors, metadata } = readSafetensors(join(from, 'model.safetensors'));
    const config = JSON.parse(readFileSync(join(from, 'config.json'), 'utf8')) as Record<string, unknown>;
    config.torch_dtype = 'bfloat16';
    const configText = `${JSON.stringify(config, null, 2)}\n`;
    writeFilesAtomically([
      { path: modelPath, write: safetensorsWriter(modelPath, tensors, metadata, { dtype: 'BF16' }) },
    ]);
    writeFileSync(join(target, 'config.json'), configText);
  }
  return { folder: target, files };
}

/** Tokenizers are small and asked for often (every keystroke of a try-it box): keep the last few. */
const tokenizers = new Map<string, Promise<Tokenizer>>();
export function loadTokenizer(paths: ProjectPaths, model: StoredModel): Promise<Tokenizer> {
  const dir = modelFolder(paths, model);
  const cached = tokenizers.get(dir);
  if (cached) return cached;
  const loaded = Tokenizer.load(dir);
  tokenizers.set(dir, loaded);
  if (tokenizers.size > 4) tokenizers.delete(tokenizers.keys().next().value as string);
  return loaded;
}

/** A stored model for a job, whichever its family (GPT-2 or Llama), with its tokenizer. */
export async function loadModel(
  paths: ProjectPaths,
  model: StoredModel,
): Promise<{ model: CausalLm; tokenizer: Tokenizer }> {
  const lm = loadModelFolder(modelFolder(paths, model));
  try {
    return { model: lm, tokenizer: await loadTokenizer(paths, model) };
  } catch (error) {
    lm.dispose();
    throw error;
  }
}

export async function tokenize(
  paths: ProjectPaths,
  model: StoredModel,
  text: string,
): Promise<{ ids: number[]; tokens: string[] }> {
  const tokenizer = await loadTokenizer(paths, model);
  const ids = tokenizer.encode(text);
  return { ids, tokens: ids.map((id) => tokenizer.decode([id])) };
}

export async function scoreLogprobs(
  ctx: ModelJobContext,
  options: { model: string; text?: string | undefined; ids?: number[] | undefined },
): Promise<{ ids: number[]; logprobs: number[] }> {
  const { model: gpt, tokenizer } = await loadModel(ctx.paths, new ModelStore(ctx.db).get(options.model));
  try {
    const ids = options.ids ?? tokenizer.encode(options.text ?? '');
    if (ids.length < 2) throw new AppError('invalid_input', 'need at least two tokens to score');
    if (ids.length > gpt.config.nPositions) {
      throw new AppError(
        'invalid_input',
        `${ids.length} tokens is more than the model's context of ${gpt.config.nPositions}`,
      );
    }
    const bad = ids.find((id) => id >= gpt.config.vocabSize);
    if (bad !== undefined)
      throw new AppError('invalid_input', `token id ${bad} is outside the vocabulary (${gpt.config.vocabSize})`);
    return { ids, logprobs: logprobsOf(gpt, ids) };
  } finally {
    gpt.dispose();
  }
}

export async function generateText(
  ctx: ModelJobContext,
  options: { model: string; prompts: string[]; settings: GenerateSettings; format?: PromptFormat | undefined },
): Promise<{
  /** 'raw' unless asked: generate's prompt is any text, given to the model as it is. */
  format: PromptFormat;
  generations: { prompt: string; response: string; ids: number[]; finishReason: 'eos' | 'stop' | 'length' }[];
}> {
  const stored = new ModelStore(ctx.db).get(options.model);
  const format = chooseFormat(options.format ?? 'raw', stored);
  const { model: gpt, tokenizer } = await loadModel(ctx.paths, stored);
  try {
    const { settings } = options;
    // Keep the end of a long prompt: the model sees at most its context, and the reply needs room.
    const room = gpt.config.nPositions - settings.maxNewTokens;
    if (room < 1)
      throw new AppError(
        'invalid_input',
        `maxNewTokens ${settings.maxNewTokens} leaves no room in the context of ${gpt.config.nPositions}`,
      );
    const prompts = options.prompts.map((p) => samplingIds(tokenizer, p, format).slice(-room));
    ctx.progress({ phase: 'generating', done: 0, total: null });
    const out = generate(gpt, prompts, {
      ...settings,
      eosTokenId: stopIds(tokenizer, format, eosIdsOf(gpt.config)),
      decode: (ids) => tokenizer.decode(ids),
    });
    return {
      format,
      generations: options.prompts.map((prompt, i) => ({
        prompt,
        // generate's text is exact up to a stop string, where decoding the kept ids may not be.
        response: out.text?.[i] ?? tokenizer.decode(out.ids[i] ?? []),
        ids: out.ids[i] ?? [],
        finishReason: out.finishReason[i] ?? 'length',
      })),
    };
  } finally {
    gpt.dispose();
  }
}

/**
 * `alol model merge`: a stored model (GPT-2 or Llama family) with a PEFT LoRA adapter folder for
 * that family merged into its weights (W + alpha/r B A; GPT-2's Conv1D: W + alpha/r (B A)^T),
 * stored as a new full model with the base's config and tokenizer files.
 * The adapter folder is kept beside it (adapter/) as it was read.
 */
export async function mergeAdapter(
  ctx: ModelJobContext,
  base: StoredModel,
  adapterDir: string,
  out: string,
): Promise<StoredModel> {
  const from = modelFolder(ctx.paths, base);
  const config = readModelConfig(from);
  const family = isLlamaConfig(config) ? 'llama' : 'gpt2';
  let adapter: ReturnType<typeof readPeftAdapter>;
  let merged: ReturnType<typeof mergeLoraWeights>;
  try {
    adapter = readPeftAdapter(adapterDir);
    if (adapter.family !== family)
      throw new Error(
        `${adapterDir} adapts a ${adapter.family === 'gpt2' ? 'GPT-2' : 'Llama-family'} model's modules, and "${base.name}" is ${family === 'gpt2' ? 'GPT-2' : 'a Llama-family model'}`,
      );
    merged = mergeLoraWeights(readModelWeights(from, config), adapter.config, adapter.weights, family);
  } catch (error) {
    throw new AppError('invalid_input', error instanceof Error ? error.message : String(error));
  }
  const { r, alpha } = adapter.config;
  return storeModel(
    ctx,
    {
      name: out,
      origin: 'trained',
      source: `base ${base.name} + LoRA r=${r} alpha=${alpha} from ${adapterDir}, merged`,
      parentId: base.id,
      tokenizer: base.tokenizer,
    },
    async (folder) => {
      writeModelFolder(folder, config, merged, { metadata: { merged_adapter: adapterDir } });
      copyTokenizerFiles(from, folder);
      mkdirSync(join(folder, 'adapter'), { recursive: true });
      for (const file of ['adapter_config.json', 'adapter_model.safetensors'])
        copyFileSync(join(adapterDir, file), join(folder, 'adapter', file));
      return config;
    },
  );
}
