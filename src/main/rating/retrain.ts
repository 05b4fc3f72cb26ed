/**
 * The loop closed in one action: a campaign's ratings become a rewards dataset, A-LoL (or another
 * algorithm) trains from the reference on it, and when that run succeeds a new campaign compares
 * the new model with the reference on the same prompts, ready for annotators.
 *
 * The follow-up is written down (table retrains) before the run starts, so a studio restarted
 * while the run trained, or after it was resumed elsewhere, still creates the campaign.
 */
import type { Db } from '../db/openDb';
import { AppError, isSampleSet, RunConfig, type CampaignCreate, type RetrainRequest } from '../../shared/contract';
import type { DatasetStore } from '../data/datasetStore';
import type { ModelStore } from '../lm/modelStore';
import type { RunStore } from '../alol/runStore';
import type { CampaignStore } from './campaignStore';
import { rewardsFromRatings } from './ratingRewards';

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
      byRun: d.db.prepare<[number], { campaign_id: number; next_campaign: string }>('SELECT campaign_id, next_campaign FROM retrains WHERE run_id = ?'),
      all: d.db.prepare<[], { run_id: number }>('SELECT run_id FROM retrains'),
    };
  }

  start(request: RetrainRequest) {
    const campaign = this.d.campaigns.get(request.campaign);
    const ref = request.ref ?? campaign.config.systems.find((s) => !isSampleSet(s));
    if (ref === undefined) throw new AppError('invalid_input', `campaign "${campaign.name}" compares sample sets only: name the reference model (ref)`);
    this.d.models.get(ref);
    const out = request.out ?? `${ref}-${campaign.name}`.slice(0, 100);
    const nextCampaign = request.nextCampaign ?? `${campaign.name}-next`.slice(0, 100);
    if (this.d.models.has(out)) throw new AppError('conflict', `a model named "${out}" exists already: choose another --out`);
    if (this.d.campaigns.has(nextCampaign)) throw new AppError('conflict', `a campaign named "${nextCampaign}" exists already: choose another --next-campaign`);
    const datasetName = `${campaign.name}-rewards`.slice(0, 100);
    const { dataset } = rewardsFromRatings(this.d.db, this.d.datasets, campaign, datasetName, { rule: request.rule, helpfulWeight: request.helpfulWeight });
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
    const runId = this.d.db.transaction(() => {
      const id = this.d.createRun(config);
      this.q.insert.run(campaign.id, dataset.name, id, nextCampaign, new Date().toISOString());
      return id;
    })();
    return { dataset: dataset.name, version: dataset.version, runId, jobId: this.d.startRunJob(runId), model: out, nextCampaign };
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
      prompts: { dataset: prompts.dataset, version: prompts.version, ...(prompts.split ? { split: prompts.split } : {}) },
      guidelines: campaign.guidelines,
      settings,
      ...options,
      seed: options.seed + 1,
    });
  }

  /** At start: follow-ups whose run succeeded while no studio was listening. */
  recover(): void {
    for (const { run_id } of this.q.all.all()) this.runEnded(run_id);
  }
}
