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
import {
  algorithm,
  algorithmNames,
  isAlgorithmName,
  type AlgorithmName,
  type AlgorithmSpec,
} from '../../../shared/algorithms';
import { lossConfig, type LossConfig } from './config';
import { dpo } from './dpo';
import { nll } from './nll';
import { r_gold } from './rGold';
import { r_lol } from './rLol';
import type { LossInputs, LossResult } from './types';
import { wbc } from './wbc';

export { a_lol, a_lol_kl, a_lol_ref_free, a_lol_seq, dpo, nll, r_gold, r_lol, wbc };
export { defaultLossConfig, GOLD_FLOOR, lossConfig, type LossConfig } from './config';
export type { LossInputs, LossResult, PairLogps, TokenLogps, WithAdvantage, WithReference, WithReward } from './types';

/** The table's names (../../../shared/algorithms.ts): every one has a loss here, and no other. */
export const lossNames = algorithmNames;
export type LossName = AlgorithmName;

/**
 * What a loss reads, so the trainer knows whether to load and run pi_ref and what to sample by:
 * the table's columns for it. pi_ref is loaded when either referenceLogprobs or
 * valueHeadOnReference is true (loadsReference).
 */
export type LossNeeds = Pick<AlgorithmSpec, 'referenceLogprobs' | 'valueHeadOnReference' | 'signal' | 'pairs'>;

export function lossNeeds(name: LossName): LossNeeds {
  if (!isAlgorithmName(name)) return unknownLoss(name as never);
  const { referenceLogprobs, valueHeadOnReference, signal, pairs } = algorithm(name);
  return { referenceLogprobs, valueHeadOnReference, signal, pairs };
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
        {
          policyChosen: get('policyChosen'),
          policyRejected: get('policyRejected'),
          refChosen: get('refChosen'),
          refRejected: get('refRejected'),
        },
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
