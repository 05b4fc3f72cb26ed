/**
 * The one table of training algorithms (../shared/docs/ALOL.md): what each is called, which family
 * it belongs to, what it reads, and which run settings (hyperparameters) it uses, each with its
 * default, range and line of help. Everything else is built from it: the contract's RunConfig
 * (algo enum, eps/beta/klBeta schemas, the refusal of a setting the algorithm does not use), the
 * losses' needs and default config, the run form and the CLI's `alol train` flags.
 *
 *   algorithms.a_lol.hyperparameters        // ['eps']
 *   loadsReference('a_lol_ref_free')         // true: its value head is fitted on pi_ref
 *   algorithms.a_lol_ref_free.referenceLogprobs // false: no pi_ref forward pass in its loss
 *   unusedHyperparameters({ algo: 'nll', eps: 0.5 }) // ['eps']
 *
 * Imports nothing but zod: it runs in main, preload, renderer and tests alike.
 */
import { z } from 'zod';

/** The run settings only some algorithms use. Other losses' constants (r_gold's floor 0.1) are not settings. */
export const hyperparameterNames = ['eps', 'beta', 'klBeta'] as const;
export type HyperparameterName = (typeof hyperparameterNames)[number];

/** One end of a range; null on the upper end: no upper bound. */
export interface Bound {
  value: number;
  inclusive: boolean;
}

export interface HyperparameterSpec {
  /** What it is, as a noun phrase for messages: "--eps is used by ... (the importance-weight clip)". */
  what: string;
  /** One line of help (the contract's .describe(), the form's hint, the CLI's help). */
  description: string;
  default: number;
  min: Bound;
  max: Bound | null;
}

export const hyperparameters: Readonly<Record<HyperparameterName, HyperparameterSpec>> = {
  eps: {
    what: 'the importance-weight clip',
    description:
      'importance-weight clip: each weight pi_theta/pi_ref is clamped, in log space, to [1-eps, 1+eps] (the reference code: 0.9, so [0.1, 1.9])',
    default: 0.9,
    // eps = 0 fixes every weight at 1; eps >= 1 would put log(1 - eps) at -Infinity or NaN.
    min: { value: 0, inclusive: true },
    max: { value: 1, inclusive: false },
  },
  beta: {
    what: "DPO's inverse temperature",
    description:
      "DPO's beta, the inverse temperature on the margin of log-ratios to the reference (the reference code and TRL: 0.1)",
    default: 0.1,
    min: { value: 0, inclusive: false },
    max: null,
  },
  // The --kl_beta the reference README documents for A-LoL KL (the script's own default, 0.0,
  // switches the penalty off). a_lol_kl's gradient is a_lol_ref_free's with every A+ lowered by
  // klBeta, so it is in reward units: 0.2 is a fifth of a [0, 1] reward range; use e.g. 1.0 for a
  // sum of five [0, 1] rewards.
  klBeta: {
    what: 'the weight of the KL term',
    description:
      'weight of the KL term klBeta * (l_theta - l_ref), in reward units: items with A+ below it are pushed down (the reference README: 0.2; scale it with the reward range)',
    default: 0.2,
    min: { value: 0, inclusive: true },
    max: null,
  },
};

/** The families, in the order the run form lists them. */
export const algorithmFamilies = ['behaviour cloning', 'reward-weighted', 'advantage-weighted', 'preference'] as const;
export type AlgorithmFamily = (typeof algorithmFamilies)[number];

export interface AlgorithmSpec {
  family: AlgorithmFamily;
  /** One line on what the loss does. */
  summary: string;
  /**
   * pi_ref's log-probs enter the loss: a forward pass of the frozen reference on every training
   * batch (importance weights, the KL term, DPO's margin).
   */
  referenceLogprobs: boolean;
  /**
   * A value head V(x) is fitted on the frozen reference before training (A = R - V(x)): pi_ref is
   * loaded for it, and decoded on held-out prompts unless the reward is the data's own. True
   * exactly for the advantage-weighted algorithms, a_lol_ref_free included.
   */
  valueHeadOnReference: boolean;
  /** What each item is weighted and sampled by: a reward R, an advantage A = R - V(x), or nothing (uniform). */
  signal: 'reward' | 'advantage' | null;
  /** Trains on preference pairs rather than single responses. */
  pairs: boolean;
  /** The run settings its loss reads; every other hyperparameter is refused for it. */
  hyperparameters: readonly HyperparameterName[];
}

/** ALOL.md's losses table, in its order. */
export const algorithms = {
  nll: {
    family: 'behaviour cloning',
    summary:
      'Behaviour cloning: maximises the likelihood of every response in the data, good or bad. Trains a reference policy.',
    referenceLogprobs: false,
    valueHeadOnReference: false,
    signal: null,
    pairs: false,
    hyperparameters: [],
  },
  wbc: {
    family: 'reward-weighted',
    summary: 'Weighted behaviour cloning: the likelihood of each response, scaled by its reward R.',
    referenceLogprobs: false,
    valueHeadOnReference: false,
    signal: 'reward',
    pairs: false,
    hyperparameters: [],
  },
  r_gold: {
    family: 'reward-weighted',
    summary:
      'GOLD-style: reward times each token’s own probability (floored at 0.1) times its negative log-likelihood.',
    referenceLogprobs: false,
    valueHeadOnReference: false,
    signal: 'reward',
    pairs: false,
    hyperparameters: [],
  },
  r_lol: {
    family: 'reward-weighted',
    summary: 'Reward-weighted with the clipped importance weight πθ(y|x) / πref(y|x) of the whole response.',
    referenceLogprobs: true,
    valueHeadOnReference: false,
    signal: 'reward',
    pairs: false,
    hyperparameters: ['eps'],
  },
  a_lol: {
    family: 'advantage-weighted',
    summary:
      'A-LoL: trains only on responses better than the reference would do (A = R − V(x) > 0), weighted by A and the clipped importance weight of the whole response.',
    referenceLogprobs: true,
    valueHeadOnReference: true,
    signal: 'advantage',
    pairs: false,
    hyperparameters: ['eps'],
  },
  a_lol_ref_free: {
    family: 'advantage-weighted',
    summary:
      'A-LoL without the importance weight: positive advantage times the negative log-likelihood (the reference serves only the value head).',
    referenceLogprobs: false,
    valueHeadOnReference: true,
    signal: 'advantage',
    pairs: false,
    hyperparameters: [],
  },
  a_lol_seq: {
    family: 'advantage-weighted',
    summary: 'A-LoL with a clipped importance weight per token instead of one per response.',
    referenceLogprobs: true,
    valueHeadOnReference: true,
    signal: 'advantage',
    pairs: false,
    hyperparameters: ['eps'],
  },
  a_lol_kl: {
    family: 'advantage-weighted',
    summary:
      'Reference-free A-LoL plus a KL penalty towards the reference: items whose advantage is below the KL beta are pushed down.',
    referenceLogprobs: true,
    valueHeadOnReference: true,
    signal: 'advantage',
    pairs: false,
    hyperparameters: ['klBeta'],
  },
  dpo: {
    family: 'preference',
    summary:
      'DPO on preference pairs: raises the chosen response’s log-ratio to the reference above the rejected one’s.',
    referenceLogprobs: true,
    valueHeadOnReference: false,
    signal: null,
    pairs: true,
    hyperparameters: ['beta'],
  },
} as const satisfies Record<string, AlgorithmSpec>;

export type AlgorithmName = keyof typeof algorithms;
/** The names, in the table's order (a tuple, for z.enum). */
export const algorithmNames = Object.keys(algorithms) as [AlgorithmName, ...AlgorithmName[]];

export function isAlgorithmName(name: unknown): name is AlgorithmName {
  return typeof name === 'string' && Object.hasOwn(algorithms, name);
}

/** The table's row, typed as the interface (the literal types of `algorithms` narrow too far to compare). */
export function algorithm(name: AlgorithmName): AlgorithmSpec {
  return algorithms[name];
}

/** Whether a run of it loads pi_ref at all: for log-probs in its loss, or to fit its value head on. */
export function loadsReference(name: AlgorithmName): boolean {
  const a = algorithm(name);
  return a.referenceLogprobs || a.valueHeadOnReference;
}

/** False for a name outside the table too (a raw input not yet refused for it). */
export function usesHyperparameter(name: AlgorithmName, key: HyperparameterName): boolean {
  return isAlgorithmName(name) && algorithm(name).hyperparameters.includes(key);
}

/** The algorithms that use a hyperparameter, in the table's order. */
export function algorithmsUsing(key: HyperparameterName): AlgorithmName[] {
  return algorithmNames.filter((name) => usesHyperparameter(name, key));
}

/** Every hyperparameter's default: what the losses fall back on. */
export const hyperparameterDefaults: Readonly<Record<HyperparameterName, number>> = {
  eps: hyperparameters.eps.default,
  beta: hyperparameters.beta.default,
  klBeta: hyperparameters.klBeta.default,
};

/** "in [0, 1)", "> 0", ">= 0": a hyperparameter's range, for help and messages ("eps must be in [0, 1)"). */
export function formatRange(key: HyperparameterName): string {
  const { min, max } = hyperparameters[key];
  if (max === null) return `${min.inclusive ? '>=' : '>'} ${min.value}`;
  return `in ${min.inclusive ? '[' : '('}${min.value}, ${max.value}${max.inclusive ? ']' : ')'}`;
}

export function inRange(key: HyperparameterName, value: number): boolean {
  const { min, max } = hyperparameters[key];
  if (!Number.isFinite(value)) return false;
  if (min.inclusive ? value < min.value : value <= min.value) return false;
  return max === null || (max.inclusive ? value <= max.value : value < max.value);
}

/**
 * The hyperparameters an input gives that its algorithm does not use (none while the algorithm is
 * not one of the table's: that is refused on its own). Read before any default is filled in.
 */
export function unusedHyperparameters(
  input: { algo: unknown } & Partial<Record<HyperparameterName, unknown>>,
): HyperparameterName[] {
  const { algo } = input;
  if (!isAlgorithmName(algo)) return [];
  return hyperparameterNames.filter((key) => input[key] !== undefined && !usesHyperparameter(algo, key));
}

/**
 * A hyperparameter's schema, from the table: its range and help. Optional, with no zod default:
 * RunConfig fills the default in only for the algorithms that use it (its JSON Schema still
 * shows the default, for the form and the CLI's help).
 */
export function hyperparameterSchema(key: HyperparameterName) {
  const { min, max, description } = hyperparameters[key];
  let schema = min.inclusive ? z.number().gte(min.value) : z.number().gt(min.value);
  if (max !== null) schema = max.inclusive ? schema.lte(max.value) : schema.lt(max.value);
  const users = algorithmsUsing(key).join(', ');
  return schema
    .optional()
    .describe(`${description}; used by ${users}, refused for the others`)
    .meta({ default: hyperparameters[key].default });
}

/**
 * Why a hyperparameter is refused for an algorithm, naming the ones that use it:
 * "eps is used by r_lol, a_lol, a_lol_seq (the importance-weight clip); nll does not use it".
 * `spelled` writes the setting's name as the caller's user types it ("--eps" on the command line).
 */
export function unusedHyperparameterMessage(
  name: AlgorithmName,
  key: HyperparameterName,
  spelled: string = key,
): string {
  return `${spelled} is used by ${algorithmsUsing(key).join(', ')} (${hyperparameters[key].what}); ${name} does not use it`;
}

/**
 * A stored config without the hyperparameters its algorithm does not use: runs recorded before
 * unused ones were refused carry every default (eps, beta and klBeta on an nll run).
 */
export function withoutUnusedHyperparameters<T extends { algo: AlgorithmName }>(config: T): T {
  const kept: Record<string, unknown> = { ...config };
  for (const key of hyperparameterNames) if (!usesHyperparameter(config.algo, key)) delete kept[key];
  return kept as T; // the same object less keys its type may only have as optional
}

/** "nll (behaviour cloning), wbc, r_gold, r_lol (reward-weighted), ...": every name, grouped by family. */
export function describeAlgorithms(names: readonly AlgorithmName[] = algorithmNames): string {
  return algorithmFamilies
    .map((family) => [names.filter((n) => algorithms[n].family === family), family] as const)
    .filter(([members]) => members.length > 0)
    .map(([members, family]) => `${members.join(', ')} (${family})`)
    .join(', ');
}
