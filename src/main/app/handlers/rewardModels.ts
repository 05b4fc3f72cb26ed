/** The method rewards.trainModel: checks what it names and starts the job. */
import { campaignPairs, datasetPairs } from '../../rating/rewardModelTraining';
import { rewardModelDir } from '../../rewards/rewardModel';
import { existsSync } from 'node:fs';
import { AppError, isModelSystem, type RewardModelRequest } from '../../../shared/contract';
import type { Db } from '../../db/openDb';
import type { JobService } from '../../jobs/jobService';
import { ModelStore } from '../../models/modelStore';
import { type ProjectPaths } from '../../core/project';
import { CampaignStore } from '../../rating/campaignStore';
import { DatasetStore } from '../../data/datasetStore';
import { chooseFormat } from '../../models/promptFormat';

export function startRewardModel(
  d: { db: Db; paths: ProjectPaths; jobs: JobService; models: ModelStore; campaigns: CampaignStore },
  input: RewardModelRequest,
): { jobId: number } {
  if (existsSync(rewardModelDir(d.paths, input.name)))
    throw new AppError('conflict', `a reward model named "${input.name}" exists already: choose another --name`);
  if ('dataset' in input) {
    chooseFormat(input.format, d.models.get(input.base));
    datasetPairs(new DatasetStore(d.db), input);
    return { jobId: d.jobs.start('reward-model', input) };
  }
  const campaign = d.campaigns.get(input.campaign);
  const base = input.base ?? campaign.config.systems.find(isModelSystem);
  if (base === undefined)
    throw new AppError(
      'invalid_input',
      `campaign "${campaign.name}" compares no model (only sample sets or a dataset's answers): name the backbone model (base)`,
    );
  chooseFormat(input.format, d.models.get(base));
  const pairs = campaignPairs(d.db, campaign.id, { rule: input.rule, helpfulWeight: input.helpfulWeight });
  if (pairs.length < 2) {
    throw new AppError(
      'invalid_input',
      `campaign "${campaign.name}" gives ${pairs.length} decisive pair${pairs.length === 1 ? '' : 's'} under the rule ${input.rule}; a reward model needs at least 2 (one to train on, one held out)`,
    );
  }
  return { jobId: d.jobs.start('reward-model', { ...input, base }) };
}
