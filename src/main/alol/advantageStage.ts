/**
 * Pipeline steps 2-3 of ALOL.md for one run: fit the value head on the frozen reference (targets
 * from scored reference decodes of held-out prompts, or the data's own rewards when the run has
 * only a reward column), then A = R - V(x) for every training item. Both are cached in the run's
 * folder under keys of everything they depend on, so a resumed run reuses them and a changed
 * input never does.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AppError, type RunConfig } from '../../shared/contract';
import type { JobContext } from '../jobs/jobKinds';
import type { Gpt } from '../lm/model';
import type { Tokenizer } from '../lm/tokenizer/index';
import { loadReward } from '../rewards/index';
import { ValueHead, VALUE_HEAD_FORMAT_VERSION, fitValueHead } from './valueHead';
import { dataRewardTargets, decodeTargets, splitHeldOut, type ValueTargets } from './valueTargets';
import { advantageCacheKey, computeAdvantages, loadAdvantages, saveAdvantages, weightsSha256 } from './advantages';
import { maxOf } from '../../shared/extent';

interface StageItem {
  prompt: string;
  promptIds: number[];
  reward: number;
}

export interface AdvantageStageOptions {
  dir: string;
  config: RunConfig;
  reference: Gpt;
  referenceSha: string;
  datasetVersionId: number;
  tokenizer: Tokenizer;
  items: StageItem[];
  /** Held-out rows (the data's validation split); without them 10% of the training prompts are held out. */
  heldOut: { prompt: string; promptIds: number[]; reward: number | null }[];
  rewardSpec: string;
}

export async function fitAdvantages(ctx: JobContext, o: AdvantageStageOptions): Promise<{ advantages: Float32Array; report: Record<string, unknown> }> {
  const { config: cfg, reference } = o;
  const negative = o.items.findIndex((i) => i.reward < 0);
  if (negative >= 0) {
    throw new AppError('invalid_input', `A-LoL's value head predicts in [0, max reward]; item ${negative + 1} has reward ${o.items[negative]?.reward}: shift the rewards to be non-negative`);
  }
  const maxValue = maxOf(o.items.map((i) => i.reward), 1);
  const fromData = cfg.reward === 'column';
  const held = o.heldOut.length > 0 ? o.heldOut : splitHeldOut(o.items, { fraction: 0.1, seed: cfg.seed }).heldOut;

  const headKey = createHash('sha256')
    .update(JSON.stringify([o.datasetVersionId, o.referenceSha, o.rewardSpec, cfg.valueDecodes, cfg.valueEpochs, cfg.maxNewTokens, cfg.seed, maxValue, VALUE_HEAD_FORMAT_VERSION]))
    .digest('hex');
  const headPath = join(o.dir, `value-head-${headKey.slice(0, 16)}.safetensors`);
  let head: ValueHead;
  let fit: Record<string, unknown> = { cached: true };
  if (existsSync(headPath)) head = ValueHead.load(headPath);
  else {
    let targets: ValueTargets;
    if (fromData) {
      const rows = held.filter((h): h is typeof h & { reward: number } => h.reward !== null);
      if (rows.length === 0) throw new AppError('invalid_input', 'the value head needs held-out rows with rewards');
      targets = dataRewardTargets(rows);
    } else {
      const reward = await loadReward(o.rewardSpec, { projectDir: ctx.paths.dir });
      const prompts = [...new Map(held.map((h) => [h.promptIds.join(','), h])).values()];
      ctx.progress({ phase: 'value targets', done: 0, total: prompts.length });
      targets = await decodeTargets({
        reference,
        prompts: prompts.map((p) => p.promptIds),
        decode: (ids) => o.tokenizer.decode(ids),
        score: async (promptText, response) => {
          const value = await reward.score(promptText, response);
          return typeof value === 'number' ? value : value.reward;
        },
        maxNewTokens: Math.min(cfg.maxNewTokens, reference.config.nPositions - 1),
        ...(cfg.valueDecodes > 1 ? { sampled: { samples: cfg.valueDecodes, seed: cfg.seed } } : {}),
        onProgress: (done, total) => ctx.progress({ phase: 'value targets', done, total }),
      });
    }
    ctx.progress({ phase: 'value head', done: 0, total: cfg.valueEpochs });
    const fitted = await fitValueHead({
      reference,
      rows: targets.rows.map((r) => ({ promptIds: r.promptIds, target: Math.min(r.target, maxValue) })),
      maxValue,
      epochs: cfg.valueEpochs,
      seed: cfg.seed,
      onEpoch: (e) => ctx.progress({ phase: 'value head', done: e.epoch, total: cfg.valueEpochs }),
    });
    head = fitted.head;
    head.save(headPath);
    fit = { targets: targets.source, rows: targets.rows.length, bestEpoch: fitted.report.bestEpoch, mse: fitted.report.train.mse, pearson: fitted.report.train.pearson };
  }
  try {
    const key = advantageCacheKey({
      datasetVersion: String(o.datasetVersionId),
      referenceSha: o.referenceSha,
      valueHeadSha: weightsSha256(head.params),
      rewardFunctionId: fromData ? 'data-rewards' : o.rewardSpec,
    });
    ctx.progress({ phase: 'advantages', done: 0, total: o.items.length });
    const cached = loadAdvantages(o.dir, key, o.items.length);
    const result = cached ?? computeAdvantages({ reference, head, items: o.items.map((i) => ({ promptIds: i.promptIds, reward: i.reward })) });
    if (!cached) saveAdvantages(o.dir, key, result);
    return {
      advantages: result.advantages,
      report: {
        valueTargets: fromData ? 'the data\'s own rewards (no reward function given)' : `decodes of the reference scored by ${o.rewardSpec}`,
        valueFit: fit,
        positiveFraction: result.stats.positiveFraction,
        meanAdvantage: result.stats.meanAdvantage,
      },
    };
  } finally {
    head.dispose();
  }
}
