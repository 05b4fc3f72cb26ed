/**
 * What the rest of the engine needs of a decoder-only language model, whichever family computes it:
 * GPT-2 (model.ts, Gpt) or the Llama family (llama.ts, Llama: Llama, Qwen2, Mistral). logprobs.ts,
 * generate.ts and every caller that only scores, samples or trains through params take a CausalLm.
 *
 *   const model: CausalLm = Llama.fromWeights(config, weights); // or Gpt.fromWeights(...)
 *   const cache = new KvCache();
 *   model.forward(ids, { cache });           // (B, T, V); the cache now holds T positions per layer
 *   model.headRows(hiddenRows);              // (R, D) -> (R, V): only the rows a loss needs
 */
import * as tf from '@tensorflow/tfjs';
import type { NamedTensors } from './config';

/**
 * The shape every family shares, under GPT-2's names (GptConfig and LlamaConfig both have them):
 * a Llama config's hidden_size is nEmbd, and nPositions is the context the model runs at.
 */
export interface CausalLmConfig {
  vocabSize: number;
  /** The context: positions 0..nPositions-1. */
  nPositions: number;
  /** The hidden size: the width of hidden() and of the head's input. */
  nEmbd: number;
  nLayer: number;
  /** The end-of-sequence id generation stops at by default (the first of eosTokenIds where there are several). */
  eosTokenId: number;
  /** Every end-of-sequence id (Llama 3 instruct models have several); absent: [eosTokenId]. */
  eosTokenIds?: readonly number[];
}

export type ModelFamily = 'gpt2' | 'llama';

export interface ForwardOptions {
  /** (B, T_total) 1 = real token, 0 = padding (masked as a key). Needed for left-padded batches. */
  attentionMask?: tf.Tensor2D;
  /** (B, T) position ids (left padding shifts them); default past..past+T-1, past = cache length. */
  positions?: tf.Tensor2D;
  /** Dropout at the config's rates, seeded (GPT-2: embeddings, attention, residuals; Llama: attention). */
  training?: { dropoutSeed: number };
  /** Generation: this call's keys and values are appended to it. */
  cache?: KvCache;
  /**
   * Keep only each layer's input for the backward pass and compute its activations again there
   * (ops.ts recomputed): a training pass's memory falls from every layer's activations to one's.
   */
  recompute?: boolean;
}

/**
 * An update to add to the output of the projection named `prefix` (its checkpoint name, e.g. GPT-2's
 * `h.0.attn.c_attn` or Llama's `model.layers.0.self_attn.q_proj`): y' = y + hook(prefix, x, training),
 * x (N, in), the update (N, out); null: y as it is. lora.ts sets one on a Gpt or a Llama to add its
 * adapters' (alpha / r) B A x.
 */
export type LinearHook = ((
  prefix: string,
  x: tf.Tensor2D,
  training: ForwardOptions['training'],
) => tf.Tensor2D | null) & {
  /** The hook's own trainable variables (LoRA: the adapters), keyed by name; a layer's contain its prefix. */
  readonly params?: ReadonlyMap<string, tf.Variable>;
};

/**
 * The trainable variables layer `prefix` ('h.3.', 'model.layers.3.') reads: the model's own under
 * that prefix and a hook's whose names contain it (PEFT's 'base_model.model.transformer.h.3.…').
 * Frozen ones (a LoRA base) are left out. What recomputed() needs to know to give their gradients.
 */
export function layerVariables(
  params: ReadonlyMap<string, tf.Variable>,
  hook: LinearHook | null,
  prefix: string,
): tf.Variable[] {
  const inLayer = (name: string) => name.startsWith(prefix) || name.includes(`.${prefix}`);
  const own = [...params].filter(([name, v]) => v.trainable && inLayer(name)).map(([, v]) => v);
  const hooked = [...(hook?.params ?? [])].filter(([name, v]) => v.trainable && inLayer(name)).map(([, v]) => v);
  return [...own, ...hooked];
}

export interface CausalLm {
  readonly family: ModelFamily;
  readonly config: CausalLmConfig;
  /** Trainable, keyed by the checkpoint's tensor names. */
  readonly params: Map<string, tf.Variable>;
  /** Final hidden states after the last norm, (B, T, D). ids: (B, T) token ids. */
  hidden(ids: tf.Tensor2D, options?: ForwardOptions): tf.Tensor3D;
  /** The LM head's matrix (V, D): logits = h @ headWeight()^T, no bias, in every family (tied or not). */
  headWeight(): tf.Tensor2D;
  /** The LM head on hidden rows: (R, D) -> logits (R, V). Differentiable. */
  headRows(h: tf.Tensor2D): tf.Tensor2D;
  /** The LM head on hidden states: (B, T, D) -> logits (B, T, V). */
  head(h: tf.Tensor3D): tf.Tensor3D;
  /** Logits (B, T, V), float32: head(hidden(ids)). */
  forward(ids: tf.Tensor2D, options?: ForwardOptions): tf.Tensor3D;
  /** Copies of the weights, named as in the checkpoint. */
  weights(): NamedTensors;
  dispose(): void;
}

/** Every end-of-sequence id of a config: eosTokenIds, else [eosTokenId]. */
export function eosIdsOf(config: CausalLmConfig): number[] {
  return config.eosTokenIds && config.eosTokenIds.length > 0 ? [...config.eosTokenIds] : [config.eosTokenId];
}

/**
 * Keys and values of every layer so far, (B, heads, T, headDim) each, kept outside tf.tidy; heads
 * is the number of key/value heads (fewer than the query heads under grouped-query attention). The
 * model appends to it on each forward call given it; dispose() frees it.
 */
export class KvCache {
  private readonly keys: tf.Tensor4D[] = [];
  private readonly values: tf.Tensor4D[] = [];

  /** Positions cached so far (T of the stored tensors). */
  get length(): number {
    return this.keys[0]?.shape[2] ?? 0;
  }

  /** The stored keys of one layer, (B, heads, T, headDim), or undefined before its first append. */
  keysOf(layer: number): tf.Tensor4D | undefined {
    return this.keys[layer];
  }

  /** The stored values of one layer, (B, heads, T, headDim), or undefined before its first append. */
  valuesOf(layer: number): tf.Tensor4D | undefined {
    return this.values[layer];
  }

  /** Appends one layer's new keys and values (B, heads, T, hd) and returns all of them, (B, heads, T_total, hd). */
  append(layer: number, k: tf.Tensor4D, v: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
    if (layer > this.keys.length) throw new Error(`KvCache: layer ${layer} appended before layer ${this.keys.length}`);
    const oldK = this.keys[layer];
    const oldV = this.values[layer];
    const allK = tf.keep(oldK ? tf.concat([oldK, k], 2) : k.clone());
    const allV = tf.keep(oldV ? tf.concat([oldV, v], 2) : v.clone());
    oldK?.dispose();
    oldV?.dispose();
    this.keys[layer] = allK;
    this.values[layer] = allV;
    return [allK, allV];
  }

  dispose(): void {
    for (const t of [...this.keys, ...this.values]) t.dispose();
    this.keys.length = 0;
    this.values.length = 0;
  }
}
