/**
 * What a retrain would do and stand on, before it starts (campaigns.retrainPlan; the same checks
 * campaigns.retrain makes): the names it would create, the evidence in the campaign's ratings
 * against the minimums, what falls short (a refusal unless forced) and what only warrants a warning.
 */
import { z } from 'zod';

const count = z.number().int().nonnegative();

/** The least evidence a retrain stands on (src/main/rating/retrain.ts holds the figures). */
export const RetrainMinimums = z.object({
  /** Annotators on one item: agreement needs some items rated by at least this many. */
  annotatorsPerItem: count,
  /** Rated pair items (answered first ratings, not flagged, counted as evidence). */
  ratedPairs: count,
  /** Held-out rows the value head is fitted to (A-LoL variants). */
  heldOutTargets: count,
});
export type RetrainMinimums = z.infer<typeof RetrainMinimums>;

export const RetrainPlan = z.object({
  campaign: z.string(),
  /** The reference policy and starting point. */
  ref: z.string(),
  /** The new model, the rewards dataset and the follow-up campaign, by the names they will have. */
  model: z.string(),
  dataset: z.string(),
  nextCampaign: z.string(),
  /** Who the follow-up keeps: each is added to it, and their personal links move with them. */
  annotators: z.array(z.string()),
  evidence: z.object({
    ratedPairs: count,
    /** Items rated by at least minimums.annotatorsPerItem annotators, and the most annotators on one item. */
    overlapItems: count,
    mostAnnotatorsPerItem: count,
    /** The fewest held-out rows the value head can get; null when the algorithm fits no value head. */
    heldOutTargets: count.nullable(),
    /** Krippendorff's alpha per criterion; null where no item has two annotators. */
    alpha: z.object({ helpful: z.number().nullable(), safe: z.number().nullable() }),
  }),
  minimums: RetrainMinimums,
  /** Each minimum not met, with its number: the retrain refuses unless forced. */
  shortfalls: z.array(z.string()),
  /** Worth knowing, not a refusal (agreement below the alpha threshold). */
  warnings: z.array(z.string()),
});
export type RetrainPlan = z.infer<typeof RetrainPlan>;
