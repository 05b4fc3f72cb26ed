/**
 * The human-rating part of the contract: campaigns of blinded pairwise comparisons, annotators,
 * and the ratings they give. What an annotator's screen receives (RatingItem) carries no model
 * name or id and no canonical order: only the prompt and the two texts as shown, left and right.
 */
import { z } from 'zod';
import { PromptFormat } from './promptFormat';

const id = z.number().int().positive();

/** A verdict as stored: relative to the item's canonical first and second responses. */
export const verdicts = ['first', 'second', 'both_good', 'both_bad'] as const;
export const Verdict = z.enum(verdicts);
export type Verdict = z.infer<typeof Verdict>;

/** A verdict as the annotator gave it: relative to what was on screen. */
export const shownVerdicts = ['left', 'right', 'both_good', 'both_bad'] as const;
export const ShownVerdict = z.enum(shownVerdicts);
export type ShownVerdict = z.infer<typeof ShownVerdict>;

export const Strength = z.enum(['slight', 'clear', 'strong']);
export type Strength = z.infer<typeof Strength>;
export const FlagReason = z.enum(['broken', 'truncated', 'other']);
export type FlagReason = z.infer<typeof FlagReason>;

export const criteria = ['helpful', 'safe'] as const;
export const Criterion = z.enum(criteria);
export type Criterion = z.infer<typeof Criterion>;

export const CampaignOptions = z
  .object({
    /** Distinct prompts per pair of systems; every pair of systems is compared on the same prompts. */
    n: z.number().int().min(1).max(100_000).describe('items per pair of systems (distinct prompts)'),
    overlap: z.number().int().min(1).max(50).default(1).describe('annotators per item'),
    gold: z
      .number()
      .int()
      .min(0)
      .max(1000)
      .default(0)
      .describe('gold items: a response against one to another prompt; every annotator sees each'),
    repeatSwapped: z
      .number()
      .min(0)
      .max(1)
      .default(0)
      .describe("share of an annotator's items shown again later with sides swapped"),
    seed: z.number().int().nonnegative().default(0).describe('seed of prompt choice, item order and sides'),
  })
  .strict();
export type CampaignOptions = z.infer<typeof CampaignOptions>;

export const CampaignStatus = z.enum(['preparing', 'ready', 'failed']);

export const AnnotatorProgress = z.object({
  id,
  name: z.string(),
  /** This annotator's queue, as their Rate screen shows it (RatingProgress.mine): decisions made, and what is left for them. */
  done: z.number().int().nonnegative(),
  remaining: z.number().int().nonnegative(),
  flagged: z.number().int().nonnegative(),
  /** Skips, those still to come back included. */
  skipped: z.number().int().nonnegative(),
  medianActiveMs: z.number().nonnegative().nullable(),
  hasLink: z.boolean(),
});

export const CampaignSummary = z.object({
  id,
  name: z.string(),
  status: CampaignStatus,
  /** 'systems' compares systems on prompts; 'pairs' relabels a dataset's own preference pairs. */
  kind: z.enum(['systems', 'pairs']),
  systems: z.array(z.string()),
  prompts: z.object({ dataset: z.string(), version: z.number().int().positive(), split: z.string().nullable() }),
  options: CampaignOptions,
  /** The prompt format its models were sampled with; null: each model's own default (chat where it has a chat template). */
  format: PromptFormat.nullable(),
  guidelinesVersion: z.string(),
  items: z.number().int().nonnegative(),
  goldItems: z.number().int().nonnegative(),
  /** Ratings wanted: pair items x overlap (gold items and repeats come on top). */
  target: z.number().int().nonnegative(),
  /** Pair-item ratings given so far (not skipped, not repeats), at most target. */
  done: z.number().int().nonnegative(),
  ratings: z.number().int().nonnegative(),
  revealing: z.number().int().nonnegative(),
  annotators: z.array(AnnotatorProgress),
  jobId: id.nullable(),
  error: z.string().nullable(),
  createdAt: z.string(),
});
export type CampaignSummary = z.infer<typeof CampaignSummary>;

/** An item as administrators and scripts see it: with its systems (never sent to an annotator). */
export const CampaignItem = z.object({
  id,
  kind: z.enum(['pair', 'gold']),
  prompt: z.string(),
  first: z.object({ system: z.string(), sampleId: id, response: z.string() }),
  second: z.object({ system: z.string(), sampleId: id, response: z.string() }),
  /** A gold item's accepted answers per criterion (any of them is right); null where nothing is known. */
  goldHelpful: z.array(Verdict).nullable(),
  goldSafe: z.array(Verdict).nullable(),
  /** In a relabelling campaign: which response is the dataset's chosen one. */
  datasetChosen: z.enum(['first', 'second']).nullable(),
  /** A response names its system (a model name appears in its text): blinding is broken there. */
  reveals: z.boolean(),
  ratings: z.number().int().nonnegative(),
});
export type CampaignItem = z.infer<typeof CampaignItem>;

export const ShownRating = z.object({
  helpful: ShownVerdict.nullable(),
  safe: ShownVerdict.nullable(),
  helpfulStrength: Strength.nullable(),
  safeStrength: Strength.nullable(),
  rationale: z.string(),
  flag: FlagReason.nullable(),
  flagNote: z.string(),
  skipped: z.boolean(),
});
export type ShownRating = z.infer<typeof ShownRating>;

/** What the rating screen shows: blinded, sides already chosen for this annotator. */
export const RatingItem = z.object({
  assignmentId: id,
  prompt: z.string(),
  left: z.string(),
  right: z.string(),
  /** The rating given, for items reopened from the last decisions. */
  rating: ShownRating.nullable(),
});
export type RatingItem = z.infer<typeof RatingItem>;

export const RatingProgress = z.object({
  /**
   * This annotator: decisions made (answers, flags, final skips; gold items and repeats included),
   * and what the queue will still serve them (swapped repeats and skips that come back included):
   * done + remaining never grows while they work, and remaining is 0 exactly when next has no item.
   */
  mine: z.object({ done: z.number().int().nonnegative(), remaining: z.number().int().nonnegative() }),
  /** The campaign: pair-item ratings given and wanted. */
  campaign: z.object({ done: z.number().int().nonnegative(), target: z.number().int().nonnegative() }),
  /** Median active time per item, and the time left for this annotator's queue at that pace. */
  medianActiveMs: z.number().nonnegative().nullable(),
  etaMs: z.number().nonnegative().nullable(),
});
export type RatingProgress = z.infer<typeof RatingProgress>;

/**
 * Who rates: the desktop user names the annotator; an annotator's HTTP token fixes both fields
 * (the server fills them in, and refuses a request that names anyone else).
 */
const who = { campaign: z.string().min(1).max(100), annotator: id };

export const RatingSubmit = z
  .object({
    ...who,
    assignmentId: id,
    helpful: ShownVerdict.optional(),
    safe: ShownVerdict.optional(),
    helpfulStrength: Strength.optional(),
    safeStrength: Strength.optional(),
    rationale: z.string().max(10_000).default(''),
    flag: FlagReason.optional(),
    flagNote: z.string().max(2_000).default(''),
    skip: z.boolean().default(false),
    /** Time the item was on screen with the window visible and the annotator active. */
    activeMs: z
      .number()
      .int()
      .min(0)
      .max(24 * 3600 * 1000),
    /**
     * Made once per answer by the page and sent again with it until an answer comes back: the server
     * stores the answer once under this key (per annotator) and answers a repeat as it did the
     * first; the same key with other content is refused (conflict).
     */
    idempotencyKey: z
      .string()
      .regex(/^[A-Za-z0-9_-]{16,64}$/, 'an idempotency key is 16 to 64 letters, digits, - or _')
      .optional(),
  })
  .strict()
  .refine((r) => r.skip || r.flag !== undefined || (r.helpful !== undefined && r.safe !== undefined), {
    message: 'answer both questions, flag the item, or skip it',
  })
  .refine((r) => !r.skip || (r.helpful === undefined && r.safe === undefined), {
    message: 'a skipped item has no answers',
  });
export type RatingSubmit = z.infer<typeof RatingSubmit>;

export const RatingSession = z.object({
  campaign: z.string(),
  annotator: z.object({ id, name: z.string() }),
  guidelines: z.string(),
  guidelinesVersion: z.string(),
  progress: RatingProgress,
});

const Interval = z.object({ estimate: z.number().nullable(), low: z.number().nullable(), high: z.number().nullable() });
export const AgreementSummary = z.object({
  criterion: Criterion,
  /** Items with two or more annotators. */
  items: z.number().int().nonnegative(),
  raw: Interval,
  cohen: Interval,
  fleiss: Interval,
  alpha: Interval,
  annotators: z.array(
    z.object({
      annotator: z.string(),
      n: z.number().int().nonnegative(),
      agreement: z.number().nullable(),
      goldAccuracy: z.number().nullable(),
      selfConsistency: z.number().nullable(),
      positionBias: z.number().nullable(),
    }),
  ),
});
export type AgreementSummary = z.infer<typeof AgreementSummary>;

/**
 * How often annotators agree with a dataset's own label (relabelling campaigns), per criterion:
 * over decisive answers (one response picked), the share that picked the dataset's chosen one,
 * with its Wilson 95% interval. Ties are no vote for either side: both good and both bad are
 * counted apart, as are skipped and flagged ratings (left out). First ratings of pair items only.
 */
export const DatasetAgreement = z.object({
  criterion: Criterion,
  /** Answers that picked a response; agreed of them picked the dataset's chosen. */
  decisive: z.number().int().nonnegative(),
  agreed: z.number().int().nonnegative(),
  bothGood: z.number().int().nonnegative(),
  bothBad: z.number().int().nonnegative(),
  /** agreed / decisive; all null without a decisive answer. */
  estimate: z.number().nullable(),
  low: z.number().nullable(),
  high: z.number().nullable(),
});
export type DatasetAgreement = z.infer<typeof DatasetAgreement>;

export const rewardRules = [
  'absolute',
  'absolute-safety-gates',
  'weighted',
  'safety-gates',
  'both-bad-excluded',
] as const;
/** How ratings become rewards: see src/main/rating/rewardRules.ts. */
export const RewardRule = z
  .object({
    rule: z.enum(rewardRules).default('absolute'),
    helpfulWeight: z.number().min(0).max(1).default(0.5),
  })
  .strict();
export type RewardRule = z.infer<typeof RewardRule>;

export const ratingMethods = {
  'rating.session': { input: z.object(who).strict(), output: RatingSession },
  'rating.next': {
    input: z.object(who).strict(),
    output: z.object({ item: RatingItem.nullable(), progress: RatingProgress }),
  },
  'rating.submit': { input: RatingSubmit, output: z.object({ next: RatingItem.nullable(), progress: RatingProgress }) },
  'rating.undo': {
    input: z.object(who).strict(),
    output: z.object({ item: RatingItem.nullable(), progress: RatingProgress }),
  },
  'rating.recent': {
    input: z.object({ ...who, limit: z.number().int().min(1).max(10).default(10) }).strict(),
    output: z.array(RatingItem),
  },
  'rating.open': {
    input: z.object({ ...who, assignmentId: id }).strict(),
    output: RatingItem,
  },
} as const;

/** The only methods an annotator's token reaches. */
export const annotatorMethodNames = Object.keys(ratingMethods) as (keyof typeof ratingMethods)[];
