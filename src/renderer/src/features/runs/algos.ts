/**
 * The run form's view of the algorithm table (../../../../shared/algorithms.ts): what each
 * algorithm does and reads comes from there; only the families' headings are the form's words.
 */
import { algorithmFamilies, algorithms, type AlgorithmFamily, type AlgorithmSpec } from '../../../../shared/algorithms';
import type { Algo } from '../../../../shared/contract';

/** The families, in the order the form lists them. */
export const algoFamilies = algorithmFamilies;
export type AlgoFamily = AlgorithmFamily;

export type AlgoInfo = AlgorithmSpec;
export const algoInfo: Readonly<Record<Algo, AlgoInfo>> = algorithms;

/** A Record over the table's families, so a family added there fails the type check until it has a heading here. */
export const familyLabels: Record<AlgoFamily, string> = {
  'behaviour cloning': 'Behaviour cloning',
  'reward-weighted': 'Reward-weighted baselines',
  'advantage-weighted': 'A-LoL (advantage-weighted)',
  preference: 'Preference pairs',
};
