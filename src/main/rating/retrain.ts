/**
 * The loop closed in one action: a campaign's ratings become a rewards dataset, A-LoL (or another
 * algorithm) trains from the reference on it, and when that run succeeds a new campaign compares
 * the new model with the reference on the same prompts, ready for annotators.
 *
 * Guardrails: below the minimum evidence (RETRAIN_MINIMUMS) it refuses, naming each number, unless
 * forced; weak agreement (Krippendorff's alpha under ALPHA_WARNING) earns a warning. plan() says all
 * of it, and the names it would create, before anything starts.
 *
 * The follow-up is written down (table retrains) before the run starts, so a studio restarted
 * while the run trained, or after it was resumed elsewhere, still creates the campaign. It keeps
 * the campaign's annotators: each is added to it, and their personal links move to it (a link
 * names one campaign), so the link an annotator already has opens the follow-up.
 */
import type { Db } from '../db/openDb';
import { AppError, isModelSystem, RunConfig, type CampaignCreate, type RetrainRequest } from '../../shared/contract';
import type { RetrainMinimums, RetrainPlan } from '../../shared/retrainPlan';
import type { DatasetStore } from '../data/datasetStore';
import type { ModelStore } from '../models/modelStore';
import type { RunStore } from '../alol/runStore';
import { lossNeeds } from '../alol/losses';
import { VALUE_HOLD_OUT } from '../alol/advantageStage';
import { responseRewards } from './rewardRules';
import type { CampaignRow, CampaignStore } from './campaignStore';
import { rewardsFromRatings } from './ratingRewards';
import { storedRatings, type StoredRating } from './storedRatings';
import { agreementSummaries } from './agreementSummaries';
import { comparisons } from './exportRatings';

/** The least evidence a retrain stands on; below any of them it refuses unless forced. */
export const RETRAIN_MINIMUMS: RetrainMinimums = {
  // Agreement (and so any trust in the labels) needs items that two annotators both rated.
  annotatorsPerItem: 2,
  ratedPairs: 30,
  // Fewer held-out targets than this and the value head's fit (and every advantage) is noise.
  heldOutTargets: 20,
};
/** Krippendorff's alpha under this is weak agreement: the rewards are mostly annotator noise. */
export const ALPHA_WARNING = 0.4;

const FORCE_HINT = '(use --force to override)';

/**
 * The fewest held-out rows the value head can get: training holds out round(prompts x
 * VALUE_HOLD_OUT) prompts (at least one), chosen by a seeded shuffle, with all their rows; the
 * smallest that many prompts' rows is the worst case.
 */
export function fewestHeldOutRows(rowsPerPrompt: readonly number[]): number {
  const n = rowsPerPrompt.length;
  if (n === 0) return 0;
  const k = Math.min(n, Math.max(1, Math.round(n * VALUE_HOLD_OUT)));
  return [...rowsPerPrompt]
    .sort((a, b) => a - b)
    .slice(0, k)
    .reduce((sum, c) => sum + c, 0);
}

/** The evidence of a campaign's ratings against the minimums: what falls short, and what warrants a warning. */
export function retrainEvidence(
  ratings: readonly StoredRating[],
  request: Pick<RetrainRequest, 'algo' | 'rule' | 'helpfulWeight'>,
): Pick<RetrainPlan, 'evidence' | 'minimums' | 'shortfalls' | 'warnings'> {
  const min = RETRAIN_MINIMUMS;
  const counted = comparisons(ratings);
  const ratedPairs = new Set(counted.map((c) => c.item)).size;
  // Overlap as agreement reads it: first ratings of pair items, not skipped, with an answer.
  const raters = new Map<number, Set<number>>();
  for (const r of ratings) {
    if (r.kind !== 'pair' || r.repeatOf !== null || r.skipped || (r.helpful === null && r.safe === null)) continue;
    const set = raters.get(r.item) ?? new Set<number>();
    set.add(r.annotatorId);
    raters.set(r.item, set);
  }
  const sizes = [...raters.values()].map((s) => s.size);
  const mostAnnotatorsPerItem = sizes.reduce((m, x) => Math.max(m, x), 0);
  const overlapItems = sizes.filter((x) => x >= min.annotatorsPerItem).length;
  let heldOutTargets: number | null = null;
  if (lossNeeds(request.algo).signal === 'advantage') {
    const perPrompt = new Map<string, number>();
    for (const r of responseRewards(counted, { rule: request.rule, helpfulWeight: request.helpfulWeight }))
      perPrompt.set(r.prompt, (perPrompt.get(r.prompt) ?? 0) + 1);
    heldOutTargets = fewestHeldOutRows([...perPrompt.values()]);
  }
  // One replicate: only the estimates are wanted here, not their intervals.
  const agreement = overlapItems === 0 ? [] : agreementSummaries(ratings, { seed: 0, reps: 1 });
  const alphaOf = (criterion: 'helpful' | 'safe') =>
    agreement.find((a) => a.criterion === criterion)?.alpha.estimate ?? null;
  const alpha = { helpful: alphaOf('helpful'), safe: alphaOf('safe') };

  const shortfalls: string[] = [];
  if (overlapItems === 0) {
    shortfalls.push(
      `no item was rated by ${min.annotatorsPerItem} or more annotators (at most ${mostAnnotatorsPerItem} on one item), so their agreement is unknown; retraining needs items rated by at least ${min.annotatorsPerItem} annotators ${FORCE_HINT}`,
    );
  }
  if (ratedPairs < min.ratedPairs)
    shortfalls.push(
      `only ${ratedPairs} rated ${ratedPairs === 1 ? 'pair' : 'pairs'}; retraining needs at least ${min.ratedPairs} ${FORCE_HINT}`,
    );
  if (heldOutTargets !== null && heldOutTargets < min.heldOutTargets) {
    shortfalls.push(
      `the value head would be fitted on only ${heldOutTargets} held-out ${heldOutTargets === 1 ? 'target' : 'targets'} (${Math.round(VALUE_HOLD_OUT * 100)}% of the rated prompts); retraining needs at least ${min.heldOutTargets} ${FORCE_HINT}`,
    );
  }
  const warnings = (['helpful', 'safe'] as const).flatMap((c) => {
    const a = alpha[c];
    return a !== null && a < ALPHA_WARNING
      ? [
          `Krippendorff's alpha on ${c === 'helpful' ? 'helpfulness' : 'safety'} is ${a.toFixed(2)}, under ${ALPHA_WARNING}: the annotators agree little, so these rewards are mostly noise`,
        ]
      : [];
  });
  return {
    evidence: { ratedPairs, overlapItems, mostAnnotatorsPerItem, heldOutTargets, alpha },
    minimums: { ...min },
    shortfalls,
    warnings,
  };
}

export interface RetrainDeps {
  db: Db;
  datasets: DatasetStore;
  models: ModelStore;
  runs: RunStore;
  campaigns: CampaignStore;
  createRun: (config: RunConfig) => number;
  startRunJob: (runId: number) => number;
  createCampaign: (input: CampaignCreate) => void;
}

export class Retrainer {
  private readonly q;

  constructor(private readonly d: RetrainDeps) {
    this.q = {
      insert: d.db.prepare<[number, string, number, string, string]>(
        'INSERT INTO retrains (campaign_id, dataset, run_id, next_campaign, created_at) VALUES (?, ?, ?, ?, ?)',
      ),
      byRun: d.db.prepare<[number], { campaign_id: number; next_campaign: string }>(
        'SELECT campaign_id, next_campaign FROM retrains WHERE run_id = ?',
      ),
      all: d.db.prepare<[], { run_id: number }>('SELECT run_id FROM retrains'),
      members: d.db.prepare<[number], { id: number; name: string; token_sha256: string | null }>(
        'SELECT an.id, an.name, ca.token_sha256 FROM campaign_annotators ca JOIN annotators an ON an.id = ca.annotator_id WHERE ca.campaign_id = ? ORDER BY an.name',
      ),
      dropLink: d.db.prepare<[number, number]>(
        'UPDATE campaign_annotators SET token_sha256 = NULL WHERE campaign_id = ? AND annotator_id = ?',
      ),
      join: d.db.prepare<[number, number, string | null, string]>(
        'INSERT INTO campaign_annotators (campaign_id, annotator_id, token_sha256, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (campaign_id, annotator_id) DO UPDATE SET token_sha256 = coalesce(excluded.token_sha256, token_sha256)',
      ),
    };
  }

  /** The names a retrain would create, its evidence against the minimums, and what falls short; starts nothing. */
  plan(request: RetrainRequest): RetrainPlan {
    const campaign = this.d.campaigns.get(request.campaign);
    const ref = request.ref ?? campaign.config.systems.find(isModelSystem);
    if (ref === undefined)
      throw new AppError(
        'invalid_input',
        `campaign "${campaign.name}" compares no model (only sample sets or a dataset's answers): name the reference model (ref)`,
      );
    this.d.models.get(ref);
    const model = request.out ?? `${ref}-${campaign.name}`.slice(0, 100);
    const nextCampaign = request.nextCampaign ?? `${campaign.name}-next`.slice(0, 100);
    const annotators = this.q.members.all(campaign.id).map((m) => m.name);
    return {
      campaign: campaign.name,
      ref,
      model,
      dataset: `${campaign.name}-rewards`.slice(0, 100),
      nextCampaign,
      annotators,
      ...retrainEvidence(storedRatings(this.d.db, campaign.id), request),
    };
  }

  start(request: RetrainRequest) {
    const campaign = this.d.campaigns.get(request.campaign);
    const plan = this.plan(request);
    const { ref, model: out, nextCampaign } = plan;
    if (this.d.models.has(out))
      throw new AppError('conflict', `a model named "${out}" exists already: choose another --out`);
    if (this.d.campaigns.has(nextCampaign))
      throw new AppError(
        'conflict',
        `a campaign named "${nextCampaign}" exists already: choose another --next-campaign`,
      );
    if (plan.shortfalls.length > 0 && !request.force) {
      throw new AppError('insufficient_evidence', `campaign "${campaign.name}": ${plan.shortfalls.join('; ')}`);
    }
    const warnings = [
      ...(request.force ? plan.shortfalls.map((s) => `forced past: ${s.replace(` ${FORCE_HINT}`, '')}`) : []),
      ...plan.warnings,
    ];
    const { dataset } = rewardsFromRatings(this.d.db, this.d.datasets, campaign, plan.dataset, {
      rule: request.rule,
      helpfulWeight: request.helpfulWeight,
    });
    const config = RunConfig.parse({
      algo: request.algo,
      data: dataset.name,
      dataVersion: dataset.version,
      init: ref,
      ref,
      out,
      steps: request.steps,
      batch: request.batch,
      lr: request.lr,
      seed: request.seed,
      // The ratings' rewards are the data's own column; the value head fits them on held-out rows.
      reward: 'column',
    });
    // The run and its follow-up are written together, and committed before its job process reads them.
    const runId = this.d.db
      .transaction(() => {
        const id = this.d.createRun(config);
        this.q.insert.run(campaign.id, dataset.name, id, nextCampaign, new Date().toISOString());
        return id;
      })
      .immediate();
    return {
      dataset: dataset.name,
      version: dataset.version,
      runId,
      jobId: this.d.startRunJob(runId),
      model: out,
      nextCampaign,
      annotators: plan.annotators,
      warnings,
    };
  }

  /** Called whenever a run ends: a retrain's successful run gets its follow-up campaign. */
  runEnded(runId: number): void {
    const retrain = this.q.byRun.get(runId);
    if (!retrain || this.d.campaigns.has(retrain.next_campaign)) return;
    const run = this.d.runs.get(runId);
    if (run.status !== 'succeeded') return;
    const campaign = this.d.campaigns.getById(retrain.campaign_id);
    const { options, prompts, settings } = campaign.config;
    this.d.createCampaign({
      name: retrain.next_campaign,
      models: [run.outModel, run.config.ref ?? run.config.init],
      prompts: {
        dataset: prompts.dataset,
        version: prompts.version,
        ...(prompts.split ? { split: prompts.split } : {}),
      },
      guidelines: campaign.guidelines,
      settings,
      ...options,
      seed: options.seed + 1,
    });
    this.keepAnnotators(campaign, this.d.campaigns.get(retrain.next_campaign).id);
  }

  /**
   * The follow-up keeps the campaign's annotators: each joins it, and a personal link moves with
   * them (the token's hash is unique to one campaign), so the link they have opens the follow-up.
   * The earlier campaign stays rateable in the studio, or through a new link.
   */
  private keepAnnotators(from: CampaignRow, to: number): void {
    const now = new Date().toISOString();
    this.d.db
      .transaction(() => {
        for (const m of this.q.members.all(from.id)) {
          if (m.token_sha256 !== null) this.q.dropLink.run(from.id, m.id);
          this.q.join.run(to, m.id, m.token_sha256, now);
        }
        // Immediate: it reads before it writes (see CampaignStore.addAnnotator).
      })
      .immediate();
  }

  /** At start: follow-ups whose run succeeded while no studio was listening. */
  recover(): void {
    for (const { run_id } of this.q.all.all()) this.runEnded(run_id);
  }
}
