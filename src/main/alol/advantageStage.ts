/**
 * Pipeline steps 2-3 of ALOL.md for one run: fit the value head on the frozen reference (targets
 * from scored reference decodes of held-out prompts, or the data's own rewards when the run has
 * only a reward column), then A = R - V(x) for every training item. Both are cached in the run's
 * folder under keys of everything they depend on, so a resumed run reuses them and a changed
 * input never does.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError, type RunConfig } from '../../shared/contract';
import type { JobContext } from '../jobs/jobContext';
import { eosIdsOf, type CausalLm } from '../lm/causalLm';
import { stopIds } from '../lm/chatTemplate';
import type { Tokenizer } from '../lm/tokenizer/index';
import { loadReward } from '../rewards/index';
import { PooledHead, VALUE_HEAD_FORMAT_VERSION } from '../lm/pooledHead';
import { fitValueHead } from './valueHead';
import { dataRewardTargets, decodeTargets, type ValueTargets } from './valueTargets';
import { advantageCacheKey, computeAdvantagesResumably, loadAdvantages, weightsSha256 } from './advantages';
import { maxOf } from '../../shared/extent';
import { killPoint } from '../core/killPoint';

/** The share of training prompts held out for the value head when the data has no validation split. */
export const VALUE_HOLD_OUT = 0.1;
/** Fewer held-out targets than this and the fit is reported with a warning. */
export const MIN_VALUE_TARGETS = 20;

/** How well V fits its held-out targets: shown on the run page and printed by the CLI. */
interface ValueFit {
  targets: string;
  rows: number;
  bestEpoch: number;
  mse: number;
  pearson: number | null;
  warning?: string;
  cached?: boolean;
}

interface StageItem {
  prompt: string;
  promptIds: number[];
  reward: number;
}

export interface AdvantageStageOptions {
  dir: string;
  config: RunConfig;
  reference: CausalLm;
  referenceSha: string;
  datasetVersionId: number;
  tokenizer: Tokenizer;
  items: StageItem[];
  /** Held-out rows: the data's validation split, else VALUE_HOLD_OUT of the training prompts, carved out of training by the run. */
  heldOut: { prompt: string; promptIds: number[]; reward: number | null }[];
  /** Where the held-out rows came from, for the report. */
  heldOutFrom: 'validation split' | 'training prompts held out of training';
  rewardSpec: string;
}

export async function fitAdvantages(
  ctx: JobContext,
  o: AdvantageStageOptions,
): Promise<{ advantages: Float32Array; report: Record<string, unknown> }> {
  const { config: cfg, reference } = o;
  const negative = o.items.findIndex((i) => i.reward < 0);
  if (negative >= 0) {
    throw new AppError(
      'invalid_input',
      `A-LoL's value head predicts in [0, max reward]; item ${negative + 1} has reward ${o.items[negative]?.reward}: shift the rewards to be non-negative`,
    );
  }
  const maxValue = maxOf(
    o.items.map((i) => i.reward),
    1,
  );
  const fromData = cfg.reward === 'column';
  const chat = cfg.format === 'chat';
  const held = o.heldOut;
  if (held.length === 0)
    throw new AppError('invalid_input', 'the value head needs held-out prompts: none were carved out of training');

  const headKey = createHash('sha256')
    .update(
      JSON.stringify([
        o.datasetVersionId,
        o.referenceSha,
        o.rewardSpec,
        cfg.valueDecodes,
        cfg.valueEpochs,
        cfg.maxNewTokens,
        cfg.seed,
        maxValue,
        VALUE_HEAD_FORMAT_VERSION,
        // Chat-format prompts are other inputs to V; a raw run keeps the key it had before formats.
        ...(chat ? ['chat'] : []),
      ]),
    )
    .digest('hex');
  const headPath = join(o.dir, `value-head-${headKey.slice(0, 16)}.safetensors`);
  let head: PooledHead;
  const fitPath = headPath.replace(/\.safetensors$/, '.fit.json');
  let fit: ValueFit;
  if (existsSync(headPath) && existsSync(fitPath)) {
    head = PooledHead.load(headPath);
    fit = { ...(JSON.parse(readFileSync(fitPath, 'utf8')) as ValueFit), cached: true };
  } else {
    let targets: ValueTargets;
    if (fromData) {
      const rows = held.filter((h): h is typeof h & { reward: number } => h.reward !== null);
      if (rows.length === 0) throw new AppError('invalid_input', 'the value head needs held-out rows with rewards');
      targets = dataRewardTargets(rows);
    } else {
      const reward = await loadReward(o.rewardSpec, { projectDir: ctx.paths.dir });
      const prompts = [...new Map(held.map((h) => [h.promptIds.join(','), h])).values()];
      ctx.progress({ phase: 'value targets', done: 0, total: prompts.length });
      const hhPrompt = new Map(chat ? prompts.map((p) => [o.tokenizer.decode(p.promptIds), p.prompt]) : []);
      targets = await decodeTargets({
        reference,
        prompts: prompts.map((p) => p.promptIds),
        decode: (ids) => o.tokenizer.decode(ids),
        score: async (promptText, response) => {
          // The reward reads the studio's HH prompt, not the template's rendering of it.
          const value = await reward.score(chat ? (hhPrompt.get(promptText) ?? promptText) : promptText, response);
          return typeof value === 'number' ? value : value.reward;
        },
        maxNewTokens: Math.min(cfg.maxNewTokens, reference.config.nPositions - 1),
        // A chat reply ends at the template's end-of-turn token, which the config's end ids may not list.
        ...(chat ? { eosTokenId: stopIds(o.tokenizer, 'chat', eosIdsOf(reference.config)) } : {}),
        ...(cfg.valueDecodes > 1 ? { sampled: { samples: cfg.valueDecodes, seed: cfg.seed } } : {}),
        onProgress: (done, total) => {
          killPoint('value-targets');
          ctx.progress({ phase: 'value targets', done, total });
        },
      });
    }
    ctx.progress({ phase: 'value head', done: 0, total: cfg.valueEpochs });
    const fitted = await fitValueHead({
      reference,
      rows: targets.rows.map((r) => ({ promptIds: r.promptIds, target: Math.min(r.target, maxValue) })),
      maxValue,
      epochs: cfg.valueEpochs,
      seed: cfg.seed,
      onEpoch: (e) => {
        killPoint('value-fit');
        ctx.progress({ phase: 'value head', done: e.epoch, total: cfg.valueEpochs });
      },
    });
    head = fitted.head;
    fit = {
      targets: targets.source,
      rows: targets.rows.length,
      bestEpoch: fitted.report.bestEpoch,
      mse: fitted.report.train.mse,
      pearson: fitted.report.train.pearson,
    };
    if (fit.rows < MIN_VALUE_TARGETS) {
      fit.warning = `the value head was fitted on only ${fit.rows} held-out targets (fewer than ${MIN_VALUE_TARGETS}): its estimate, and so every advantage, is noisy`;
    }
    // The fit's figures go beside the head, so a run that reuses the head still reports them.
    writeFileSync(fitPath, JSON.stringify(fit));
    killPoint('value-head');
    head.save(headPath);
  }
  try {
    const key = advantageCacheKey({
      datasetVersion: String(o.datasetVersionId),
      referenceSha: o.referenceSha,
      valueHeadSha: weightsSha256(head.params),
      rewardFunctionId: fromData ? 'data-rewards' : o.rewardSpec,
      ...(chat ? { format: 'chat' as const } : {}),
    });
    const result =
      loadAdvantages(o.dir, key, o.items.length) ??
      (await computeAdvantagesResumably({
        reference,
        head,
        items: o.items.map((i) => ({ promptIds: i.promptIds, reward: i.reward })),
        dir: o.dir,
        key,
        onProgress: (done, total) => {
          killPoint('advantages');
          ctx.progress({ phase: 'advantages (prompts)', done, total });
        },
        signal: ctx.signal,
      }));
    return {
      advantages: result.advantages,
      report: {
        valueTargets: fromData
          ? "the data's own rewards on held-out prompts (no reward function given): V estimates the data's average reward there, not the reference's expected reward"
          : `the reference's decodes of held-out prompts, scored by ${o.rewardSpec} (V estimates the reference's expected reward)`,
        valueFit: fit,
        heldOut: { from: o.heldOutFrom, rows: held.length, trainItems: o.items.length },
        positiveFraction: result.stats.positiveFraction,
        meanAdvantage: result.stats.meanAdvantage,
      },
    };
  } finally {
    head.dispose();
  }
}
