/**
 * What the Results screen and `alol report` show: for one campaign (or every campaign pooled), per
 * criterion the win/tie/loss (and both-good, both-bad) of every pair of systems and a Bradley-Terry
 * leaderboard, their intervals from one bootstrap over rated items, ranks following the pairs' intervals; the annotators' agreement;
 * per model the reward distributions, diversity and length of its sampled responses; and the
 * training curves of the runs that made the models. Computed in src/main/report/results.ts.
 */
import { z } from 'zod';
import { AgreementSummary, Criterion, DatasetAgreement } from './rating';

const count = z.number().int().nonnegative();

export const ResultsRequest = z
  .object({
    /** One campaign by name; every campaign pooled when left out. */
    campaign: z.string().min(1).max(100).optional(),
    /** Seed and replicates of the bootstraps (leaderboard and agreement intervals). */
    seed: z.number().int().nonnegative().default(0),
    reps: z.number().int().min(1).max(10_000).default(500),
  })
  .strict();
export type ResultsRequest = z.infer<typeof ResultsRequest>;

/** An estimate with its 95% interval; all null when there is nothing to estimate from. */
export const RateInterval = z.object({
  estimate: z.number().nullable(),
  low: z.number().nullable(),
  high: z.number().nullable(),
});
export type RateInterval = z.infer<typeof RateInterval>;

/** The one rule the win rates and the leaderboard share, in the words the Results screen, the report and the README use. */
export const SEPARATION_RULE =
  'Two systems are separable when their win rate’s 95% interval excludes 50%; a system ranks below another only then. Both tables come from the same bootstrap over rated items.';

/** System a against system b on one criterion: a's wins, ties and losses, and a's win rate (a tie is half a win). */
export const PairResult = z.object({
  a: z.string(),
  b: z.string(),
  wins: count,
  ties: count,
  losses: count,
  /** The ties split by verdict: both responses good, both bad (bothGood + bothBad = ties). */
  bothGood: count,
  bothBad: count,
  n: count,
  /** (wins + ties / 2) / n; null when the two never met. */
  winRate: z.number().nullable(),
  /** bothGood / n and bothBad / n; null when the two never met. */
  bothGoodRate: z.number().nullable(),
  bothBadRate: z.number().nullable(),
  /** 95% percentile bootstrap interval of winRate over rated items: the same replicates as the leaderboard's intervals. */
  ci: RateInterval,
  /** The interval excludes 0.5: the system it puts ahead; null when the pair is not separable. */
  ahead: z.string().nullable(),
});
export type PairResult = z.infer<typeof PairResult>;

/** One system's Bradley-Terry score (Elo-like: the average system at 1000, +400 = 10:1 odds). */
export const LeaderboardRow = z.object({
  system: z.string(),
  /** Geometric mean over the systems ranked is 1. */
  strength: z.number(),
  score: z.number(),
  /** Percentile bootstrap 95% interval of the score. */
  low: z.number(),
  high: z.number(),
  /** 1 + the systems ahead of this one on a separable pair (its win-rate interval excludes 0.5): others share a rank. */
  rank: z.number().int().positive(),
  /** The systems whose pair with this one is not separable (win-rate interval contains 0.5, or they never met). */
  notSeparableFrom: z.array(z.string()),
  /** Comparisons this system was in. */
  games: count,
});
export type LeaderboardRow = z.infer<typeof LeaderboardRow>;

export const CriterionResults = z.object({
  criterion: Criterion,
  /** Comparisons counted: answered first ratings of pair items, not flagged or skipped. */
  comparisons: count,
  /** Every pair of systems once, a before b in the order of `systems`. */
  pairs: z.array(PairResult),
  /** Best first; only systems with at least one comparison. Empty when there is none. */
  leaderboard: z.array(LeaderboardRow),
  /** Some group of systems won or lost every game against the rest (or never met it): scores were shrunk towards the average. */
  regularised: z.boolean(),
});
export type CriterionResults = z.infer<typeof CriterionResults>;

export const HistogramBin = z.object({ low: z.number(), high: z.number(), count });

/** One reward over a model's samples; bins share their edges across the models of the results, so they compare. */
export const RewardDistribution = z.object({
  name: z.string(),
  n: count,
  mean: z.number().nullable(),
  /** Sample sd (n - 1); null for fewer than two values. */
  sd: z.number().nullable(),
  bins: z.array(HistogramBin),
});
export type RewardDistribution = z.infer<typeof RewardDistribution>;

/** A model's sampled responses (every sample of it in the project), summarised. */
export const ModelResults = z.object({
  model: z.string(),
  samples: count,
  rewards: z.array(RewardDistribution),
  /** Corpus-level distinct-n over all its responses (lower-cased whitespace tokens); 0 with no n-gram. */
  distinct1: z.number(),
  distinct2: z.number(),
  distinct3: z.number(),
  /** Whitespace-separated words per response; null with no samples. */
  meanLength: z.number().nullable(),
  sdLength: z.number().nullable(),
});
export type ModelResults = z.infer<typeof ModelResults>;

/** One metric of a run over its steps; long runs are averaged over consecutive steps down to a few hundred points. */
export const CurveSeries = z.object({
  name: z.string(),
  steps: z.array(z.number().int()),
  values: z.array(z.number()),
});
export type CurveSeries = z.infer<typeof CurveSeries>;

export const RunCurves = z.object({
  runId: z.number().int().positive(),
  algo: z.string(),
  outModel: z.string(),
  status: z.string(),
  step: count,
  totalSteps: count.nullable(),
  /** loss first, then every other metric the run logged (speeds aside), by name. */
  metrics: z.array(CurveSeries),
});
export type RunCurves = z.infer<typeof RunCurves>;

export const Results = z.object({
  /** The campaign asked for, or null for every campaign pooled; the campaigns counted. */
  campaign: z.string().nullable(),
  campaigns: z.array(z.string()),
  /** The systems compared, in campaign order. */
  systems: z.array(z.string()),
  seed: count,
  reps: z.number().int().positive(),
  criteria: z.array(CriterionResults),
  /** Agreement per campaign (items and annotators belong to one campaign). */
  agreement: z.array(z.object({ campaign: z.string(), criteria: z.array(AgreementSummary) })),
  /** Relabelling campaigns: how often annotators agree with the dataset's own chosen response. */
  /** Relabelling campaigns: agreement with the dataset's label, and the two systems standing for its chosen and rejected responses. */
  datasetAgreement: z.array(
    z.object({
      campaign: z.string(),
      dataset: z.string(),
      systems: z.tuple([z.string(), z.string()]),
      criteria: z.array(DatasetAgreement),
    }),
  ),
  /** The systems, and (for every campaign pooled) every other model with samples. */
  models: z.array(ModelResults),
  /** The runs that trained these models (every run, for every campaign pooled) that logged metrics. */
  runs: z.array(RunCurves),
});
export type Results = z.infer<typeof Results>;
