/**
 * The training losses of ALOL.md's table, one file each, and the switch a trainer picks one with.
 * Every loss is a mean over the batch of per-item losses, each a SUM over response tokens (never
 * length-normalised). Importance weights are detached and clamped in log space.
 *
 *   const lp = tokenLogprobs(policy, batch);     // (B, T-1), with gradient
 *   const lpRef = tokenLogprobs(reference, batch); // (B, T-1), a constant
 *   // lp[b, t] scores token t+1, so its mask is the response mask shifted left by one.
 *   const mask = tf.slice(tf.tensor2d(batch.responseMask, [B, T]), [0, 1], [B, T - 1]);
 *   const { loss, metrics } = computeLoss('a_lol', { lp, mask, lpRef, advantage }, { eps: 0.9 });
 *   // loss: a differentiable tf.Scalar; metrics: { loss: 2.31, 'alol/weight_mean': 1.02, ... }
 */
import { a_lol } from './aLol';
import { a_lol_kl } from './aLolKl';
import { a_lol_ref_free } from './aLolRefFree';
import { a_lol_seq } from './aLolSeq';
import { lossConfig, type LossConfig } from './config';
import { dpo } from './dpo';
import { nll } from './nll';
import { r_gold } from './rGold';
import { r_lol } from './rLol';
import type { LossInputs, LossResult } from './types';
import { wbc } from './wbc';

export { a_lol, a_lol_kl, a_lol_ref_free, a_lol_seq, dpo, nll, r_gold, r_lol, wbc };
export { defaultLossConfig, lossConfig, type LossConfig } from './config';
export type { LossInputs, LossResult, PairLogps, TokenLogps, WithAdvantage, WithReference, WithReward } from './types';

export const lossNames = ['nll', 'wbc', 'r_gold', 'r_lol', 'a_lol', 'a_lol_ref_free', 'a_lol_seq', 'a_lol_kl', 'dpo'] as const;
export type LossName = (typeof lossNames)[number];

/** What a loss reads, so the trainer knows whether to run pi_ref and what to sample by. */
export interface LossNeeds {
  /** Per-token reference log-probs (a forward pass of pi_ref per batch). */
  reference: boolean;
  /** The per-item signal, which is also what ALOL.md samples in proportion to. */
  signal: 'reward' | 'advantage' | null;
  /** Preference pairs instead of single responses. */
  pairs: boolean;
}

export function lossNeeds(name: LossName): LossNeeds {
  switch (name) {
    case 'nll':
      return { reference: false, signal: null, pairs: false };
    case 'wbc':
    case 'r_gold':
      return { reference: false, signal: 'reward', pairs: false };
    case 'r_lol':
      return { reference: true, signal: 'reward', pairs: false };
    case 'a_lol_ref_free':
      return { reference: false, signal: 'advantage', pairs: false };
    case 'a_lol':
    case 'a_lol_seq':
    case 'a_lol_kl':
      return { reference: true, signal: 'advantage', pairs: false };
    case 'dpo':
      return { reference: true, signal: null, pairs: true };
    default:
      return unknownLoss(name);
  }
}

export function computeLoss(name: LossName, inputs: LossInputs, config: Partial<LossConfig> = {}): LossResult {
  const c = lossConfig(config);
  const get = <K extends keyof LossInputs>(key: K): NonNullable<LossInputs[K]> => {
    const value = inputs[key];
    if (value === undefined || value === null) throw new Error(`${name}: missing input "${key}"`);
    return value as NonNullable<LossInputs[K]>; // checked just above; TS does not narrow an indexed access
  };
  switch (name) {
    case 'nll':
      return nll({ lp: get('lp'), mask: get('mask') });
    case 'wbc':
      return wbc({ lp: get('lp'), mask: get('mask'), reward: get('reward') });
    case 'r_gold':
      return r_gold({ lp: get('lp'), mask: get('mask'), reward: get('reward') }, c);
    case 'r_lol':
      return r_lol({ lp: get('lp'), mask: get('mask'), lpRef: get('lpRef'), reward: get('reward') }, c);
    case 'a_lol':
      return a_lol({ lp: get('lp'), mask: get('mask'), lpRef: get('lpRef'), advantage: get('advantage') }, c);
    case 'a_lol_ref_free':
      return a_lol_ref_free({ lp: get('lp'), mask: get('mask'), advantage: get('advantage') });
    case 'a_lol_seq':
      return a_lol_seq({ lp: get('lp'), mask: get('mask'), lpRef: get('lpRef'), advantage: get('advantage') }, c);
    case 'a_lol_kl':
      return a_lol_kl({ lp: get('lp'), mask: get('mask'), lpRef: get('lpRef'), advantage: get('advantage') }, c);
    case 'dpo':
      return dpo(
        { policyChosen: get('policyChosen'), policyRejected: get('policyRejected'), refChosen: get('refChosen'), refRejected: get('refRejected') },
        c,
      );
    default:
      return unknownLoss(name);
  }
}

// Reached only when a name from outside the type system (a config file, the CLI) slips through.
function unknownLoss(name: never): never {
  throw new Error(`unknown loss "${String(name)}"; use one of ${lossNames.join(', ')}`);
}
