/**
 * The Llama family in TensorFlow.js, computing what Hugging Face's LlamaForCausalLM,
 * Qwen2ForCausalLM and MistralForCausalLM compute (they differ only in their configs, llamaConfig.ts):
 *
 *   x_0 = embed_tokens[ids]
 *   a   = x + o_proj(attention(rope(q_proj(n)), rope(k_proj(n)), v_proj(n))),  n = input_layernorm(x)
 *   x'  = a + down_proj(silu(gate_proj(m)) * up_proj(m)),                      m = post_attention_layernorm(a)
 *   logits = lm_head(norm(x_L))     (lm_head = embed_tokens when tie_word_embeddings)
 *
 *   rmsNorm(x) = weight * x / sqrt(mean(x^2) + rms_norm_eps)                  (float32, as HF)
 *   rope(x)    = x * cos + rotateHalf(x) * sin,  rotateHalf([x1, x2]) = [-x2, x1],
 *                cos/sin of position * inv_freq, repeated for both halves of the head (HF's layout)
 *   attention  = softmax(q k^T / sqrt(head_dim) + causal mask) v, per query head; query head h reads
 *                key/value head floor(h / (nHead / nKvHead)) (grouped-query attention)
 *
 * Parameters carry the checkpoint's names (llamaParameterShapes) and nn.Linear's [out, in] layout,
 * so x @ W^T; biases only where the config has them. Activations stay 2-D, (B*T, D), between
 * blocks, as in model.ts. Every product x @ W^T goes through ops.ts's tiedHead, the [out, in]
 * product already shaped for wasm (it never uses wasm's slow transposeB flag: with few rows it
 * computes (W @ x^T)^T, otherwise x @ transpose(W); with the native BLAS it passes the flag).
 *
 *   const model = Llama.init(config, new Rng(0));
 *   const logits = model.forward(tf.tensor2d([[1, 2, 3]], [1, 3], 'int32')); // (1, 3, V)
 */
import { checkWeightsFit, copyWeights, variablesOf } from './weights';
import * as tf from '@tensorflow/tfjs';
import { layerVariables, type CausalLm, type ForwardOptions, type KvCache, type LinearHook } from './causalLm';
import type { NamedTensors } from './config';
import { llamaParameterShapes, type LlamaConfig } from './llamaConfig';
import { bmm, causalMask, MASKED, recomputed, takeRows, tiedHead } from './ops';
import type { Rng } from '../core/rng';

type Params = Map<string, tf.Variable>;

// ---------------------------------------------------------------------------------------------
// Kernels with their own gradients (wasm's sum over axis 0 is ~80x slower than a product with a
// row of ones, so no gradient here reduces over rows through tf.sum; see ops.ts).

type GradFunc = Parameters<typeof tf.customGrad>[0];

/** Sums over rows as a product with a row of ones. (M, N) -> (N) */
function sumRows(x: tf.Tensor2D): tf.Tensor1D {
  const [m, n] = x.shape;
  return tf.reshape(tf.matMul(tf.ones([1, m]), x), [n]);
}

/** x + b over rows. (N, M), (M) -> (N, M) */
const addBias = tf.customGrad(((x: tf.Tensor2D, b: tf.Tensor1D) => ({
  value: tf.add(x, b),
  gradFunc: (dy: tf.Tensor2D) => [dy, sumRows(dy)],
})) as unknown as GradFunc) as unknown as (x: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D;

/** nn.Linear: x @ w^T (+ b), w stored [out, in] as in the checkpoint. (N, in) -> (N, out) */
function linear(x: tf.Tensor2D, w: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor2D {
  const y = tiedHead(x, w);
  return b ? addBias(y, b) : y;
}

/**
 * RMSNorm over the last axis: weight * x * rsqrt(mean(x^2) + eps). (N, D), (D) -> (N, D)
 * [1, 2, 3] with weight 1, eps 0 -> [1, 2, 3] / sqrt(14 / 3).
 */
export function rmsNorm(x: tf.Tensor2D, weight: tf.Tensor1D, eps: number): tf.Tensor2D {
  const op = tf.customGrad(((x: tf.Tensor2D, weight: tf.Tensor1D, save: tf.GradSaveFunc) => {
    const rstd = tf.rsqrt(tf.add(tf.mean(tf.mul(x, x), -1, true), eps)); // (N, 1)
    const xhat = tf.mul(x, rstd);
    save([xhat, rstd, weight]);
    return {
      value: tf.mul(xhat, weight),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [xhat, rstd, weight] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
        const g = tf.mul(dy, weight);
        // dx = rstd * (g - xhat * mean(g * xhat)): the layer-norm backward without the centring.
        const dx = tf.mul(rstd, tf.sub(g, tf.mul(xhat, tf.mean(tf.mul(g, xhat), -1, true))));
        return [dx, sumRows(tf.mul(dy, xhat) as tf.Tensor2D)];
      },
    };
  }) as unknown as GradFunc) as unknown as (x: tf.Tensor2D, w: tf.Tensor1D) => tf.Tensor2D;
  return op(x, weight);
}

/** silu(x) = x * sigmoid(x). */
function silu(x: tf.Tensor2D): tf.Tensor2D {
  return tf.mul(x, tf.sigmoid(x));
}

// ---------------------------------------------------------------------------------------------
// Rotary position embeddings (modeling_rope_utils.py), in float32 as transformers computes them.

/**
 * inv_freq[i] = 1 / rope_theta^(2i / head_dim), i < head_dim / 2, then scaled:
 * - linear: inv_freq / factor (the same as positions / factor);
 * - llama3: wavelengths 2 pi / inv_freq longer than original_max_position_embeddings /
 *   low_freq_factor are divided by factor, shorter than original / high_freq_factor kept, and the
 *   band between interpolated: (1 - s) inv_freq / factor + s inv_freq,
 *   s = (original / wavelength - low_freq_factor) / (high_freq_factor - low_freq_factor).
 */
export function inverseFrequencies(c: Pick<LlamaConfig, 'headDim' | 'ropeTheta' | 'ropeScaling'>): Float32Array {
  const half = c.headDim / 2;
  const out = new Float32Array(half);
  const f = Math.fround;
  for (let i = 0; i < half; i++) out[i] = f(1 / f(c.ropeTheta ** f((2 * i) / c.headDim)));
  const s = c.ropeScaling;
  if (s?.type === 'linear') {
    for (let i = 0; i < half; i++) out[i] = f(out[i]! / s.factor);
  } else if (s?.type === 'llama3') {
    const lowFreqWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
    const highFreqWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
    for (let i = 0; i < half; i++) {
      const inv = out[i]!;
      const wavelen = (2 * Math.PI) / inv;
      if (wavelen > lowFreqWavelen) out[i] = f(inv / s.factor);
      else if (wavelen >= highFreqWavelen) {
        const smooth =
          (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        out[i] = f(((1 - smooth) * inv) / s.factor + smooth * inv);
      }
    }
  }
  return out;
}

/**
 * cos and sin of position * inv_freq for each of `positions`, laid out (count, head_dim) with the
 * half-size frequencies repeated for both halves of the head, as transformers' cat((freqs, freqs)).
 * The angle is rounded to float32 before cos and sin, as transformers computes it.
 */
export function rotaryTables(
  invFreq: Float32Array,
  positions: ArrayLike<number>,
): { cos: Float32Array; sin: Float32Array } {
  const half = invFreq.length;
  const hd = 2 * half;
  const cos = new Float32Array(positions.length * hd);
  const sin = new Float32Array(positions.length * hd);
  for (let r = 0; r < positions.length; r++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(positions[r]! * invFreq[i]!);
      cos[r * hd + i] = cos[r * hd + half + i] = Math.cos(angle);
      sin[r * hd + i] = sin[r * hd + half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/** [x1, x2] -> [-x2, x1] over the last axis (x1 the first half of each head). */
export function rotateHalf<T extends tf.Tensor>(x: T): T {
  const [x1, x2] = tf.split(x, 2, -1);
  return tf.concat([tf.neg(x2!), x1!], -1) as T;
}

/** x * cos + rotateHalf(x) * sin; cos and sin broadcast against x (same last axis, head_dim). */
export function applyRotary<T extends tf.Tensor>(x: T, cos: tf.Tensor, sin: tf.Tensor): T {
  return tf.add(tf.mul(x, cos), tf.mul(rotateHalf(x), sin)) as T;
}

// ---------------------------------------------------------------------------------------------
// The model, parts before the whole.

/** What every block of one forward call shares. */
interface Pass {
  B: number;
  T: number;
  /** cos and sin of each (b, t)'s position, (B, T, 1, head_dim): broadcast over heads. */
  cos: tf.Tensor4D;
  sin: tf.Tensor4D;
  /** Additive mask (B or 1, 1, T, T_total), or null when nothing is masked. */
  mask: tf.Tensor4D | null;
  dropout: (x: tf.Tensor2D, site: string) => tf.Tensor2D;
  cache: KvCache | undefined;
  /** The model's linearHook (LoRA adapters, lora.ts), or null. */
  hook: LinearHook | null;
  training: ForwardOptions['training'];
}

function param(params: Params, name: string): tf.Variable {
  const v = params.get(name);
  if (!v) throw new Error(`missing parameter ${name}`);
  return v;
}
// Shapes were checked when the variables were made (fromWeights), so these casts only name the rank.
const p1 = (params: Params, name: string) => param(params, name) as tf.Tensor as tf.Tensor1D;
const p2 = (params: Params, name: string) => param(params, name) as tf.Tensor as tf.Tensor2D;

/** The nn.Linear named `prefix`, with its bias when the checkpoint has one (and the pass's hook). */
function proj(x: tf.Tensor2D, params: Params, prefix: string, pass: Pass): tf.Tensor2D {
  const bias = params.get(`${prefix}.bias`);
  const y = linear(x, p2(params, `${prefix}.weight`), bias ? (bias as tf.Tensor as tf.Tensor1D) : undefined);
  const update = pass.hook?.(prefix, x, pass.training);
  return update ? tf.add<tf.Tensor2D>(y, update) : y;
}

function attention(x: tf.Tensor2D, params: Params, c: LlamaConfig, layer: number, pass: Pass): tf.Tensor2D {
  const { B, T } = pass;
  const nh = c.nHead;
  const kvh = c.nKvHead;
  const hd = c.headDim;
  const group = nh / kvh; // query heads per key/value head
  const prefix = `model.layers.${layer}.self_attn`;
  // (B*T, heads*hd) -> rotated (B, heads, T, hd)
  const rotated = (t: tf.Tensor2D, heads: number) =>
    tf.transpose(
      applyRotary(tf.reshape(t, [B, T, heads, hd]) as tf.Tensor4D, pass.cos, pass.sin),
      [0, 2, 1, 3],
    ) as tf.Tensor4D;
  // Scaling q rather than the scores (HF: q k^T * head_dim^-0.5): the same product, on a smaller tensor.
  const q = rotated(tf.mul(proj(x, params, `${prefix}.q_proj`, pass), 1 / Math.sqrt(hd)), nh); // (B, nh, T, hd)
  let k = rotated(proj(x, params, `${prefix}.k_proj`, pass), kvh); // (B, kvh, T, hd)
  let v = tf.transpose(
    tf.reshape(proj(x, params, `${prefix}.v_proj`, pass), [B, T, kvh, hd]),
    [0, 2, 1, 3],
  ) as tf.Tensor4D;
  if (pass.cache) [k, v] = pass.cache.append(layer, k, v); // (B, kvh, T_total, hd)
  const total = k.shape[2];
  // Query heads g*group .. g*group + group-1 share key/value head g: folding them into the rows of
  // one product per (b, g) is HF's repeat_kv without copying the keys and values.
  let att: tf.Tensor = bmm(tf.reshape(q, [B * kvh, group * T, hd]), tf.reshape(k, [B * kvh, total, hd]), false, true); // (B*kvh, group*T, T_total)
  att = tf.reshape(att, [B, nh, T, total]);
  if (pass.mask) att = tf.add(att, pass.mask);
  att = tf.softmax(att);
  att = pass.dropout(tf.reshape(att, [B * nh * T, total]), `layers.${layer}.attn.probs`);
  const y = bmm(tf.reshape(att, [B * kvh, group * T, total]), tf.reshape(v, [B * kvh, total, hd])); // (B*kvh, group*T, hd)
  const merged = tf.reshape<tf.Rank.R2>(tf.transpose(tf.reshape(y, [B, nh, T, hd]), [0, 2, 1, 3]), [B * T, nh * hd]);
  return proj(merged, params, `${prefix}.o_proj`, pass); // (B*T, D)
}

function mlp(x: tf.Tensor2D, params: Params, layer: number, pass: Pass): tf.Tensor2D {
  const prefix = `model.layers.${layer}.mlp`;
  const gate = silu(proj(x, params, `${prefix}.gate_proj`, pass)); // (B*T, M)
  return proj(tf.mul(gate, proj(x, params, `${prefix}.up_proj`, pass)), params, `${prefix}.down_proj`, pass); // (B*T, D)
}

function decoderLayer(x: tf.Tensor2D, params: Params, c: LlamaConfig, layer: number, pass: Pass): tf.Tensor2D {
  const prefix = `model.layers.${layer}`;
  const eps = c.rmsNormEps;
  x = tf.add<tf.Tensor2D>(
    x,
    attention(rmsNorm(x, p1(params, `${prefix}.input_layernorm.weight`), eps), params, c, layer, pass),
  );
  return tf.add<tf.Tensor2D>(
    x,
    mlp(rmsNorm(x, p1(params, `${prefix}.post_attention_layernorm.weight`), eps), params, layer, pass),
  );
}

function int32Data(t: tf.Tensor, what: string): Int32Array {
  const data = t.dataSync();
  if (data instanceof Int32Array) return data.slice();
  const out = Int32Array.from(data);
  for (let i = 0; i < out.length; i++) if (out[i] !== data[i]) throw new Error(`${what} must hold whole numbers`);
  return out;
}

/** The config's own consistency, for configs built in code rather than read by llamaConfig.ts. */
function checkConfig(c: LlamaConfig): void {
  const problems: string[] = [];
  if (c.nHead % c.nKvHead !== 0) problems.push(`nKvHead ${c.nKvHead} does not divide nHead ${c.nHead}`);
  if (c.headDim % 2 !== 0) problems.push(`headDim ${c.headDim} is odd (rotary embeddings rotate pairs)`);
  if (c.nPositions > c.maxPositionEmbeddings)
    problems.push(`the context ${c.nPositions} exceeds max_position_embeddings ${c.maxPositionEmbeddings}`);
  if (c.slidingWindow !== null && c.slidingWindow < c.nPositions) {
    problems.push(
      `sliding_window ${c.slidingWindow} is shorter than the context ${c.nPositions}: sliding-window attention is not computed; run at a context of at most ${c.slidingWindow}`,
    );
  }
  if (!c.eosTokenIds.includes(c.eosTokenId))
    problems.push(`eosTokenId ${c.eosTokenId} is not among eosTokenIds [${c.eosTokenIds}]`);
  if (problems.length > 0) throw new Error(`${c.architecture} config: ${problems.join('; ')}`);
}

function normal(rng: Rng, n: number, std: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * std;
  return out;
}

let modelCount = 0;

export class Llama implements CausalLm {
  readonly family = 'llama' as const;
  readonly config: LlamaConfig;
  /** Trainable, keyed by the checkpoint names of llamaParameterShapes(config). */
  readonly params: Map<string, tf.Variable>;
  /** Applied to every projection's output (LoRA adapters, lora.ts); null: the plain model. */
  linearHook: LinearHook | null = null;
  private readonly invFreq: Float32Array;

  private constructor(config: LlamaConfig, params: Map<string, tf.Variable>) {
    this.config = config;
    this.params = params;
    this.invFreq = inverseFrequencies(config);
  }

  /**
   * transformers' initialisation (initializer_range 0.02): every Linear and the embedding N(0, 0.02),
   * biases 0, RMSNorm weights 1. Drawn in JavaScript from rng in llamaParameterShapes order.
   */
  static init(config: LlamaConfig, rng: Rng): Llama {
    checkConfig(config);
    const weights: NamedTensors = new Map();
    for (const [name, shape] of llamaParameterShapes(config)) {
      const n = shape.reduce((a, b) => a * b, 1);
      let data: Float32Array;
      if (name.endsWith('.bias')) data = new Float32Array(n);
      else if (name.endsWith('norm.weight')) data = new Float32Array(n).fill(1);
      else data = normal(rng, n, 0.02);
      weights.set(name, { shape, data });
    }
    return Llama.fromWeights(config, weights);
  }

  /** A model holding copies of these weights; names and shapes must be exactly llamaParameterShapes(config). */
  static fromWeights(config: LlamaConfig, weights: NamedTensors): Llama {
    checkConfig(config);
    const expected = llamaParameterShapes(config);
    checkWeightsFit(expected, weights, `${config.architecture} config`);
    return new Llama(config, variablesOf(expected, weights, `llama${modelCount++}`));
  }

  /** Copies of the weights, named as in the checkpoint. */
  weights(): NamedTensors {
    return copyWeights(this.params);
  }

  /** Final hidden states after model.norm, (B, T, D). ids: (B, T) token ids. */
  hidden(ids: tf.Tensor2D, options: ForwardOptions = {}): tf.Tensor3D {
    const c = this.config;
    const [B, T] = ids.shape;
    const past = options.cache?.length ?? 0;
    const total = past + T;
    return tf.tidy(() => {
      const tokenIds = int32Data(ids, 'ids');
      for (const id of tokenIds)
        if (id < 0 || id >= c.vocabSize) throw new Error(`token id ${id} is outside the vocabulary of ${c.vocabSize}`);
      let positionIds: Int32Array;
      if (options.positions) {
        if (options.positions.shape[0] !== B || options.positions.shape[1] !== T)
          throw new Error(`positions have shape [${options.positions.shape}], expected [${B},${T}]`);
        positionIds = int32Data(options.positions, 'positions');
      } else {
        positionIds = new Int32Array(B * T);
        for (let i = 0; i < B * T; i++) positionIds[i] = past + (i % T);
      }
      for (const pos of positionIds)
        if (pos < 0 || pos >= c.nPositions)
          throw new Error(`position ${pos} is outside the context of ${c.nPositions}`);

      let mask: tf.Tensor4D | null = T > 1 ? tf.reshape(causalMask(T, past), [1, 1, T, total]) : null;
      if (options.attentionMask) {
        const am = options.attentionMask;
        if (am.shape[0] !== B || am.shape[1] !== total)
          throw new Error(`attentionMask has shape [${am.shape}], expected [${B},${total}]`);
        const padding = tf.reshape(tf.mul(tf.sub(1, tf.cast(am, 'float32')), MASKED), [B, 1, 1, total]) as tf.Tensor4D;
        mask = mask ? tf.add<tf.Tensor4D>(mask, padding) : padding;
      }
      const { cos, sin } = rotaryTables(this.invFreq, positionIds);
      const rate = options.training ? c.attentionDropout : 0;
      const seed = options.training?.dropoutSeed ?? 0;
      const pass: Pass = {
        B,
        T,
        cos: tf.tensor4d(cos, [B, T, 1, c.headDim]),
        sin: tf.tensor4d(sin, [B, T, 1, c.headDim]),
        mask,
        dropout: rate > 0 ? (x, site) => tf.dropout(x, rate, undefined, `${seed}/${site}`) as tf.Tensor2D : (x) => x,
        cache: options.cache,
        hook: this.linearHook,
        training: options.training,
      };

      let x = takeRows(p2(this.params, 'model.embed_tokens.weight'), tokenIds); // (B*T, D)
      // Each layer in its own tidy: without a gradient tape its intermediates go when it ends, where
      // one tidy for the whole pass held every layer's (3 MB a token in Qwen2.5-0.5B's prefill);
      // under a tape the tape keeps what the backward pass needs either way.
      for (let layer = 0; layer < c.nLayer; layer++) {
        x = options.recompute
          ? recomputed(
              (h, [cos, sin, m]) =>
                decoderLayer(h, this.params, c, layer, {
                  ...pass,
                  cos: cos as tf.Tensor4D,
                  sin: sin as tf.Tensor4D,
                  mask: (m as tf.Tensor4D | undefined) ?? null,
                }),
              x,
              mask ? [pass.cos, pass.sin, mask] : [pass.cos, pass.sin],
              layerVariables(this.params, this.linearHook, `model.layers.${layer}.`),
            )
          : tf.tidy(() => decoderLayer(x, this.params, c, layer, pass));
      }
      x = rmsNorm(x, p1(this.params, 'model.norm.weight'), c.rmsNormEps);
      return tf.reshape(x, [B, T, c.nEmbd]);
    });
  }

  /** The LM head's weight: lm_head.weight, or embed_tokens when tied. (V, D) */
  headWeight(): tf.Tensor2D {
    return p2(this.params, this.config.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight');
  }

  /** (R, D) -> logits (R, V). */
  headRows(h: tf.Tensor2D): tf.Tensor2D {
    return tiedHead(h, this.headWeight());
  }

  /** (B, T, D) -> logits (B, T, V). */
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
