/**
 * What the studio does with models: import a Hugging Face GPT-2-family folder, create a new model
 * (a tokenizer trained on a dataset, weights initialised from a seed), export, tokenize, score and
 * generate. Checkpoint folders live under the project's models/ folder in Hugging Face's layout.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, createReadStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Db } from '../db/openDb';
import type { ProjectPaths } from '../core/project';
import { DatasetStore } from '../data/datasetStore';
import { AppError, modelFiles, type GenerateSettings, type ModelSummary } from '../../shared/contract';
import { parameterCount, type GptConfig } from '../lm/config';
import { ModelStore, type NewModel, type StoredModel } from './modelStore';
import { readHfConfig, readHfWeights, writeHfModel } from '../lm/checkpoint';
import { Tokenizer } from '../lm/tokenizer/index';
import { describeSample, tokenizerSample } from '../lm/tokenizer/trainingSample';
import { Gpt } from '../lm/model';
import { generate } from '../lm/generate';
import { logprobsOf } from '../lm/logprobs';
import { Rng } from '../core/rng';

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
  entry: Omit<NewModel, 'folder' | 'weightsSha256' | 'parameters' | 'config'>,
  write: (dir: string) => Promise<GptConfig>,
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
    renameSync(staging, final);
    try {
      return store.add({ ...entry, folder, config, parameters: parameterCount(config), weightsSha256 });
    } catch (error) {
      rmSync(final, { recursive: true, force: true });
      throw error;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function describeTokenizer(tokenizer: Tokenizer, trainedOn?: string): string {
  return `byte-level BPE, ${tokenizer.vocabSize} tokens${trainedOn ? `, trained on ${trainedOn}` : ''}`;
}

export async function importModel(ctx: ModelJobContext, options: { path: string; name: string }): Promise<StoredModel> {
  const source = resolve(options.path);
  if (!existsSync(source)) throw new AppError('not_found', `${source}: no such folder`);
  ctx.progress({ phase: 'reading', done: 0, total: 3 });
  const config = readHfConfig(source);
  const tokenizer = await Tokenizer.load(source);
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new AppError(
      'invalid_input',
      `${source}: the tokenizer has ${tokenizer.vocabSize} tokens but config.json's vocab_size is ${config.vocabSize}`,
    );
  }
  ctx.progress({ phase: 'reading', done: 1, total: 3 });
  const weights = readHfWeights(source, config);
  ctx.progress({ phase: 'writing', done: 2, total: 3 });
  const stored = await storeModel(
    ctx,
    { name: options.name, origin: 'imported', source, tokenizer: describeTokenizer(tokenizer) },
    async (dir) => {
      writeHfModel(dir, config, weights);
      await tokenizer.save(dir);
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
  layers: number;
  dim: number;
  heads: number;
  context: number;
  vocab: number;
  seed: number;
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
  const config: GptConfig = {
    vocabSize: tokenizer.vocabSize,
    nPositions: o.context,
    nEmbd: o.dim,
    nLayer: o.layers,
    nHead: o.heads,
    layerNormEpsilon: 1e-5,
    dropout: 0.1,
    bosTokenId: eos,
    eosTokenId: eos,
  };
  ctx.progress({ phase: 'weights', done: 0, total: null });
  const source = `${dataset.name} v${dataset.version}`;
  const trainedOn = `${describeSample(sample, o.seed)} of ${source}`;
  return storeModel(
    ctx,
    { name: o.name, origin: 'created', source, tokenizer: describeTokenizer(tokenizer, trainedOn) },
    async (dir) => {
      const gpt = Gpt.init(config, new Rng(o.seed));
      try {
        writeHfModel(dir, config, gpt.weights(), { metadata: { seed: String(o.seed) } });
      } finally {
        gpt.dispose();
      }
      await tokenizer.save(dir);
      return config;
    },
  );
}

export function exportModel(
  paths: ProjectPaths,
  model: StoredModel,
  destination: string,
): { folder: string; files: string[] } {
  const target = resolve(destination);
  if (existsSync(target) && readdirSync(target).some((f) => (MODEL_FILES as readonly string[]).includes(f))) {
    throw new AppError('conflict', `${target} already holds a model; choose an empty or new folder`);
  }
  mkdirSync(target, { recursive: true });
  const from = modelFolder(paths, model);
  for (const file of MODEL_FILES) copyFileSync(join(from, file), join(target, file));
  return { folder: target, files: [...MODEL_FILES] };
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

export async function loadModel(paths: ProjectPaths, model: StoredModel): Promise<{ gpt: Gpt; tokenizer: Tokenizer }> {
  const dir = modelFolder(paths, model);
  const config = readHfConfig(dir);
  const gpt = Gpt.fromWeights(config, readHfWeights(dir, config));
  return { gpt, tokenizer: await loadTokenizer(paths, model) };
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
  const { gpt, tokenizer } = await loadModel(ctx.paths, new ModelStore(ctx.db).get(options.model));
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
  options: { model: string; prompts: string[]; settings: GenerateSettings },
): Promise<{
  generations: { prompt: string; response: string; ids: number[]; finishReason: 'eos' | 'stop' | 'length' }[];
}> {
  const { gpt, tokenizer } = await loadModel(ctx.paths, new ModelStore(ctx.db).get(options.model));
  try {
    const { settings } = options;
    // Keep the end of a long prompt: the model sees at most its context, and the reply needs room.
    const room = gpt.config.nPositions - settings.maxNewTokens;
    if (room < 1)
      throw new AppError(
        'invalid_input',
        `maxNewTokens ${settings.maxNewTokens} leaves no room in the context of ${gpt.config.nPositions}`,
      );
    const prompts = options.prompts.map((p) => tokenizer.encode(p).slice(-room));
    ctx.progress({ phase: 'generating', done: 0, total: null });
    const out = generate(gpt, prompts, {
      ...settings,
      eosTokenId: gpt.config.eosTokenId,
      decode: (ids) => tokenizer.decode(ids),
    });
    return {
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
