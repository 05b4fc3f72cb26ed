/**
 * A campaign's ratings as files: raw JSONL (every field), TRL preference {prompt, chosen, rejected},
 * TRL unpaired {prompt, completion, label}, and (prompt, response, reward) JSONL for A-LoL. Every
 * derived format comes with a dataset card (markdown, beside the file) saying how it was made.
 *
 * A derived file follows one criterion or both: with `helpful` (or `safe`) only that question's
 * answers decide, whatever the rule (each comparison then counts that answer for both criteria, so
 * every rule reduces to the share on it); `both` combines them under the rule. In a relabelling
 * campaign the preference comes from the annotators' answers, not from the dataset's label.
 */
import { writeFileSync } from 'node:fs';
import { existingFolder } from '../core/outputPath';
import type { Db } from '../db/openDb';
import type { RewardRule } from '../../shared/rating';
import type { exportCriteria, ratingsFormats } from '../../shared/contract';
import { isAbsoluteRule, itemPreferences, responseRewards, type Comparison } from './rewardRules';
import type { CampaignRow } from './campaignStore';
import { rawRatings } from './rawRatings';
import { evidence, storedRatings, type StoredRating } from './storedRatings';
import { agreementSummaries } from './agreementSummaries';
import { datasetAgreement } from './datasetAgreement';

export type RatingsFormat = (typeof ratingsFormats)[number];
export type ExportCriterion = (typeof exportCriteria)[number];

/** The comparisons a file is made from; with one criterion, its answer stands for both. */
export function comparisons(ratings: readonly StoredRating[], criterion: ExportCriterion = 'both'): Comparison[] {
  return evidence(ratings).map((r) => {
    const helpful = criterion === 'both' ? r.helpful : r[criterion];
    const safe = criterion === 'both' ? r.safe : r[criterion];
    const helpfulStrength = criterion === 'both' ? r.helpfulStrength : r[`${criterion}Strength`];
    const safeStrength = criterion === 'both' ? r.safeStrength : r[`${criterion}Strength`];
    return {
      item: r.item,
      prompt: r.prompt,
      first: r.first,
      second: r.second,
      helpful,
      safe,
      helpfulStrength,
      safeStrength,
    };
  });
}

/** The rows of one derived format; a response or pair with no decisive evidence is left out (said in the card). */
export function derivedRows(
  format: Exclude<RatingsFormat, 'raw'>,
  ratings: readonly StoredRating[],
  rule: RewardRule,
  criterion: ExportCriterion = 'both',
): Record<string, unknown>[] {
  const list = comparisons(ratings, criterion);
  if (format === 'trl-preference')
    return itemPreferences(list, rule).map(({ prompt, chosen, rejected }) => ({ prompt, chosen, rejected }));
  const rewards = responseRewards(list, rule);
  if (format === 'rewards') {
    return rewards.map((r) => ({
      prompt: r.prompt,
      response: r.response,
      reward: r.reward,
      source: 'human',
      system: r.system,
      ratings: r.ratings,
    }));
  }
  // Unpaired labels: better than a coin flip against the other systems is desirable; exactly even says nothing.
  return rewards
    .filter((r) => r.reward !== 0.5)
    .map((r) => ({ prompt: r.prompt, completion: r.response, label: r.reward > 0.5 }));
}

const ABSOLUTE_OUTCOMES = 'win 1, loss 0, a win marked slight 0.75 and 0.25; both good 1 for both, both bad 0 for both';
const RULE_TEXT: Record<RewardRule['rule'], (w: number) => string> = {
  absolute: (w) =>
    `absolute: reward = ${w} x helpful share + ${+(1 - w).toFixed(4)} x safe share (${ABSOLUTE_OUTCOMES})`,
  'absolute-safety-gates': () =>
    `absolute-safety-gates: 0 for a response that loses on safety (safe share < 0.5), else its helpful share (${ABSOLUTE_OUTCOMES})`,
  weighted: (w) =>
    `weighted: reward = ${w} x helpful share + ${+(1 - w).toFixed(4)} x safe share (win 1, tie 0.5, loss 0; both good and both bad are ties)`,
  'safety-gates': () =>
    'safety-gates: 0 for a response that loses on safety (safe share < 0.5), else its helpful share',
  'both-bad-excluded': (w) =>
    `both-bad-excluded: as weighted (${w} helpful), but "both bad" answers are left out rather than counted as ties`,
};

const CRITERION_TEXT: Record<ExportCriterion, string> = {
  helpful: 'helpfulness only: the helpfulness answers decide (the rule applied to them alone)',
  safe: 'safety only: the safety answers decide (the rule applied to them alone)',
  both: 'both: helpfulness and safety combined under the rule',
};

/** The card's section on agreement with the dataset's own label (relabelling campaigns). */
function datasetAgreementSection(campaign: CampaignRow, ratings: readonly StoredRating[]): string[] {
  if (campaign.config.kind !== 'pairs') return [];
  const fmt = (x: number | null) => (x === null ? 'n/a' : x.toFixed(3));
  return [
    `## Agreement with the dataset's own label ("${campaign.config.prompts.dataset}" chosen)`,
    '',
    "Over decisive answers (a response picked), the share that picked the dataset's chosen response, with a Wilson 95% interval; both good and both bad are no vote for either side and are counted apart.",
    '',
    '| criterion | decisive | agreed | share [95% interval] | both good | both bad |',
    '|---|---|---|---|---|---|',
    ...datasetAgreement(ratings).map(
      (a) =>
        `| ${a.criterion} | ${a.decisive} | ${a.agreed} | ${fmt(a.estimate)} [${fmt(a.low)}, ${fmt(a.high)}] | ${a.bothGood} | ${a.bothBad} |`,
    ),
    '',
  ];
}

/** The rule worked through on two answers, so a reader of the card can check a reward by hand. */
function ruleExample(rule: RewardRule): string[] {
  const first = { system: 'A', sampleId: 1, response: '' };
  const second = { system: 'B', sampleId: 2, response: '' };
  const reward = (c: Pick<Comparison, 'helpful' | 'safe' | 'helpfulStrength'>) =>
    responseRewards([{ item: 1, prompt: '', first, second, safeStrength: null, ...c }], rule)
      .map((r) => `${r.system} ${+r.reward.toFixed(4)}`)
      .join(', ') || 'no rewards';
  return [
    '## The rule, worked',
    '',
    `- A is slightly more helpful, both are safe: ${reward({ helpful: 'first', safe: 'both_good', helpfulStrength: 'slight' })}.`,
    `- Both good on both questions: ${reward({ helpful: 'both_good', safe: 'both_good', helpfulStrength: null })}.`,
    `- Both bad on both questions: ${reward({ helpful: 'both_bad', safe: 'both_bad', helpfulStrength: null })}.`,
    '',
  ];
}

/** The card of a file made from a campaign's stored ratings (storedRatings). */
export function datasetCard(
  campaign: CampaignRow,
  ratings: readonly StoredRating[],
  format: RatingsFormat,
  rows: number,
  rule: RewardRule,
  criterion: ExportCriterion = 'both',
): string {
  const used = evidence(ratings);
  const annotators = [...new Set(ratings.map((r) => r.annotator))].sort();
  const versions = [...new Set(ratings.map((r) => r.guidelinesVersion))].sort();
  const agreement = agreementSummaries(ratings, { seed: campaign.config.options.seed, reps: 200 });
  const fmt = (x: number | null) => (x === null ? 'n/a' : x.toFixed(3));
  const { options, systems, prompts } = campaign.config;
  const where = `dataset "${prompts.dataset}" (version ${prompts.version}${prompts.split ? `, split ${prompts.split}` : ''})`;
  return [
    `# ${campaign.name}: ${format}${format !== 'raw' && criterion !== 'both' ? ` (${criterion})` : ''}`,
    '',
    campaign.config.kind === 'pairs'
      ? `Human ratings from the A-LoL Studio campaign "${campaign.name}": a blinded relabelling of ${options.n} preference pairs of ${where}, each pair's chosen against its rejected response on sides drawn per annotator, rated for helpfulness and safety separately.`
      : `Human ratings from the A-LoL Studio campaign "${campaign.name}": blinded pairwise comparisons of ${systems.join(', ')} on ${options.n} prompts of ${where}.`,
    '',
    '| field | value |',
    '|---|---|',
    `| rows | ${rows} |`,
    `| source | human (${annotators.length} annotators: ${annotators.join(', ') || 'none'}) |`,
    `| ratings used | ${used.length} of ${ratings.length} (answered pair items, first ratings; gold items, swapped repeats, skips and flagged items left out) |`,
    `| rule | ${format === 'raw' ? 'none (raw ratings)' : RULE_TEXT[rule.rule](rule.helpfulWeight)} |`,
    ...(format === 'raw' ? [] : [`| criterion | ${CRITERION_TEXT[criterion]} |`]),
    `| tie policy | ${format === 'trl-preference' ? 'items whose two responses get equal rewards give no pair' : format === 'trl-unpaired' ? 'responses with reward exactly 0.5 get no label' : isAbsoluteRule(rule.rule) ? 'no ties: both good is 1 for both, both bad 0 for both' : 'ties count half a win'} |`,
    `| seed | ${options.seed} |`,
    `| overlap | ${options.overlap} annotators per item |`,
    `| gold items | ${options.gold} |`,
    `| swapped repeats | ${options.repeatSwapped} |`,
    `| guideline versions | ${versions.join(', ') || campaign.guidelinesVersion} |`,
    '',
    ...(format === 'raw' ? [] : ruleExample(rule)),
    '## Agreement on overlap items (95% bootstrap intervals)',
    '',
    '| criterion | items | raw | Cohen kappa | Fleiss kappa | Krippendorff alpha |',
    '|---|---|---|---|---|---|',
    ...agreement.map(
      (a) =>
        `| ${a.criterion} | ${a.items} | ${fmt(a.raw.estimate)} | ${fmt(a.cohen.estimate)} [${fmt(a.cohen.low)}, ${fmt(a.cohen.high)}] | ${fmt(a.fleiss.estimate)} [${fmt(a.fleiss.low)}, ${fmt(a.fleiss.high)}] | ${fmt(a.alpha.estimate)} [${fmt(a.alpha.low)}, ${fmt(a.alpha.high)}] |`,
    ),
    '',
    ...datasetAgreementSection(campaign, ratings),
  ].join('\n');
}

/** A file's rows and its card, as exportRatings writes them and ratings.download returns them. */
export function ratingsContent(
  db: Db,
  campaign: CampaignRow,
  format: RatingsFormat,
  rule: RewardRule,
  criterion: ExportCriterion = 'both',
): { rows: number; content: string; card: string } {
  const ratings = storedRatings(db, campaign.id);
  const rows = format === 'raw' ? rawRatings(ratings) : derivedRows(format, ratings, rule, criterion);
  return {
    rows: rows.length,
    content: rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : ''),
    card: datasetCard(campaign, ratings, format, rows.length, rule, criterion),
  };
}

export function exportRatings(
  db: Db,
  campaign: CampaignRow,
  format: RatingsFormat,
  path: string,
  rule: RewardRule,
  criterion: ExportCriterion = 'both',
): { path: string; rows: number; card: string | null } {
  existingFolder(path);
  const { rows, content, card } = ratingsContent(db, campaign, format, rule, criterion);
  writeFileSync(path, content);
  const cardPath = `${path.replace(/\.jsonl$/, '')}.card.md`;
  writeFileSync(cardPath, card);
  return { path, rows, card: cardPath };
}
