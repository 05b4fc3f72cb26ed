/** A campaign's ratings as a new dataset version of (prompt, response, reward, source = human), with its provenance. */
import { createHash } from 'node:crypto';
import type { Db } from '../db/openDb';
import { AppError, type DatasetSummary } from '../../shared/contract';
import type { RewardRule } from '../../shared/rating';
import type { DatasetStore } from '../data/datasetStore';
import { summarize } from '../data/importService';
import type { ParsedExample } from '../data/import/parseFile';
import { responseRewards } from './rewardRules';
import type { CampaignRow } from './campaignStore';
import { comparisons, datasetCard } from './exportRatings';
import { storedRatings } from './storedRatings';

export function rewardsFromRatings(
  db: Db,
  datasets: DatasetStore,
  campaign: CampaignRow,
  name: string,
  rule: RewardRule,
): { dataset: DatasetSummary; examples: number; card: string } {
  const ratings = storedRatings(db, campaign.id);
  const rewards = responseRewards(comparisons(ratings), rule);
  if (rewards.length === 0)
    throw new AppError('conflict', `campaign "${campaign.name}" has no answered ratings to make rewards from`);
  const source = `campaign:${campaign.name}`;
  const examples: ParsedExample[] = rewards.map((r, i) => ({
    line: i + 1,
    prompt: r.prompt,
    response: r.response,
    reward: r.reward,
    rewardSource: 'human',
    metadata: {
      campaign: campaign.name,
      rule: rule.rule,
      helpfulWeight: rule.helpfulWeight,
      system: r.system,
      sampleId: r.sampleId,
      helpful: r.helpful,
      safe: r.safe,
      ratings: r.ratings,
    },
  }));
  const bytes = Buffer.from(JSON.stringify(examples));
  const summary = datasets.addVersion({
    name,
    format: 'ratings',
    sourceFile: `${source} (rule ${rule.rule}, helpful weight ${rule.helpfulWeight})`,
    sourceSha256: createHash('sha256').update(bytes).digest('hex'),
    sourceBytes: bytes.length,
    summary: summarize(name, 'jsonl', examples.length, examples, []),
    examples,
    pairs: [],
  });
  return {
    dataset: datasets.get(name, summary.version),
    examples: examples.length,
    card: datasetCard(campaign, ratings, 'rewards', examples.length, rule),
  };
}
