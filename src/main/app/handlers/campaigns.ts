/** The contract's campaign, annotator and rating methods, over the stores and services they use. */
import { randomBytes } from 'node:crypto';
import type { Db } from '../../db/openDb';
import type { ProjectPaths } from '../../core/project';
import type { DatasetStore } from '../../data/datasetStore';
import type { ModelStore } from '../../models/modelStore';
import { chooseFormat } from '../../models/promptFormat';
import type { JobService } from '../../jobs/jobService';
import { AppError, isDataSystem, isSampleSet, type CampaignCreate, type Handlers } from '../../../shared/contract';
import { existingFile, outsideStorage } from '../../core/outputPath';
import { readGoldFile } from '../../rating/goldFile';
import { relabelPairs } from '../../rating/campaignJob';
import { tokenHash, type CampaignStore } from '../../rating/campaignStore';
import type { RatingService } from '../../rating/ratingService';
import { DEFAULT_GUIDELINES } from '../../rating/defaultGuidelines';
import { importRawRatings } from '../../rating/rawRatings';
import { exportRatings, ratingsContent } from '../../rating/exportRatings';
import { browseItems } from '../../rating/itemBrowser';
import { rewardsFromRatings } from '../../rating/ratingRewards';
import type { Retrainer } from '../../rating/retrain';
import { agreementSummaries } from '../../rating/agreementSummaries';
import { datasetAgreement } from '../../rating/datasetAgreement';
import { storedRatings } from '../../rating/storedRatings';
import { startRewardModel } from './rewardModels';

export interface CampaignDeps {
  retrainer: Retrainer;
  paths: ProjectPaths;
  db: Db;
  jobs: JobService;
  models: ModelStore;
  datasets: DatasetStore;
  campaigns: CampaignStore;
  ratings: RatingService;
}

type CampaignMethods =
  | 'campaigns.browse'
  | 'campaigns.retrainPlan'
  | 'ratings.download'
  | 'campaigns.create'
  | 'campaigns.list'
  | 'campaigns.get'
  | 'campaigns.items'
  | 'campaigns.agreement'
  | 'campaigns.datasetAgreement'
  | 'annotators.list'
  | 'annotators.add'
  | 'annotators.revoke'
  | 'ratings.export'
  | 'ratings.import'
  | 'rewards.fromRatings'
  | 'rewards.trainModel'
  | 'campaigns.retrain'
  | 'rating.session'
  | 'rating.next'
  | 'rating.submit'
  | 'rating.undo'
  | 'rating.recent'
  | 'rating.open';

/**
 * Creates a campaign and starts the job that builds its items (sampling the responses models have
 * not given yet). Everything that can be refused is refused here, before anything is stored: the
 * systems, the dataset, n, a data: system's dataset, the gold file.
 */
export function createCampaign(
  d: Pick<CampaignDeps, 'db' | 'jobs' | 'models' | 'datasets' | 'campaigns'>,
  input: CampaignCreate,
): { campaignId: number; jobId: number } {
  if (d.campaigns.has(input.name)) throw new AppError('conflict', `a campaign named "${input.name}" exists already`);
  let datasetVersion: number;
  let n: number;
  if (input.pairs) {
    const dataset = d.datasets.get(input.pairs.dataset, input.pairs.version);
    const pairs = relabelPairs(d.datasets, { ...input.pairs, version: dataset.version });
    n = input.n === 'all' ? pairs.length : input.n;
    if (n > pairs.length)
      throw new AppError(
        'invalid_input',
        `n = ${n} but dataset "${dataset.name}" has ${pairs.length} pairs${input.pairs.split ? ` in split "${input.pairs.split}"` : ''}`,
      );
    datasetVersion = dataset.version;
  } else {
    const prompts = input.prompts as NonNullable<CampaignCreate['prompts']>;
    for (const system of input.models ?? []) {
      if (isDataSystem(system)) {
        const name = system.slice('data:'.length);
        if (name !== prompts.dataset)
          throw new AppError(
            'invalid_input',
            `${system} answers only its own prompts: take the prompts from dataset "${name}"`,
          );
      } else if (!isSampleSet(system)) chooseFormat(input.format, d.models.get(system));
      else if (!d.db.prepare('SELECT 1 FROM samples WHERE source = ? LIMIT 1').get(system))
        throw new AppError('not_found', `no samples come from "${system}"`);
    }
    datasetVersion = d.datasets.get(prompts.dataset, prompts.version).version;
    if (input.n === 'all') throw new AppError('invalid_input', 'n = all is for relabelling campaigns (pairs)');
    n = input.n;
  }
  if (input.goldFile) existingFile(input.goldFile, 'gold file');
  const gold = input.goldFile ? readGoldFile(input.goldFile) : undefined;
  const campaignId = d.campaigns.create(
    input,
    { datasetVersion, n, ...(gold ? { gold } : {}) },
    input.guidelines ?? DEFAULT_GUIDELINES,
  );
  const jobId = d.jobs.start('campaign', { campaignId }, (job) => {
    if (job.status === 'succeeded') return;
    d.campaigns.setStatus(campaignId, 'failed', job.error?.message ?? `preparation ${job.status}`);
  });
  d.campaigns.setJob(campaignId, jobId);
  return { campaignId, jobId };
}

export function createCampaignHandlers(d: CampaignDeps): Pick<Handlers, CampaignMethods> {
  return {
    'campaigns.create': (input) => createCampaign(d, input),
    'campaigns.retrain': (input) => d.retrainer.start(input),
    'campaigns.list': () => d.campaigns.list(),
    'campaigns.get': ({ campaign }) => d.campaigns.summary(d.campaigns.get(campaign)),
    'campaigns.items': ({ campaign, offset, limit }) => d.campaigns.items(d.campaigns.get(campaign).id, offset, limit),
    'campaigns.agreement': ({ campaign, seed, reps }) =>
      agreementSummaries(storedRatings(d.db, d.campaigns.get(campaign).id), { seed, reps }),
    'campaigns.datasetAgreement': ({ campaign }) => {
      const c = d.campaigns.get(campaign);
      return c.config.kind === 'pairs' ? datasetAgreement(storedRatings(d.db, c.id)) : [];
    },
    'annotators.list': () => d.campaigns.annotators(),
    'annotators.add': ({ campaign, name, link }) => {
      const c = d.campaigns.get(campaign);
      const token = link ? randomBytes(24).toString('base64url') : null;
      const annotator = d.campaigns.addAnnotator(c.id, name, token === null ? null : tokenHash(token));
      return { annotator, token };
    },
    'annotators.revoke': ({ campaign, name }) => d.campaigns.revokeLink(d.campaigns.get(campaign), name),
    'ratings.export': ({ campaign, format, path, criterion, rule, helpfulWeight }) => {
      const c = d.campaigns.get(campaign);
      outsideStorage(path, d.paths);
      return exportRatings(d.db, c, format, path, { rule, helpfulWeight }, criterion);
    },
    'rewards.fromRatings': ({ campaign, name, rule, helpfulWeight }) =>
      rewardsFromRatings(d.db, d.datasets, d.campaigns.get(campaign), name, { rule, helpfulWeight }),
    'rewards.trainModel': (input) => startRewardModel(d, input),
    'ratings.import': ({ campaign, path }) => {
      const c = d.campaigns.ready(campaign);
      existingFile(path, 'ratings file');
      return importRawRatings(d.db, d.campaigns, c, path);
    },
    'campaigns.browse': (input) => browseItems(d.db, d.campaigns.get(input.campaign).id, input),
    'campaigns.retrainPlan': (input) => d.retrainer.plan(input),
    'ratings.download': ({ campaign, format, criterion, rule, helpfulWeight }) => {
      const { rows, content, card } = ratingsContent(
        d.db,
        d.campaigns.get(campaign),
        format,
        { rule, helpfulWeight },
        criterion,
      );
      const base = `${campaign}-${format}${criterion === 'both' ? '' : `-${criterion}`}`;
      return { filename: `${base}.jsonl`, content, rows, card: { filename: `${base}.card.md`, content: card } };
    },
    'rating.session': ({ campaign, annotator }) => d.ratings.session(campaign, annotator),
    'rating.next': ({ campaign, annotator }) => d.ratings.next(campaign, annotator),
    'rating.submit': (input) => d.ratings.submit(input),
    'rating.undo': ({ campaign, annotator }) => d.ratings.undo(campaign, annotator),
    'rating.recent': ({ campaign, annotator, limit }) => d.ratings.recent(campaign, annotator, limit),
    'rating.open': ({ campaign, annotator, assignmentId }) => d.ratings.open(campaign, annotator, assignmentId),
  };
}
