/**
 * GPT-2 in TensorFlow.js, computing exactly what Hugging Face's GPT2LMHeadModel computes: learned
 * position embeddings, pre-LN blocks (x + attn(ln_1(x)), then x + mlp(ln_2(x))), gelu_new, causal
 * attention scaled by 1/sqrt(head size), ln_f, and an LM head tied to wte. Parameters carry the
 * checkpoint's names (parameterShapes), Conv1D weights [in, out], so a checkpoint loads key by key.
 *
 * Laid out as nanoGPT: parts before the whole (attention, MLP, block, then the model). Activations
 * stay 2-D, (B*T, D), between blocks so every projection is one plain 2-D product (ops.ts says why).
 *
 *   const model = Gpt.init({ ...GPT2_SMALL, nLayer: 2 }, new Rng(0));
 *   const logits = model.forward(tf.tensor2d([[464, 3290]], [1, 2], 'int32')); // (1, 2, 50257)
 */
import { checkWeightsFit, copyWeights, variablesOf } from './weights';
import * as tf from '@tensorflow/tfjs';
import { parameterShapes, type GptConfig, type NamedTensors } from './config';
import { bmm, causalMask, gelu, layerNorm, linear, MASKED, recomputed, takeRows, tiedHead } from './ops';
import { layerVariables, type CausalLm, type ForwardOptions, type KvCache, type LinearHook } from './causalLm';
import type { Rng } from '../core/rng';

// The cache and the options are the same for every family (causalLm.ts); re-exported for GPT-2's callers.
export { KvCache, type ForwardOptions } from './causalLm';

/** What every block of one forward call shares. */
interface Pass {
  B: number;
  T: number;
  /** Additive mask (B or 1, 1, T, T_total), or null when nothing is masked. */
  mask: tf.Tensor4D | null;
  dropout: (x: tf.Tensor2D, site: string) => tf.Tensor2D;
  cache: KvCache | undefined;
  /** The model's linearHook (LoRA adapters, lora.ts), or null. */
  hook: LinearHook | null;
  training: ForwardOptions['training'];
}

type Params = Map<string, tf.Variable>;

// Shapes were checked when the variables were made (fromWeights), so these casts only name the rank.
function p1(params: Params, name: string): tf.Tensor1D {
  const v = params.get(name);
  if (!v) throw new Error(`missing parameter ${name}`);
  return v as tf.Tensor as tf.Tensor1D;
}
function p2(params: Params, name: string): tf.Tensor2D {
  const v = params.get(name);
  if (!v) throw new Error(`missing parameter ${name}`);
  return v as tf.Tensor as tf.Tensor2D;
}

function ln(x: tf.Tensor2D, params: Params, prefix: string, eps: number): tf.Tensor2D {
  return layerNorm(x, p1(params, `${prefix}.weight`), p1(params, `${prefix}.bias`), eps);
}

/** The Conv1D named `prefix` (x W + b, W [in, out]), plus the pass's hook's update. */
function conv1d(x: tf.Tensor2D, params: Params, prefix: string, pass: Pass): tf.Tensor2D {
  const y = linear(x, p2(params, `${prefix}.weight`), p1(params, `${prefix}.bias`));
  const update = pass.hook?.(prefix, x, pass.training);
  return update ? tf.add<tf.Tensor2D>(y, update) : y;
}

/**
 * q, k and v, each (N, D), from c_attn. Whichever is smaller gets sliced into three: the (N, 3D)
 * activations, or the (D, 3D) weight. Two wasm costs decide it: a slice copies its whole source,
 * and a matMul whose right operand is a new tensor repacks it (2.8 ms instead of 0.2 ms for
 * 8 x 256 @ 256 x 768), so a decoding step must multiply by the variable itself. A hook's update
 * (LoRA) is for the fused (N, 3D) output as a whole, as PEFT adapts c_attn: split, it adds to each.
 */
function qkvProjections(
  x: tf.Tensor2D,
  params: Params,
  prefix: string,
  D: number,
  pass: Pass,
): [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D] {
  if (x.shape[0] <= D)
    return tf.split(conv1d(x, params, prefix, pass), 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
  const w = p2(params, `${prefix}.weight`);
  const b = p1(params, `${prefix}.bias`);
  const update = pass.hook?.(prefix, x, pass.training);
  const updates = update ? tf.split(update, 3, 1) : null;
  const part = (i: number) => {
    const y = linear(x, tf.slice(w, [0, i * D], [D, D]), tf.slice(b, [i * D], [D]));
    return updates ? tf.add<tf.Tensor2D>(y, updates[i]!) : y;
  };
  return [part(0), part(1), part(2)];
}

function attention(x: tf.Tensor2D, params: Params, c: GptConfig, layer: number, pass: Pass): tf.Tensor2D {
  const { B, T } = pass;
  const D = c.nEmbd;
  const nh = c.nHead;
  const hs = D / nh;
  const prefix = `h.${layer}.attn`;
  const heads = (t: tf.Tensor2D) => tf.transpose(tf.reshape(t, [B, T, nh, hs]), [0, 2, 1, 3]) as tf.Tensor4D; // (B, nh, T, hs)
  const [qx, kx, vx] = qkvProjections(x, params, `${prefix}.c_attn`, D, pass); // (B*T, D) each
  // Scaling q rather than the scores: the same product, on a smaller tensor.
  const q = heads(tf.mul(qx, 1 / Math.sqrt(hs)));
  let k = heads(kx);
  let v = heads(vx);
  if (pass.cache) [k, v] = pass.cache.append(layer, k, v); // (B, nh, T_total, hs)
  const total = k.shape[2];
  let att: tf.Tensor = bmm(q.reshape([B * nh, T, hs]), k.reshape([B * nh, total, hs]), false, true); // (B*nh, T, T_total)
  att = tf.reshape(att, [B, nh, T, total]);
  if (pass.mask) att = tf.add(att, pass.mask);
  att = tf.softmax(att);
  att = pass.dropout(tf.reshape(att, [B * nh * T, total]), `h.${layer}.attn.probs`);
  const y = bmm(tf.reshape(att, [B * nh, T, total]), v.reshape([B * nh, total, hs])); // (B*nh, T, hs)
  const merged = tf.reshape<tf.Rank.R2>(tf.transpose(tf.reshape(y, [B, nh, T, hs]), [0, 2, 1, 3]), [B * T, D]); // (B*T, D)
  const out = conv1d(merged, params, `${prefix}.c_proj`, pass);
  return pass.dropout(out, `h.${layer}.attn.resid`);
}

function mlp(x: tf.Tensor2D, params: Params, layer: number, pass: Pass): tf.Tensor2D {
  const prefix = `h.${layer}.mlp`;
  const h = gelu(conv1d(x, params, `${prefix}.c_fc`, pass)) as tf.Tensor2D; // (B*T, 4D)
  const out = conv1d(h, params, `${prefix}.c_proj`, pass); // (B*T, D)
  return pass.dropout(out, `h.${layer}.mlp.resid`);
}

function block(x: tf.Tensor2D, params: Params, c: GptConfig, layer: number, pass: Pass): tf.Tensor2D {
  const eps = c.layerNormEpsilon;
  x = tf.add<tf.Tensor2D>(x, attention(ln(x, params, `h.${layer}.ln_1`, eps), params, c, layer, pass));
  return tf.add<tf.Tensor2D>(x, mlp(ln(x, params, `h.${layer}.ln_2`, eps), params, layer, pass));
}

function int32Data(t: tf.Tensor, what: string): Int32Array {
  const data = t.dataSync();
  if (data instanceof Int32Array) return data.slice();
  const out = Int32Array.from(data);
  for (let i = 0; i < out.length; i++) if (out[i] !== data[i]) throw new Error(`${what} must hold whole numbers`);
  return out;
}

function normal(rng: Rng, n: number, std: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * std;
  return out;
}

let modelCount = 0;

export class Gpt implements CausalLm {
  readonly family = 'gpt2' as const;
  readonly config: GptConfig;
  /** Trainable, keyed by the checkpoint names of parameterShapes(config). */
  readonly params: Map<string, tf.Variable>;
  /** Applied to every Conv1D's output (LoRA adapters, lora.ts); null: the plain model. */
  linearHook: LinearHook | null = null;

  private constructor(config: GptConfig, params: Map<string, tf.Variable>) {
    this.config = config;
    this.params = params;
  }

  /**
   * GPT-2's initialisation (Hugging Face _init_weights): every weight N(0, 0.02), the residual
   * projections (c_proj) N(0, 0.02 / sqrt(2 * nLayer)), biases 0, layer norms weight 1 and bias 0.
   * Drawn in JavaScript from rng in parameterShapes order, so the same seed gives the same model
   * on every backend.
   */
  static init(config: GptConfig, rng: Rng): Gpt {
    const weights: NamedTensors = new Map();
    const projStd = 0.02 / Math.sqrt(2 * config.nLayer);
    for (const [name, shape] of parameterShapes(config)) {
      const n = shape.reduce((a, b) => a * b, 1);
      let data: Float32Array;
      if (name.endsWith('.bias')) data = new Float32Array(n);
      else if (/(^|\.)ln_(\d|f)\.weight$/.test(name)) data = new Float32Array(n).fill(1);
      else data = normal(rng, n, name.endsWith('c_proj.weight') ? projStd : 0.02);
      weights.set(name, { shape, data });
    }
    return Gpt.fromWeights(config, weights);
  }

  /**
   * A model holding copies of these weights. Names and shapes must be exactly parameterShapes(config)
   * (the checkpoint reader strips prefixes and skips mask buffers and a tied lm_head).
   */
  static fromWeights(config: GptConfig, weights: NamedTensors): Gpt {
    if (!Number.isInteger(config.nEmbd / config.nHead))
      throw new Error(`nEmbd ${config.nEmbd} is not a multiple of nHead ${config.nHead}`);
    const expected = parameterShapes(config);
    checkWeightsFit(expected, weights, 'config');
    return new Gpt(config, variablesOf(expected, weights, `gpt${modelCount++}`));
  }

  /** Copies of the weights, named as in the checkpoint. */
  weights(): NamedTensors {
    return copyWeights(this.params);
  }

  /** Final hidden states after ln_f, (B, T, D). ids: (B, T) token ids. */
  hidden(ids: tf.Tensor2D, options: ForwardOptions = {}): tf.Tensor3D {
    const c = this.config;
    const [B, T] = ids.shape;
    const past = options.cache?.length ?? 0;
    const total = past + T;
    return tf.tidy(() => {
      const tokenIds = int32Data(ids, 'ids');
      for (const id of tokenIds) {
        if (id < 0 || id >= c.vocabSize) throw new Error(`token id ${id} is outside the vocabulary of ${c.vocabSize}`);
      }
      let positionIds: Int32Array;
      if (options.positions) {
        if (options.positions.shape[0] !== B || options.positions.shape[1] !== T)
          throw new Error(`positions have shape [${options.positions.shape}], expected [${B},${T}]`);
        positionIds = int32Data(options.positions, 'positions');
      } else {
        positionIds = new Int32Array(B * T);
        for (let i = 0; i < B * T; i++) positionIds[i] = past + (i % T);
      }
      for (const pos of positionIds) {
        if (pos < 0 || pos >= c.nPositions)
          throw new Error(`position ${pos} is outside the context of ${c.nPositions}`);
      }

      let mask: tf.Tensor4D | null = T > 1 ? tf.reshape(causalMask(T, past), [1, 1, T, total]) : null;
      if (options.attentionMask) {
        const am = options.attentionMask;
        if (am.shape[0] !== B || am.shape[1] !== total)
          throw new Error(`attentionMask has shape [${am.shape}], expected [${B},${total}]`);
        const padding = tf.reshape(tf.mul(tf.sub(1, tf.cast(am, 'float32')), MASKED), [B, 1, 1, total]) as tf.Tensor4D;
        mask = mask ? tf.add<tf.Tensor4D>(mask, padding) : padding;
      }

      const rate = options.training ? c.dropout : 0;
      const seed = options.training?.dropoutSeed ?? 0;
      const pass: Pass = {
        B,
        T,
        mask,
        // Each site gets its own seed, so the masks differ across sites but repeat with the seed.
        dropout: rate > 0 ? (x, site) => tf.dropout(x, rate, undefined, `${seed}/${site}`) as tf.Tensor2D : (x) => x,
        cache: options.cache,
        hook: this.linearHook,
        training: options.training,
      };

      const wte = p2(this.params, 'wte.weight');
      const wpe = p2(this.params, 'wpe.weight');
      let x = tf.add<tf.Tensor2D>(takeRows(wte, tokenIds), takeRows(wpe, positionIds)); // (B*T, D)
      x = pass.dropout(x, 'embd');
      // Each layer in its own tidy: without a gradient tape its intermediates go when it ends, where
      // one tidy for the whole pass held every layer's (3 MB a token in Qwen2.5-0.5B's prefill);
      // under a tape the tape keeps what the backward pass needs either way.
      for (let layer = 0; layer < c.nLayer; layer++) {
        x = options.recompute
          ? recomputed(
              (h, [m]) => block(h, this.params, c, layer, { ...pass, mask: (m as tf.Tensor4D | undefined) ?? null }),
              x,
              mask ? [mask] : [],
              layerVariables(this.params, this.linearHook, `h.${layer}.`),
            )
          : tf.tidy(() => block(x, this.params, c, layer, pass));
      }
      x = ln(x, this.params, 'ln_f', c.layerNormEpsilon);
      return tf.reshape(x, [B, T, c.nEmbd]);
    });
  }

  /** The tied head's matrix: the token embedding (V, D). */
  headWeight(): tf.Tensor2D {
    return p2(this.params, 'wte.weight');
  }

  /** The tied LM head on hidden rows: (R, D) -> logits (R, V). */
  headRows(h: tf.Tensor2D): tf.Tensor2D {
    return tiedHead(h, this.headWeight());
  }

  /** The tied LM head on hidden states: (B, T, D) -> logits (B, T, V). */
  head(h: tf.Tensor3D): tf.Tensor3D {
    const [B, T, D] = h.shape;
    return tf.tidy(() => tf.reshape(this.headRows(tf.reshape(h, [B * T, D])), [B, T, this.config.vocabSize]));
  }

  /** Logits (B, T, V), float32. */
  forward(ids: tf.Tensor2D, options: ForwardOptions = {}): tf.Tensor3D {
    return tf.tidy(() => this.head(this.hidden(ids, options)));
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
  }
}
