/** The losses' hyperparameters, with the paper's defaults (ALOL.md) and where each comes from. */

export interface LossConfig {
  /** Importance-weight clip: w = exp(clamp(log-ratio, log(1 - eps), log(1 + eps))); in [0, 1). Paper: 0.9, so w in [0.1, 1.9]. */
  eps: number;
  /** DPO's beta, the inverse temperature on the log-ratio margin. Paper, reference code and TRL: 0.1. */
  beta: number;
  /**
   * a_lol_kl's weight on the sequence log-ratio l_theta - l_ref. Default 0.2: the --kl_beta the
   * reference README documents for A-LoL KL (the script's own default, 0.0, switches the penalty
   * off). The gradient is a_lol_ref_free's with every A+ lowered by klBeta, so klBeta is in reward
   * units: 0.2 is a fifth of a [0, 1] reward range, and every item with A+ < 0.2 is pushed down
   * rather than up. Scale it with the reward range (e.g. 1.0 for a sum of five [0, 1] rewards).
   */
  klBeta: number;
  /** r_gold's floor u on the per-token weight max(p_t, u). GOLD and the reference code: 0.1. */
  goldFloor: number;
}

export const defaultLossConfig: Readonly<LossConfig> = { eps: 0.9, beta: 0.1, klBeta: 0.2, goldFloor: 0.1 };

/** Defaults for whatever the caller left out (an explicit undefined counts as left out). */
export function lossConfig(config: Partial<LossConfig> = {}): LossConfig {
  return {
    eps: config.eps ?? defaultLossConfig.eps,
    beta: config.beta ?? defaultLossConfig.beta,
    klBeta: config.klBeta ?? defaultLossConfig.klBeta,
    goldFloor: config.goldFloor ?? defaultLossConfig.goldFloor,
  };
}
