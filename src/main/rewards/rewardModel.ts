/**
 * A learned reward model as a reward function: a frozen studio GPT (the backbone) with the pooled
 * scalar head (lm/pooledHead.ts), read from models/reward-models/NAME and scored as rm:NAME.
 * Training it on rated pairs is rating/rewardModelTraining.ts.
 *
 *   sequence = prompt + response + EOS (fitted to the backbone's context as training fits it)
 *     -> the backbone's last-layer states over every real token (padding masked)
 *     -> the head's attention pooling -> Linear(D, 1)                               -> r (logit)
 *
 * What a score is: sigmoid(r), in (0, 1); 0.5 is an average rated response, and
 * sigmoid(r_a - r_b) is the model's probability that a is preferred to b. Bounded on purpose:
 * A-LoL's value head fits targets in [0, max_value] and the reward-weighted baselines need
 * rewards >= 0, and a [0, 1] score combines with the built-ins by weights (rm:NAME*0.5+demo*0.5).
 * The bound costs no ordering (sigmoid is monotone) and does not touch training (the loss is on r).
 *
 * On disk, models/reward-models/NAME/: head.safetensors (a pooled-head file, maxValue 1),
 * reward-model.json (backbone name, folder and weights sha256, campaign and rule or dataset,
 * options, metrics) and held-out.json (the pairs it never trained on). Names are never reused: a
 * cache keyed by rm:NAME (A-LoL's advantages) stays right.
 *
 *   const fn = await loadReward('rm:helpful-rm', { projectDir });   // score(prompt, response) in (0, 1)
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError, type PromptFormat } from '../../shared/contract';
import type { RewardRule } from '../../shared/rating';
import { initTensorBackend, requestedTensorBackend } from '../lm/tensorBackend';
import type { CausalLm } from '../lm/causalLm';
import { modelFromWeights, readModelConfig, readModelWeights } from '../models/modelFamily';
import { fileSha256 } from '../models/modelOps';
import { Tokenizer } from '../lm/tokenizer/index';
import { projectPaths, type ProjectPaths } from '../core/project';
import { encodeFormatted } from '../lm/batch';
import { headOnStates, promptStates, PooledHead } from '../lm/pooledHead';
import { type RateInterval } from '../stats/winRates';
import type { RewardFunction } from './rewardFunction';

export const REWARD_MODEL_FORMAT = 'alol-reward-model';
export const REWARD_MODEL_FORMAT_VERSION = 1;
/** Under the project's models folder. */
export const REWARD_MODELS_FOLDER = 'reward-models';
const HEAD_FILE = 'head.safetensors';
const INFO_FILE = 'reward-model.json';
/** The held-out pairs' ids (dataset pair rows, or campaign items): what the model never trained on. */
const HELD_OUT_FILE = 'held-out.json';

/** Held out by group (prompt) or, with a single group, by pair. */
export type SplitBy = 'group' | 'pair';

export interface PairMetrics {
  count: number;
  /** Mean Bradley-Terry loss; null with no pairs. */
  loss: number | null;
  /** Share of pairs with r_chosen > r_rejected (a tie counts as wrong); null with no pairs. */
  accuracy: number | null;
  /** Mean r_chosen - r_rejected; null with no pairs. */
  meanMargin: number | null;
}

export interface RewardEpochReport {
  /** 1-based. */
  epoch: number;
  /** Mean of the epoch's batch losses (with dropout, as the weights moved). */
  trainLoss: number;
  train: PairMetrics;
  heldOut: PairMetrics;
}

/** The head's r for cached states, in batches, no dropout. */
export function logitsOfStates(head: PooledHead, states: readonly Float32Array[], batchSize = 16): Float32Array {
  return headOnStates(head, states, batchSize, 'logits');
}

// ---------------------------------------------------------------------------------------------
// Texts to sequences.

/**
 * prompt + response + EOS as the backbone reads them: the response keeps its start, the prompt its
 * end (as training fits them); in the chat format the conversation through the backbone's chat
 * template, up to the reply's end-of-turn token (encodeFormatted).
 */
export function encodeSequence(
  tokenizer: Tokenizer,
  backbone: Pick<CausalLm, 'config'>,
  prompt: string,
  response: string,
  format: PromptFormat = 'raw',
): number[] {
  const { eosTokenId, nPositions } = backbone.config;
  const fitted = encodeFormatted(tokenizer, eosTokenId, nPositions, prompt, response, format);
  return [...fitted.prompt, ...fitted.response];
}

// ---------------------------------------------------------------------------------------------
// The saved model.

export interface RewardModelInfo {
  format: typeof REWARD_MODEL_FORMAT;
  version: number;
  name: string;
  backbone: { name: string; folder: string; weightsSha256: string };
  /** The source of the pairs: a campaign under a rule, or a dataset's own pairs (the other fields null). */
  campaign: string | null;
  rule: RewardRule['rule'] | null;
  helpfulWeight: number | null;
  dataset: { name: string; version: number; split: string | null } | null;
  /** How the backbone reads prompt + response; absent in reward models made before formats existed, which read raw. */
  promptFormat?: PromptFormat;
  /** What a score is. */
  output: 'sigmoid(r), r centred on the training responses';
  options: {
    epochs: number;
    batchSize: number;
    lr: number;
    heldOut: number;
    seed: number;
    dropout: number;
    weightDecay: number;
  };
  pairs: { total: number; train: number; heldOut: number; splitBy: SplitBy };
  /** heldOutAccuracy: the held-out accuracy with its Wilson 95% interval (report/winRates.ts). */
  metrics: { train: PairMetrics; heldOut: PairMetrics; heldOutAccuracy: RateInterval };
  epochs: RewardEpochReport[];
  createdAt: string;
}

export function rewardModelsDir(paths: Pick<ProjectPaths, 'models'>): string {
  return join(paths.models, REWARD_MODELS_FOLDER);
}

export function rewardModelDir(paths: Pick<ProjectPaths, 'models'>, name: string): string {
  return join(rewardModelsDir(paths), name);
}

/** Writes the folder under a temporary name and moves it into place; an existing name is refused, never overwritten. */
export function saveRewardModel(
  paths: Pick<ProjectPaths, 'models'>,
  head: PooledHead,
  info: RewardModelInfo,
  heldOut?: HeldOutPairs,
): string {
  const final = rewardModelDir(paths, info.name);
  if (existsSync(final))
    throw new AppError('conflict', `a reward model named "${info.name}" exists already (${final})`);
  mkdirSync(rewardModelsDir(paths), { recursive: true });
  const staging = join(rewardModelsDir(paths), `.${info.name}.partial-${process.pid}-${Date.now().toString(36)}`);
  mkdirSync(staging);
  try {
    head.save(join(staging, HEAD_FILE));
    writeFileSync(join(staging, INFO_FILE), `${JSON.stringify(info, null, 2)}\n`);
    if (heldOut) writeFileSync(join(staging, HELD_OUT_FILE), `${JSON.stringify(heldOut)}\n`);
    try {
      renameSync(staging, final);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST')
        throw new AppError('conflict', `a reward model named "${info.name}" exists already (${final})`);
      throw error;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return final;
}

export interface HeldOutPairs {
  of: 'dataset pairs' | 'campaign items';
  ids: number[];
}

/** The held-out pairs a reward model was saved with; null for a model saved without them. */
export function readHeldOutPairs(paths: Pick<ProjectPaths, 'models'>, name: string): HeldOutPairs | null {
  const file = join(rewardModelDir(paths, name), HELD_OUT_FILE);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as HeldOutPairs) : null;
}

export function readRewardModelInfo(paths: Pick<ProjectPaths, 'models'>, name: string): RewardModelInfo {
  const dir = rewardModelDir(paths, name);
  const file = join(dir, INFO_FILE);
  if (!existsSync(file))
    throw new AppError(
      'reward_spec',
      `rm:${name}: no reward model named "${name}" (no ${file}); train one with alol rewards model CAMPAIGN --name ${name}, or alol rewards model --dataset DATASET --name ${name} --base MODEL`,
    );
  const info = JSON.parse(readFileSync(file, 'utf8')) as RewardModelInfo;
  if (info.format !== REWARD_MODEL_FORMAT)
    throw new AppError('reward_spec', `rm:${name}: ${file} is not a reward model (format "${String(info.format)}")`);
  if (info.version !== REWARD_MODEL_FORMAT_VERSION) {
    throw new AppError(
      'reward_spec',
      `rm:${name}: reward model format version ${info.version}; this build reads version ${REWARD_MODEL_FORMAT_VERSION}`,
    );
  }
  return info;
}

/** A loaded reward model: the frozen backbone, its tokenizer and the head. */
export class RewardModel {
  private constructor(
    readonly info: RewardModelInfo,
    readonly backbone: CausalLm,
    readonly tokenizer: Tokenizer,
    readonly head: PooledHead,
  ) {}

  /** Reads models/reward-models/NAME and its backbone's folder, checking the backbone's weights are the ones it was trained on. */
  static async load(projectDir: string, name: string): Promise<RewardModel> {
    const paths = projectPaths(projectDir);
    const info = readRewardModelInfo(paths, name);
    const dir = join(paths.models, info.backbone.folder);
    const weights = join(dir, 'model.safetensors');
    if (!existsSync(weights))
      throw new AppError('reward_spec', `rm:${name}: its backbone "${info.backbone.name}" is gone (no ${weights})`);
    if ((await fileSha256(weights)) !== info.backbone.weightsSha256) {
      throw new AppError(
        'reward_spec',
        `rm:${name}: the weights in ${dir} are not the backbone "${info.backbone.name}" it was trained on (sha256 differs)`,
      );
    }
    const head = PooledHead.load(join(rewardModelDir(paths, name), HEAD_FILE));
    let backbone: CausalLm | null = null;
    try {
      const config = readModelConfig(dir);
      if (config.nEmbd !== head.config.nEmbd)
        throw new AppError(
          'reward_spec',
          `rm:${name}: the head expects D = ${head.config.nEmbd}; the backbone has ${config.nEmbd}`,
        );
      backbone = modelFromWeights(config, readModelWeights(dir, config));
      return new RewardModel(info, backbone, await Tokenizer.load(dir), head);
    } catch (error) {
      head.dispose();
      backbone?.dispose();
      throw error;
    }
  }

  /** r (unbounded, centred) for each (prompt, response). */
  logits(items: readonly { prompt: string; response: string }[], batchSize = 16): Float32Array {
    const format = this.info.promptFormat ?? 'raw';
    const sequences = items.map((it) => encodeSequence(this.tokenizer, this.backbone, it.prompt, it.response, format));
    const out = new Float32Array(items.length);
    for (let start = 0; start < sequences.length; start += batchSize) {
      const states = promptStates(this.backbone, sequences.slice(start, start + batchSize), batchSize);
      out.set(logitsOfStates(this.head, states, batchSize), start);
    }
    return out;
  }

  /** The reward: sigmoid(r), in (0, 1). */
  scores(items: readonly { prompt: string; response: string }[], batchSize = 16): Float32Array {
    return this.logits(items, batchSize).map((r) => 1 / (1 + Math.exp(-r)));
  }

  dispose(): void {
    this.head.dispose();
    this.backbone.dispose();
  }
}

/**
 * Loaded models stay for the life of the process, one per reward model folder and version of its
 * files (a reward function has no dispose, and the studio's rewards.score loads one per call).
 */
const loaded = new Map<string, Promise<RewardModel>>();

export interface RewardModelRewardOptions {
  /** Starts the tensor backend; default: the process's choice (ALOL_BACKEND, else the best available). */
  initTensors?: () => Promise<unknown>;
}

/** `rm:NAME` as a reward function: score(prompt, response) = sigmoid(r). */
export async function loadRewardModelReward(
  projectDir: string,
  name: string,
  options: RewardModelRewardOptions = {},
): Promise<RewardFunction> {
  if (!/^[\p{L}\p{N}][\p{L}\p{N} ._-]*$/u.test(name))
    throw new AppError(
      'reward_spec',
      `rm:${name}: not a reward model name (letters, digits, space, dot, dash and underscore)`,
    );
  const paths = projectPaths(projectDir);
  const dir = rewardModelDir(paths, name);
  readRewardModelInfo(paths, name); // a clear error before any tensor work
  await (options.initTensors ?? (() => initTensorBackend(requestedTensorBackend(undefined, process.env))))();
  const stamp = [INFO_FILE, HEAD_FILE].map((f) => {
    const s = statSync(join(dir, f), { throwIfNoEntry: false });
    return s ? `${s.size}@${s.mtimeMs}` : 'missing';
  });
  const key = `${dir}|${stamp.join('|')}`;
  let model = loaded.get(key);
  if (!model) {
    model = RewardModel.load(projectDir, name);
    loaded.set(key, model);
    model.catch(() => loaded.delete(key));
  }
  const rm = await model;
  return {
    name: `rm:${name}`,
    score: (prompt: string, response: string) => rm.scores([{ prompt, response }])[0]!,
  };
}
