/**
 * The item browser's part of the contract (campaigns.browse, owner only): a campaign's items with
 * every rating given on them (rationale and flag note included), filtered and paged. Systems are
 * named here: this is what administrators see, never an annotator.
 */
import { z } from 'zod';
import { Criterion, FlagReason, Strength, Verdict } from './rating';

/** An outcome of the pair's first-named system (systems[0]) on a criterion; 'tie' is both good or both bad. */
export const itemOutcomes = ['a', 'b', 'tie', 'both_good', 'both_bad'] as const;
export const ItemOutcome = z.enum(itemOutcomes);
export type ItemOutcome = z.infer<typeof ItemOutcome>;

/** Every filter is optional; those given must all hold (AND). */
export const ItemFilter = z
  .object({
    /** Someone flagged the item. */
    flagged: z.boolean().optional(),
    /** Someone skipped the item. */
    skipped: z.boolean().optional(),
    /** Its annotators disagree: on one criterion, or on either ('any'). Pair items with two or more first ratings. */
    disagreement: z.union([Criterion, z.literal('any')]).optional(),
    /** Rated (or skipped) by this annotator, by name; with flagged or skipped, the items they flagged or skipped. */
    annotator: z.string().min(1).max(100).optional(),
    /** Items comparing these systems: one (on either side), or two (in either order). */
    systems: z.array(z.string().min(1).max(200)).min(1).max(2).optional(),
    /** Items with a rating counted in the results where systems[0] had this outcome on the criterion. */
    outcome: z.object({ criterion: Criterion, result: ItemOutcome }).strict().optional(),
    kind: z.enum(['pair', 'gold']).optional(),
  })
  .strict();
export type ItemFilter = z.infer<typeof ItemFilter>;

export const BrowseRequest = z
  .object({
    campaign: z.string().min(1).max(100),
    offset: z.number().int().nonnegative().default(0),
    limit: z.number().int().min(1).max(10_000).default(50),
  })
  .extend(ItemFilter.shape)
  .strict()
  .refine(
    (r) =>
      r.outcome === undefined ||
      r.systems?.length === 2 ||
      r.outcome.result === 'tie' ||
      r.outcome.result === 'both_good' ||
      r.outcome.result === 'both_bad',
    {
      message: "an outcome of 'a' or 'b' needs the two systems it is between",
      path: ['outcome'],
    },
  );
export type BrowseRequest = z.infer<typeof BrowseRequest>;

/** One rating as given, verdicts relative to the item's first and second system. */
export const BrowsedRating = z.object({
  assignmentId: z.number().int().positive(),
  annotator: z.string(),
  /** A swapped repeat (a self-consistency check), not a first rating. */
  repeat: z.boolean(),
  /** The first system was shown on the right. */
  swapped: z.boolean(),
  helpful: Verdict.nullable(),
  safe: Verdict.nullable(),
  helpfulStrength: Strength.nullable(),
  safeStrength: Strength.nullable(),
  rationale: z.string(),
  flag: FlagReason.nullable(),
  flagNote: z.string(),
  skipped: z.boolean(),
  /** Counted in the results: a first rating of a pair item, answered, not flagged. */
  counted: z.boolean(),
  updatedAt: z.string(),
});
export type BrowsedRating = z.infer<typeof BrowsedRating>;

export const BrowsedItem = z.object({
  id: z.number().int().positive(),
  kind: z.enum(['pair', 'gold']),
  prompt: z.string(),
  first: z.object({ system: z.string(), response: z.string() }),
  second: z.object({ system: z.string(), response: z.string() }),
  /** A gold item's accepted answers per criterion; null where nothing is known. */
  goldHelpful: z.array(Verdict).nullable(),
  goldSafe: z.array(Verdict).nullable(),
  /** In a relabelling campaign: which response is the dataset's chosen one. */
  datasetChosen: z.enum(['first', 'second']).nullable(),
  /** Every rating of the item, oldest first. */
  given: z.array(BrowsedRating),
  /** The criteria its annotators' first ratings disagree on. */
  disagree: z.array(Criterion),
});
export type BrowsedItem = z.infer<typeof BrowsedItem>;

export const BrowsePage = z.object({
  total: z.number().int().nonnegative(),
  offset: z.number().int().nonnegative(),
  rows: z.array(BrowsedItem),
});
export type BrowsePage = z.infer<typeof BrowsePage>;
