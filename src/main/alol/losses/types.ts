/** What the losses take and give: tensors named as ALOL.md names them. */
import type * as tf from '@tensorflow/tfjs';

/** Per-token log-probs of a batch of responses, as tokenLogprobs gives them. All float32. */
export interface TokenLogps {
  /** (B, T) policy log-probs, with gradient; zero outside the mask. */
  lp: tf.Tensor2D;
  /** (B, T) 1 on response tokens (EOS included), 0 on prompt and padding. */
  mask: tf.Tensor2D;
}

export interface WithReference {
  /** (B, T) reference log-probs; never differentiated (stop-gradient applied here too). */
  lpRef: tf.Tensor2D;
}

export interface WithReward {
  /** (B) sequence-level rewards R. */
  reward: tf.Tensor1D;
}

export interface WithAdvantage {
  /** (B) advantages A = R - V(x), any sign: the losses take A+ = max(A, 0). */
  advantage: tf.Tensor1D;
}

/** Per-sequence log-prob SUMS of preference pairs (sequenceLogprobs), for dpo. All float32, (B). */
export interface PairLogps {
  policyChosen: tf.Tensor1D;
  policyRejected: tf.Tensor1D;
  /** Reference sums; never differentiated. */
  refChosen: tf.Tensor1D;
  refRejected: tf.Tensor1D;
}

/** Everything any loss may take; computeLoss checks that the chosen loss got what it needs. */
export type LossInputs = Partial<TokenLogps & WithReference & WithReward & WithAdvantage & PairLogps>;

export interface LossResult {
  /** Differentiable scalar, float32. The caller disposes it. */
  loss: tf.Scalar;
  /** Plain numbers read once per call, slash-named as in TRL; always includes "loss". */
  metrics: Record<string, number>;
}
