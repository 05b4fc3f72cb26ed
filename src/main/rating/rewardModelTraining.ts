/**
 * Training a reward model: a frozen studio GPT (the backbone) with a scalar head, trained on a
 * campaign's rated pairs or a dataset's own (chosen, rejected) pairs with the Bradley-Terry loss,
 * to score responses nobody rated.
 *
 *   sequence = prompt + response + EOS (fitted to the backbone's context as training fits it)
 *     -> the backbone's last-layer states over every real token (padding masked), cached once
 *     -> the value head's attention pooling -> Linear(D, 1)                        -> r (logit)
 *   loss per pair = -log sigmoid(r_chosen - r_rejected) = softplus(-(r_chosen - r_rejected))
 *
 * The head is lm/pooledHead.ts's PooledHead, trained through its unbounded logits(); the backbone is
 * never updated, so an epoch costs only the head. Bradley-Terry sees only differences, so r is
 * known up to a constant: after training the summary bias is shifted so that the mean r over the
 * training responses is 0.
 *
 * What a score is: sigmoid(r), in (0, 1); 0.5 is an average rated response, and
 * sigmoid(r_a - r_b) is the model's probability that a is preferred to b. Bounded on purpose:
 * A-LoL's value head fits targets in [0, max_value] and the reward-weighted baselines need
 * rewards >= 0, and a [0, 1] score combines with the built-ins by weights (rm:NAME*0.5+demo*0.5).
 * The bound costs no ordering (sigmoid is monotone) and does not touch training (the loss is on r).
 *
 * Held-out pairs (a seeded share of the prompts, whole, at least one) are never trained on and never
 * choose anything: the head kept is the last epoch's, so held-out accuracy is an honest estimate,
 * reported with its Wilson 95% interval; their ids are saved beside the model (held-out.json).
 *
 * On disk, models/reward-models/NAME/: head.safetensors (a PooledHead file, maxValue 1) and
 * reward-model.json (backbone name, folder and weights sha256, campaign and rule or dataset, options, metrics).
 * Names are never reused: a cache keyed by rm:NAME (A-LoL's advantages) stays right.
 *
 *   const { head, report } = await fitRewardModel({ backbone, pairs, seed: 0 });
 *   // report.train.accuracy 0.95, report.heldOut { count: 4, accuracy: 0.75, loss: 0.52 }
 * Scoring with the saved model is rewards/rewardModel.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { AppError, methods, type RewardModelFromDataset } from '../../shared/contract';
import type { RewardRule } from '../../shared/rating';
import type { Db } from '../db/openDb';
import type { JobContext } from '../jobs/jobContext';
import type { NamedTensors } from '../lm/config';
import type { CausalLm } from '../lm/causalLm';
import { loadModel } from '../models/modelOps';
import { ModelStore } from '../models/modelStore';
import { chooseFormat } from '../models/promptFormat';
import { Rng } from '../core/rng';
import { trainStep } from '../lm/trainer';
import { adamW, promptStates, stackStates, PooledHead } from '../lm/pooledHead';
import { distinctSequences, heldOutPrompts } from '../alol/valueHead';
import { CampaignStore } from '../rating/campaignStore';
import { comparisons } from '../rating/exportRatings';
import { storedRatings } from '../rating/storedRatings';
import { wilson } from '../stats/winRates';
import { DatasetStore } from '../data/datasetStore';
import { splitOf } from '../alol/runData';
import { itemPreferences } from '../rating/rewardRules';

import {
  encodeSequence,
  logitsOfStates,
  REWARD_MODEL_FORMAT,
  REWARD_MODEL_FORMAT_VERSION,
  rewardModelDir,
  saveRewardModel,
  type HeldOutPairs,
  type PairMetrics,
  type RewardEpochReport,
  type RewardModelInfo,
  type SplitBy,
} from '../rewards/rewardModel';
export const REWARD_MODEL_DEFAULTS = {
  epochs: 20,
  batchSize: 16,
  lr: 1e-3,
  weightDecay: 1e-2,
  dropout: 0.1,
  heldOut: 0.2,
} as const;

/**
 * The backbone's states of every distinct sequence are cached while their float32s fit in this
 * many bytes. Past it (HH-RLHF's 320k responses at context 128 and D 128 would need about 20 GB),
 * each batch's states are recomputed when used: memory stays bounded, at a backbone forward per use.
 */
export const STATE_CACHE_BYTES = 1024 ** 3;

// ---------------------------------------------------------------------------------------------
// The loss.

/**
 * Bradley-Terry: mean over pairs of -log sigmoid(r_chosen - r_rejected), as softplus(-d) (stable
 * for any |d|, exact gradient -sigmoid(-d) / B on r_chosen and +sigmoid(-d) / B on r_rejected).
 *
 *   bradleyTerryLoss([2, 0], [0, 0]) // (softplus(-2) + softplus(0)) / 2 = (0.1269 + 0.6931) / 2 = 0.4100
 */
export function bradleyTerryLoss(chosen: tf.Tensor1D, rejected: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.mean<tf.Scalar>(tf.softplus(tf.neg(tf.sub(chosen, rejected)))));
}

/** softplus(-d) in float64, for the reports. */
function pairLoss(d: number): number {
  return d > 0 ? Math.log1p(Math.exp(-d)) : -d + Math.log1p(Math.exp(d));
}

// ---------------------------------------------------------------------------------------------
// Fitting a head on token sequences.

export interface RewardPair {
  /** prompt + chosen response token ids, as the backbone reads them (encodeSequence). */
  chosen: readonly number[];
  rejected: readonly number[];
}

export interface RewardFitReport {
  epochs: RewardEpochReport[];
  /** Of the kept head (the last epoch's), no dropout. */
  train: PairMetrics;
  heldOut: PairMetrics;
  /** The mean training r subtracted from the summary bias so that r is 0 on average. */
  center: number;
  /** Distinct sequences. */
  sequences: number;
  /** Whether their backbone states were cached once (within stateCacheBytes) or recomputed per batch. */
  statesCached: boolean;
  /** Held out by group (prompt) or, with a single group, by pair. */
  splitBy: SplitBy;
  /** Indices (into the pairs given) of the held-out pairs, ascending. */
  heldOutPairs: number[];
}

export interface FitRewardModelOptions {
  /** Frozen: read, never updated. */
  backbone: CausalLm;
  pairs: readonly RewardPair[];
  /**
   * Each pair's group (its prompt): a group's pairs are held out together, so a response seen in
   * training is not scored again as held out. Default: every pair its own group.
   */
  groups?: readonly string[];
  /** Share of groups held out: round(n * heldOut), at least 1, never all. Default 0.2. */
  heldOut?: number;
  epochs?: number;
  /** Pairs per optimizer step. */
  batchSize?: number;
  lr?: number;
  weightDecay?: number;
  /** Head dropout while training; the value head's 0.1. */
  dropout?: number;
  nHeads?: number;
  maxGradNorm?: number | null;
  /** Seeds the head, the split, the shuffles and dropout. */
  seed: number;
  /** Sequences per backbone forward when caching states; default batchSize. */
  backboneBatchSize?: number;
  /** Cache the backbone's states while they fit in this many bytes (default STATE_CACHE_BYTES); past it, recompute them per batch. */
  stateCacheBytes?: number;
  onEpoch?: (epoch: RewardEpochReport) => void | Promise<void>;
  signal?: AbortSignal;
}

function positiveInteger(value: number, what: string): void {
  if (!(Number.isInteger(value) && value >= 1))
    throw new AppError('invalid_input', `${what} must be a whole number >= 1, got ${value}`);
}

/** Loss, accuracy and margin of the pairs `indices` from each sequence's r. */
export function pairMetrics(
  r: ArrayLike<number>,
  pairs: readonly { chosen: number; rejected: number }[],
  indices: readonly number[],
): PairMetrics {
  if (indices.length === 0) return { count: 0, loss: null, accuracy: null, meanMargin: null };
  let loss = 0;
  let right = 0;
  let margin = 0;
  for (const i of indices) {
    const p = pairs[i]!;
    const d = r[p.chosen]! - r[p.rejected]!;
    loss += pairLoss(d);
    if (d > 0) right++;
    margin += d;
  }
  const n = indices.length;
  return { count: n, loss: loss / n, accuracy: right / n, meanMargin: margin / n };
}

/**
 * Trains a fresh head on the pairs with the Bradley-Terry loss and AdamW, and returns it with the
 * last epoch's weights, r centred on the training responses. The backbone's states are computed
 * once per distinct sequence.
 */
export async function fitRewardModel(o: FitRewardModelOptions): Promise<{ head: PooledHead; report: RewardFitReport }> {
  const epochs = o.epochs ?? REWARD_MODEL_DEFAULTS.epochs;
  const batchSize = o.batchSize ?? REWARD_MODEL_DEFAULTS.batchSize;
  const lr = o.lr ?? REWARD_MODEL_DEFAULTS.lr;
  const heldOut = o.heldOut ?? REWARD_MODEL_DEFAULTS.heldOut;
  positiveInteger(epochs, 'epochs');
  positiveInteger(batchSize, 'batchSize');
  if (!(lr > 0 && Number.isFinite(lr)))
    throw new AppError('invalid_input', `lr must be a finite number > 0, got ${lr}`);
  if (!(heldOut > 0 && heldOut < 1)) throw new AppError('invalid_input', `heldOut must be in (0, 1), got ${heldOut}`);
  if (o.pairs.length < 2) {
    throw new AppError(
      'invalid_input',
      `a reward model needs at least 2 rated pairs (one to train on, one held out), got ${o.pairs.length}`,
    );
  }
  if (o.groups && o.groups.length !== o.pairs.length)
    throw new Error(`fitRewardModel: ${o.groups.length} groups for ${o.pairs.length} pairs`);
  const context = o.backbone.config.nPositions;
  o.pairs.forEach((p, i) => {
    for (const side of ['chosen', 'rejected'] as const) {
      const n = p[side].length;
      if (n === 0 || n > context)
        throw new Error(
          `fitRewardModel: pair ${i} ${side} has ${n} tokens; it needs 1..${context} (the backbone's context)`,
        );
    }
  });

  // Distinct sequences: their states are cached once. Pair i's are at 2i (chosen) and 2i + 1.
  const { unique: sequences, indexOf } = distinctSequences(o.pairs.flatMap((p) => [p.chosen, p.rejected]));
  const pairs = o.pairs.map((_, i) => ({ chosen: indexOf[2 * i]!, rejected: indexOf[2 * i + 1]! }));

  // The split: by group when there are two or more, else by pair.
  const groupKeys = o.groups ?? o.pairs.map((_, i) => String(i));
  const distinct = [...new Set(groupKeys)];
  const splitBy: RewardFitReport['splitBy'] = distinct.length >= 2 ? 'group' : 'pair';
  const groupOf = splitBy === 'group' ? groupKeys.map((g) => distinct.indexOf(g)) : pairs.map((_, i) => i);
  const rng = new Rng(o.seed);
  // Both counts are >= 2 here (two groups, or two pairs), so some are held out and some kept.
  const held = new Set(heldOutPrompts(splitBy === 'group' ? distinct.length : pairs.length, heldOut, rng));
  const trainPairs = pairs.map((_, i) => i).filter((i) => !held.has(groupOf[i]!));
  const heldOutPairs = pairs.map((_, i) => i).filter((i) => held.has(groupOf[i]!));

  const head = PooledHead.init(
    {
      nEmbd: o.backbone.config.nEmbd,
      maxValue: 1,
      nHeads: o.nHeads,
      dropout: o.dropout ?? REWARD_MODEL_DEFAULTS.dropout,
    },
    rng,
  );
  let optimizer: ReturnType<typeof adamW> | null = null;
  try {
    o.signal?.throwIfAborted();
    const D = head.config.nEmbd;
    const backboneBatch = o.backboneBatchSize ?? batchSize;
    let tokens = 0;
    for (const s of sequences) tokens += s.length;
    const cache =
      tokens * D * 4 <= (o.stateCacheBytes ?? STATE_CACHE_BYTES)
        ? promptStates(o.backbone, sequences, backboneBatch)
        : null;
    const statesOf = (indices: readonly number[]): Float32Array[] =>
      cache
        ? indices.map((i) => cache[i]!)
        : promptStates(
            o.backbone,
            indices.map((i) => sequences[i]!),
            backboneBatch,
          );
    // Uncached, a slice of sequences at a time, so that only one slice's states are held.
    const slice = cache ? Number.MAX_SAFE_INTEGER : 64 * Math.max(backboneBatch, batchSize);
    const logitsOf = (indices: readonly number[]): Float32Array => {
      const out = new Float32Array(indices.length);
      for (let start = 0; start < indices.length; start += slice)
        out.set(logitsOfStates(head, statesOf(indices.slice(start, start + slice)), batchSize), start);
      return out;
    };
    const everySequence = sequences.map((_, i) => i);
    optimizer = adamW(head.params, { lr, weightDecay: o.weightDecay ?? REWARD_MODEL_DEFAULTS.weightDecay });
    const reports: RewardEpochReport[] = [];
    const order = [...trainPairs];
    for (let epoch = 1; epoch <= epochs; epoch++) {
      rng.shuffle(order);
      const losses: number[] = [];
      for (let start = 0; start < order.length; start += batchSize) {
        o.signal?.throwIfAborted();
        const rows = order.slice(start, start + batchSize);
        // Chosen then rejected: read (or computed) before the step, outside its gradient tape.
        const batchStates = statesOf([...rows.map((i) => pairs[i]!.chosen), ...rows.map((i) => pairs[i]!.rejected)]);
        const batch = { rows, dropoutSeed: rng.seed() };
        const step = trainStep({
          params: head.params,
          optimizer,
          microBatches: [batch],
          lr,
          maxGradNorm: o.maxGradNorm ?? null,
          loss: (mb) => {
            // Chosen then rejected, one forward of the head over 2B sequences.
            const B = mb.rows.length;
            const { hidden, mask } = stackStates(batchStates, D);
            const r = head.logits(hidden, mask, { training: { dropoutSeed: mb.dropoutSeed } });
            return bradleyTerryLoss(tf.slice(r, [0], [B]), tf.slice(r, [B], [B]));
          },
        });
        losses.push(step.loss);
      }
      const r = logitsOf(everySequence);
      const report: RewardEpochReport = {
        epoch,
        trainLoss: losses.reduce((a, b) => a + b, 0) / losses.length,
        train: pairMetrics(r, pairs, trainPairs),
        heldOut: pairMetrics(r, pairs, heldOutPairs),
      };
      reports.push(report);
      await o.onEpoch?.(report);
    }

    // Centre r on the training responses: a shift of the summary bias, invisible to the loss.
    const trainSequences = [...new Set(trainPairs.flatMap((i) => [pairs[i]!.chosen, pairs[i]!.rejected]))];
    const before = logitsOf(trainSequences);
    const center = before.reduce((a, b) => a + b, 0) / before.length;
    const weights: NamedTensors = head.weights();
    const bias = weights.get('value.summary.bias')!; // present: valueHeadShapes
    bias.data[0] = bias.data[0]! - center;
    head.setWeights(weights);

    const r = logitsOf(everySequence);
    return {
      head,
      report: {
        epochs: reports,
        train: pairMetrics(r, pairs, trainPairs),
        heldOut: pairMetrics(r, pairs, heldOutPairs),
        center,
        sequences: sequences.length,
        statesCached: cache !== null,
        splitBy,
        heldOutPairs,
      },
    };
  } catch (error) {
    head.dispose();
    throw error;
  } finally {
    optimizer?.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// From a campaign or a dataset: the handler's checks and the job.

export interface CampaignPair {
  item: number;
  prompt: string;
  chosen: string;
  rejected: string;
}

/** The campaign's preferences under the rule: one (chosen, rejected) per item with decisive ratings. */
export function campaignPairs(db: Db, campaignId: number, rule: RewardRule): CampaignPair[] {
  return itemPreferences(comparisons(storedRatings(db, campaignId)), rule).map(
    ({ item, prompt, chosen, rejected }) => ({ item, prompt, chosen, rejected }),
  );
}

/** A pair a reward model trains on or holds out, with the id it is recorded by. */
interface SourcePair {
  id: number;
  prompt: string;
  chosen: string;
  rejected: string;
}

/**
 * A dataset's own (chosen, rejected) pairs: those of the split named; without one, the train
 * split where the data has splits (validation and test pairs stay out of reach), else every pair.
 */
export function datasetPairs(
  datasets: DatasetStore,
  input: Pick<RewardModelFromDataset, 'dataset' | 'version' | 'split'>,
): { pairs: SourcePair[]; version: number; split: string | null } {
  const summary = datasets.get(input.dataset, input.version);
  const which = `dataset "${summary.name}" v${summary.version}`;
  if (summary.pairs === 0)
    throw new AppError(
      'invalid_input',
      `${which} has no preference pairs (it holds ${summary.examples} single-response examples): a reward model trains on (chosen, rejected) pairs`,
    );
  const rows = datasets.allPairs(summary.name, summary.version);
  const splits = new Set(rows.map((p) => splitOf(p.metadata)));
  const split = input.split ?? (splits.has('train') ? 'train' : null);
  const chosen = split === null ? rows : rows.filter((p) => splitOf(p.metadata) === split);
  if (chosen.length === 0) {
    const named = [...splits].filter((x): x is string => x !== null);
    throw new AppError(
      'invalid_input',
      `${which} has no pairs in the split "${split}"${named.length > 0 ? ` (its splits: ${named.join(', ')})` : ' (its pairs have no split)'}`,
    );
  }
  if (chosen.length < 2)
    throw new AppError(
      'invalid_input',
      `${which} gives 1 pair${split === null ? '' : ` in the split "${split}"`}; a reward model needs at least 2 (one to train on, one held out)`,
    );
  return {
    pairs: chosen.map((p) => ({ id: p.id, prompt: p.prompt, chosen: p.chosen, rejected: p.rejected })),
    version: summary.version,
    split,
  };
}

/** The job: pairs -> the backbone's states -> the head -> the folder. Returns the metrics. */
export async function rewardModelJob(ctx: JobContext, params: unknown): Promise<Record<string, unknown>> {
  const input = methods['rewards.trainModel'].input.parse(params);
  // Where the pairs come from, and what the saved model records of it.
  let pairs: SourcePair[];
  let source: Pick<RewardModelInfo, 'campaign' | 'rule' | 'helpfulWeight' | 'dataset'>;
  let heldOutOf: HeldOutPairs['of'];
  if ('dataset' in input) {
    const data = datasetPairs(new DatasetStore(ctx.db), input);
    pairs = data.pairs;
    source = {
      campaign: null,
      rule: null,
      helpfulWeight: null,
      dataset: { name: input.dataset, version: data.version, split: data.split },
    };
    heldOutOf = 'dataset pairs';
  } else {
    const campaign = new CampaignStore(ctx.db).get(input.campaign);
    const rule: RewardRule = { rule: input.rule, helpfulWeight: input.helpfulWeight };
    pairs = campaignPairs(ctx.db, campaign.id, rule).map((p) => ({
      id: p.item,
      prompt: p.prompt,
      chosen: p.chosen,
      rejected: p.rejected,
    }));
    source = { campaign: campaign.name, rule: rule.rule, helpfulWeight: rule.helpfulWeight, dataset: null };
    heldOutOf = 'campaign items';
  }
  // startRewardModel always passes the base it chose (the first model among the systems by default).
  if (input.base === undefined) throw new AppError('invalid_input', 'a reward-model job needs its base model');
  const model = new ModelStore(ctx.db).get(input.base);
  if (existsSync(rewardModelDir(ctx.paths, input.name)))
    throw new AppError('conflict', `a reward model named "${input.name}" exists already`);
  const format = chooseFormat(input.format, model);
  ctx.progress({ phase: 'loading', done: 0, total: null });
  const { model: backbone, tokenizer } = await loadModel(ctx.paths, model);
  try {
    const encoded = pairs.map((p) => ({
      chosen: encodeSequence(tokenizer, backbone, p.prompt, p.chosen, format),
      rejected: encodeSequence(tokenizer, backbone, p.prompt, p.rejected, format),
    }));
    ctx.progress({ phase: 'backbone states', done: 0, total: null });
    const options = {
      epochs: input.epochs,
      batchSize: input.batch,
      lr: input.lr,
      heldOut: input.heldOut,
      seed: input.seed,
      dropout: REWARD_MODEL_DEFAULTS.dropout,
      weightDecay: REWARD_MODEL_DEFAULTS.weightDecay,
    };
    // Held out by prompt: a prompt's pairs all train or all stay out.
    const { head, report } = await fitRewardModel({
      backbone,
      pairs: encoded,
      groups: pairs.map((p) => p.prompt),
      ...options,
      signal: ctx.signal,
      onEpoch: (e) =>
        ctx.progress({
          phase: 'training',
          done: e.epoch,
          total: input.epochs,
          message: `loss ${e.trainLoss.toFixed(4)}, train accuracy ${e.train.accuracy?.toFixed(3)}, held-out accuracy ${e.heldOut.accuracy?.toFixed(3)}`,
        }),
    });
    try {
      const held = report.heldOut;
      // accuracy = right / count exactly, so the rounding only undoes floating point.
      const heldOutAccuracy = wilson(held.accuracy === null ? 0 : Math.round(held.accuracy * held.count), held.count);
      const info: RewardModelInfo = {
        format: REWARD_MODEL_FORMAT,
        version: REWARD_MODEL_FORMAT_VERSION,
        name: input.name,
        backbone: { name: model.name, folder: model.folder, weightsSha256: model.weightsSha256 },
        ...source,
        promptFormat: format,
        output: 'sigmoid(r), r centred on the training responses',
        options,
        pairs: {
          total: pairs.length,
          train: report.train.count,
          heldOut: report.heldOut.count,
          splitBy: report.splitBy,
        },
        metrics: { train: report.train, heldOut: report.heldOut, heldOutAccuracy },
        epochs: report.epochs,
        createdAt: new Date().toISOString(),
      };
      const heldOutIds = report.heldOutPairs.map((i) => pairs[i]!.id);
      const folder = saveRewardModel(ctx.paths, head, info, { of: heldOutOf, ids: heldOutIds });
      const heldOutPrompts = new Set(report.heldOutPairs.map((i) => pairs[i]!.prompt)).size;
      return {
        name: info.name,
        reward: `rm:${info.name}`,
        folder,
        backbone: model.name,
        ...source,
        pairs: { ...info.pairs, heldOutPrompts },
        trainAccuracy: report.train.accuracy,
        heldOutAccuracy: report.heldOut.accuracy,
        heldOutInterval: { level: 0.95, low: heldOutAccuracy.low, high: heldOutAccuracy.high },
        trainLoss: report.train.loss,
        heldOutLoss: report.heldOut.loss,
        epochs: input.epochs,
        seed: input.seed,
        format,
      };
    } finally {
      head.dispose();
    }
  } finally {
    backbone.dispose();
  }
}
