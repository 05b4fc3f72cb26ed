/**
 * The losses' hyperparameters. eps, beta and klBeta are run settings: their defaults, ranges and
 * help are the algorithm table's (../../../shared/algorithms.ts), where each default's source is
 * given. goldFloor is r_gold's constant, not a setting.
 */
import { hyperparameterDefaults } from '../../../shared/algorithms';

/** r_gold's floor u on the per-token weight max(p_t, u). GOLD and the reference code: 0.1. */
export const GOLD_FLOOR = 0.1;

export interface LossConfig {
  /** The importance-weight clip: w = exp(clamp(log-ratio, log(1 - eps), log(1 + eps))). */
  eps: number;
  /** DPO's beta, the inverse temperature on the log-ratio margin. */
  beta: number;
  /** a_lol_kl's weight on the sequence log-ratio l_theta - l_ref, in reward units. */
  klBeta: number;
  /** r_gold's floor u on the per-token weight max(p_t, u). */
  goldFloor: number;
}

export const defaultLossConfig: Readonly<LossConfig> = { ...hyperparameterDefaults, goldFloor: GOLD_FLOOR };

/** Defaults for whatever the caller left out (an explicit undefined counts as left out). */
export function lossConfig(config: Partial<LossConfig> = {}): LossConfig {
  return {
    eps: config.eps ?? defaultLossConfig.eps,
    beta: config.beta ?? defaultLossConfig.beta,
    klBeta: config.klBeta ?? defaultLossConfig.klBeta,
    goldFloor: config.goldFloor ?? defaultLossConfig.goldFloor,
  };
}
