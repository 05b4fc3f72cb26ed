/**
 * What each training algorithm of ../shared/docs/ALOL.md does, in a line, and what it reads: the
 * run form shows a field only to the algorithms that use it. A Record over the contract's Algo, so
 * an algorithm added there fails the type check until it has words here.
 */
import type { Algo } from '../../../../shared/contract';

/** The families, in the order the form lists them. */
export const algoFamilies = ['cloning', 'reward', 'advantage', 'preference'] as const;
export type AlgoFamily = (typeof algoFamilies)[number];

export interface AlgoInfo {
  family: AlgoFamily;
  /** One line on what the loss does. */
  summary: string;
  /** What each item is weighted and sampled by: a reward R, an advantage A = R − V(x), or nothing. */
  signal: 'reward' | 'advantage' | null;
  /** Runs the frozen reference policy (for importance weights, KL, DPO, or the value head). */
  reference: boolean;
  /** Trains on preference pairs rather than single responses. */
  pairs: boolean;
  /** Clips an importance weight to [1 − ε, 1 + ε]. */
  clip: boolean;
}

export const algoInfo: Record<Algo, AlgoInfo> = {
  nll: {
    family: 'cloning',
    summary: 'Behaviour cloning: maximises the likelihood of every response in the data, good or bad. Trains a reference policy.',
    signal: null,
    reference: false,
    pairs: false,
    clip: false,
  },
  wbc: {
    family: 'reward',
    summary: 'Weighted behaviour cloning: the likelihood of each response, scaled by its reward R.',
    signal: 'reward',
    reference: false,
    pairs: false,
    clip: false,
  },
  r_gold: {
    family: 'reward',
    summary: 'GOLD-style: reward times each token’s own probability (floored at 0.1) times its negative log-likelihood.',
    signal: 'reward',
    reference: false,
    pairs: false,
    clip: false,
  },
  r_lol: {
    family: 'reward',
    summary: 'Reward-weighted with the clipped importance weight πθ(y|x) / πref(y|x) of the whole response.',
    signal: 'reward',
    reference: true,
    pairs: false,
    clip: true,
  },
  a_lol: {
    family: 'advantage',
    summary:
      'A-LoL: trains only on responses better than the reference would do (A = R − V(x) > 0), weighted by A and the clipped importance weight of the whole response.',
    signal: 'advantage',
    reference: true,
    pairs: false,
    clip: true,
  },
  a_lol_ref_free: {
    family: 'advantage',
    summary: 'A-LoL without the importance weight: positive advantage times the negative log-likelihood.',
    signal: 'advantage',
    reference: true,
    pairs: false,
    clip: false,
  },
  a_lol_seq: {
    family: 'advantage',
    summary: 'A-LoL with a clipped importance weight per token instead of one per response.',
    signal: 'advantage',
    reference: true,
    pairs: false,
    clip: true,
  },
  a_lol_kl: {
    family: 'advantage',
    summary: 'Reference-free A-LoL plus a KL penalty towards the reference: items whose advantage is below the KL beta are pushed down.',
    signal: 'advantage',
    reference: true,
    pairs: false,
    clip: false,
  },
  dpo: {
    family: 'preference',
    summary: 'DPO on preference pairs: raises the chosen response’s log-ratio to the reference above the rejected one’s.',
    signal: null,
    reference: true,
    pairs: true,
    clip: false,
  },
};

export const familyLabels: Record<AlgoFamily, string> = {
  cloning: 'Behaviour cloning',
  reward: 'Reward-weighted baselines',
  advantage: 'A-LoL (advantage-weighted)',
  preference: 'Preference pairs',
};
