/**
 * The attention-pooled scalar head that the value head V(x) (alol/valueHead.ts) and the reward
 * model (rewards/rewardModel.ts) share: it reads a frozen GPT's last-layer hidden states.
 *
 *   states (B, T, D), padding masked
 *     -> one learned query vector attends over them (multi-head attention pooling, as
 *        torch.nn.MultiheadAttention(D, nHeads)(query, states, states) in the reference code)
 *     -> Linear(D, 1) -> sigmoid * maxValue (values) or the raw logit (logits)       -> (B)
 *
 * Departures from the reference, on purpose: padding is masked (the reference passes no
 * key_padding_mask, so its values depend on how a batch was padded); projections are stored
 * [in, out] as the GPT's Conv1D weights are (x @ W with no transpose), with q, k and v as three
 * matrices rather than torch's packed in_proj_weight [3D, D]. The initialisation follows torch:
 * query N(0, 1), q/k/v Xavier-uniform over the packed [3D, D] matrix, out_proj U(+-1/sqrt(D)),
 * attention biases 0, summary weight and bias U(+-1/sqrt(D)).
 *
 *   const head = PooledHead.init({ nEmbd: 768, maxValue: 1 }, new Rng(0));   // 8 heads
 *   const v = predictValues(reference, head, [[464, 3290], [40]]);          // Float32Array(2) in [0, 1]
 */
import { copyWeights } from './weights';
import * as tf from '@tensorflow/tfjs';
import type { NamedTensors } from './config';
import { padRight } from './batch';
import type { CausalLm } from './causalLm';
import { AdamW } from './optim';
import { linear, MASKED } from './ops';
import { Rng } from '../core/rng';
import { readSafetensors, writeSafetensors } from './safetensors';
import { maxOf } from '../../shared/extent';

export interface PooledHeadConfig {
  /** D: the reference's hidden size. */
  nEmbd: number;
  /** Attention heads of the pooling; must divide nEmbd. Default: defaultValueHeads(nEmbd). */
  nHeads: number;
  /** The top of the reward range: V = sigmoid(.) * maxValue lies in [0, maxValue]. */
  maxValue: number;
  /** Dropout on the input states and on the pooled vector while fitting; the reference: 0.1. */
  dropout: number;
}

/** The reference's 8 heads when 8 divides d, else the largest divisor of d below 8: 768 -> 8, 36 -> 6, 7 -> 7. */
export function defaultValueHeads(d: number): number {
  for (let h = 8; h > 1; h--) if (d % h === 0) return h;
  return 1;
}

/** Parameter names and shapes, in the order init draws them. */
export function valueHeadShapes(d: number): Map<string, number[]> {
  return new Map([
    ['value.query', [d]],
    ['value.attn.q_proj.weight', [d, d]],
    ['value.attn.q_proj.bias', [d]],
    ['value.attn.k_proj.weight', [d, d]],
    ['value.attn.k_proj.bias', [d]],
    ['value.attn.v_proj.weight', [d, d]],
    ['value.attn.v_proj.bias', [d]],
    ['value.attn.out_proj.weight', [d, d]],
    ['value.attn.out_proj.bias', [d]],
    ['value.summary.weight', [d, 1]],
    ['value.summary.bias', [1]],
  ]);
}

/** The save format's name and version, written into a saved head's safetensors metadata. */
export const VALUE_HEAD_FORMAT = 'alol-value-head';
export const VALUE_HEAD_FORMAT_VERSION = '1';

function checkConfig(c: PooledHeadConfig): void {
  if (!(Number.isInteger(c.nEmbd) && c.nEmbd > 0))
    throw new Error(`value head: nEmbd must be a whole number > 0, got ${c.nEmbd}`);
  if (!(Number.isInteger(c.nHeads) && c.nHeads > 0 && c.nEmbd % c.nHeads === 0)) {
    throw new Error(`value head: nHeads ${c.nHeads} must be a whole number > 0 dividing nEmbd ${c.nEmbd}`);
  }
  if (!(c.maxValue > 0 && Number.isFinite(c.maxValue)))
    throw new Error(`value head: maxValue must be a finite number > 0, got ${c.maxValue}`);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new Error(`value head: dropout must be in [0, 1), got ${c.dropout}`);
}

function uniform(rng: Rng, n: number, bound: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * rng.uniform() - 1) * bound;
  return out;
}

let headCount = 0;

export class PooledHead {
  readonly config: PooledHeadConfig;
  /** Trainable, keyed "value.*" (valueHeadShapes). */
  readonly params: Map<string, tf.Variable>;

  private constructor(config: PooledHeadConfig, params: Map<string, tf.Variable>) {
    this.config = config;
    this.params = params;
  }

  /** A fresh head, drawn from rng in valueHeadShapes order (torch's initialisation; see the top of the file). */
  static init(config: { nEmbd: number; maxValue: number; nHeads?: number; dropout?: number }, rng: Rng): PooledHead {
    const c = fullConfig(config);
    checkConfig(c);
    const d = c.nEmbd;
    const xavier = Math.sqrt(6 / (d + 3 * d)); // fan_in D, fan_out 3D: torch's packed in_proj_weight
    const linearBound = 1 / Math.sqrt(d); // nn.Linear's kaiming_uniform(a = sqrt 5) and its bias
    const weights: NamedTensors = new Map();
    for (const [name, shape] of valueHeadShapes(d)) {
      const n = shape.reduce((a, b) => a * b, 1);
      let data: Float32Array;
      if (name === 'value.query') data = Float32Array.from({ length: n }, () => rng.normal());
      else if (/^value\.attn\.[qkv]_proj\.weight$/.test(name)) data = uniform(rng, n, xavier);
      else if (name === 'value.attn.out_proj.weight' || name.startsWith('value.summary.'))
        data = uniform(rng, n, linearBound);
      else data = new Float32Array(n); // attention biases start at 0, as torch's _reset_parameters
      weights.set(name, { shape, data });
    }
    return PooledHead.fromWeights(c, weights);
  }

  /** A head holding copies of these weights; names and shapes must be exactly valueHeadShapes(nEmbd). */
  static fromWeights(
    config: { nEmbd: number; maxValue: number; nHeads?: number; dropout?: number },
    weights: NamedTensors,
  ): PooledHead {
    const c = fullConfig(config);
    checkConfig(c);
    checkWeights(c.nEmbd, weights);
    // tf.Variable names are global to the engine: a per-head prefix lets several heads coexist.
    const id = headCount++;
    const params = new Map<string, tf.Variable>();
    for (const [name, shape] of valueHeadShapes(c.nEmbd)) {
      const initial = tf.tensor(weights.get(name)!.data, shape, 'float32'); // present: checkWeights
      params.set(name, tf.variable(initial, true, `valuehead${id}/${name}`));
      initial.dispose();
    }
    return new PooledHead(c, params);
  }

  /** Reads a head saved by save(): weights and config from one safetensors file. */
  static load(path: string): PooledHead {
    const { tensors, metadata } = readSafetensors(path);
    if (metadata.format !== VALUE_HEAD_FORMAT)
      throw new Error(`${path}: not a value head (format "${metadata.format ?? ''}")`);
    if (metadata.version !== VALUE_HEAD_FORMAT_VERSION) {
      throw new Error(
        `${path}: value head format version ${metadata.version ?? '?'}; this build reads version ${VALUE_HEAD_FORMAT_VERSION}`,
      );
    }
    const num = (key: string): number => {
      const v = Number(metadata[key]);
      if (metadata[key] === undefined || !Number.isFinite(v))
        throw new Error(`${path}: metadata "${key}" is missing or not a number`);
      return v;
    };
    return PooledHead.fromWeights(
      { nEmbd: num('nEmbd'), nHeads: num('nHeads'), maxValue: num('maxValue'), dropout: num('dropout') },
      tensors,
    );
  }

  /** Copies of the weights, keyed "value.*". */
  weights(): NamedTensors {
    return copyWeights(this.params);
  }

  /** Overwrites every weight (e.g. to restore the best epoch); names and shapes as valueHeadShapes. */
  setWeights(weights: NamedTensors): void {
    checkWeights(this.config.nEmbd, weights);
    for (const [name, v] of this.params) {
      const w = weights.get(name)!; // present: checkWeights
      tf.tidy(() => v.assign(tf.tensor(w.data, w.shape, 'float32')));
    }
  }

  /** The weights with the config in the metadata, atomically (writeSafetensors). */
  save(path: string): void {
    const c = this.config;
    writeSafetensors(path, this.weights(), {
      format: VALUE_HEAD_FORMAT,
      version: VALUE_HEAD_FORMAT_VERSION,
      nEmbd: String(c.nEmbd),
      nHeads: String(c.nHeads),
      maxValue: String(c.maxValue),
      dropout: String(c.dropout),
    });
  }

  /**
   * V(x) for a batch, in [0, maxValue]: sigmoid(logits(...)) * maxValue. hiddenStates: (B, T, D)
   * reference states; promptMask: (B, T) 1 on prompt tokens, 0 on padding (each row needs at least
   * one 1: an all-padding row would pool over padding). With `training`, dropout at
   * config.dropout, seeded.
   */
  predict(
    hiddenStates: tf.Tensor3D,
    promptMask: tf.Tensor2D,
    options: { training?: { dropoutSeed: number } } = {},
  ): tf.Tensor1D {
    const maxValue = this.config.maxValue;
    return tf.tidy(() => tf.mul(tf.sigmoid(this.logits(hiddenStates, promptMask, options)), maxValue));
  }

  /**
   * The summary layer's output before the sigmoid, (B), unbounded: what predict squashes, and what
   * a scalar head trained on differences (the reward model's Bradley-Terry loss) trains directly.
   * Same arguments as predict.
   */
  logits(
    hiddenStates: tf.Tensor3D,
    promptMask: tf.Tensor2D,
    options: { training?: { dropoutSeed: number } } = {},
  ): tf.Tensor1D {
    const [B, T, D] = hiddenStates.shape;
    const c = this.config;
    if (D !== c.nEmbd) throw new Error(`value head: hidden states have D = ${D}, the head expects ${c.nEmbd}`);
    if (promptMask.shape[0] !== B || promptMask.shape[1] !== T)
      throw new Error(`value head: promptMask has shape [${promptMask.shape}], expected [${B},${T}]`);
    const nh = c.nHeads;
    const hs = D / nh;
    const rate = options.training ? c.dropout : 0;
    const seed = options.training?.dropoutSeed ?? 0;
    const dropout = (x: tf.Tensor2D, site: string): tf.Tensor2D =>
      rate > 0 ? (tf.dropout(x, rate, undefined, `${seed}/${site}`) as tf.Tensor2D) : x;
    const p1 = (name: string) => this.param(name) as tf.Tensor as tf.Tensor1D; // shapes checked in fromWeights
    const p2 = (name: string) => this.param(name) as tf.Tensor as tf.Tensor2D;
    return tf.tidy(() => {
      const x = dropout(tf.reshape<tf.Rank.R2>(hiddenStates, [B * T, D]), 'value.input'); // (B*T, D)
      const query = tf.reshape<tf.Rank.R2>(p1('value.query'), [1, D]);
      // Scaling q rather than the scores, as torch does: the same product on a smaller tensor.
      const q = tf.reshape(
        tf.mul(linear(query, p2('value.attn.q_proj.weight'), p1('value.attn.q_proj.bias')), 1 / Math.sqrt(hs)),
        [1, 1, nh, hs],
      );
      const k = tf.reshape(linear(x, p2('value.attn.k_proj.weight'), p1('value.attn.k_proj.bias')), [B, T, nh, hs]);
      const v = tf.reshape(linear(x, p2('value.attn.v_proj.weight'), p1('value.attn.v_proj.bias')), [B, T, nh, hs]);
      // One query, so each head's scores are a dot product per position: no batched matMul needed.
      const scores = tf.sum(tf.mul(k, q), 3); // (B, T, nh)
      const padding = tf.reshape(tf.mul(tf.sub(1, tf.cast(promptMask, 'float32')), MASKED), [B, T, 1]);
      const att = tf.softmax(tf.transpose(tf.add(scores, padding), [0, 2, 1])); // (B, nh, T), padding weight exactly 0
      const weights = tf.expandDims(tf.transpose(att, [0, 2, 1]), 3); // (B, T, nh, 1)
      const pooled = tf.reshape<tf.Rank.R2>(tf.sum(tf.mul(weights, v), 1), [B, D]); // (B, D)
      const out = dropout(
        linear(pooled, p2('value.attn.out_proj.weight'), p1('value.attn.out_proj.bias')),
        'value.pooled',
      );
      const logit = linear(out, p2('value.summary.weight'), p1('value.summary.bias')); // (B, 1)
      return tf.reshape(logit, [B]);
    });
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
  }

  private param(name: string): tf.Variable {
    const v = this.params.get(name);
    if (!v) throw new Error(`value head: missing parameter ${name} (disposed?)`);
    return v;
  }
}

function fullConfig(config: { nEmbd: number; maxValue: number; nHeads?: number; dropout?: number }): PooledHeadConfig {
  return {
    nEmbd: config.nEmbd,
    maxValue: config.maxValue,
    nHeads: config.nHeads ?? defaultValueHeads(config.nEmbd),
    dropout: config.dropout ?? 0.1,
  };
}

function checkWeights(d: number, weights: NamedTensors): void {
  const expected = valueHeadShapes(d);
  const problems: string[] = [];
  for (const [name, shape] of expected) {
    const w = weights.get(name);
    if (!w) problems.push(`missing ${name}`);
    else if (w.shape.length !== shape.length || w.shape.some((n, i) => n !== shape[i]))
      problems.push(`${name} has shape [${w.shape}], expected [${shape}]`);
    else if (w.data.length !== shape.reduce((a, b) => a * b, 1))
      problems.push(`${name} has ${w.data.length} values for shape [${shape}]`);
  }
  for (const name of weights.keys()) if (!expected.has(name)) problems.push(`unexpected ${name}`);
  if (problems.length > 0) throw new Error(`value head weights do not fit nEmbd ${d}: ${problems.join('; ')}`);
}

// ---------------------------------------------------------------------------------------------
// The reference's states over prompts, and V(x) from them.

/**
 * Each prompt's final hidden states under the frozen reference, (len_i * D) row-major, as it would
 * get them alone. Prompts are batched by length (right padding, masked), so little padding is
 * computed; no tensor outlives the call.
 *
 *   promptStates(reference, [[5, 6, 7], [8]]) // [Float32Array(3 * D), Float32Array(1 * D)]
 */
export function promptStates(
  reference: CausalLm,
  prompts: readonly (readonly number[])[],
  batchSize = 16,
): Float32Array[] {
  checkBatchSize(batchSize);
  const D = reference.config.nEmbd;
  const out: Float32Array[] = new Array<Float32Array>(prompts.length);
  const order = prompts.map((_, i) => i).sort((a, b) => prompts[a]!.length - prompts[b]!.length);
  for (let start = 0; start < order.length; start += batchSize) {
    const chunk = order.slice(start, start + batchSize);
    const batch = padRight(
      chunk.map((i) => ({ prompt: [...prompts[i]!], response: [] })),
      { padId: reference.config.eosTokenId, maxLength: reference.config.nPositions },
    );
    const [B, T] = [batch.batchSize, batch.length];
    const h = tf.tidy(() =>
      reference.hidden(tf.tensor2d(batch.ids, [B, T], 'int32'), {
        attentionMask: tf.tensor2d(batch.attentionMask, [B, T], 'float32'),
      }),
    ); // (B, T, D)
    // Read outside tf.tidy: returning a TypedArray from it walks every element.
    const data = h.dataSync() as Float32Array;
    h.dispose();
    chunk.forEach((i, b) => {
      out[i] = data.slice(b * T * D, (b * T + batch.promptLengths[b]!) * D);
    });
  }
  return out;
}

/**
 * Prompt states of different lengths as one right-padded batch, for use inside the caller's
 * tf.tidy: hidden (B, T, D), zeros on padding; mask (B, T), 1 on prompt tokens.
 */
export function stackStates(states: readonly Float32Array[], d: number): { hidden: tf.Tensor3D; mask: tf.Tensor2D } {
  if (states.length === 0) throw new Error('stackStates: no prompts');
  const lengths = states.map((s, i) => {
    const n = s.length / d;
    if (!(Number.isInteger(n) && n > 0))
      throw new Error(`stackStates: prompt ${i} has ${s.length} values, not a whole number (> 0) of rows of ${d}`);
    return n;
  });
  const B = states.length;
  const T = maxOf(lengths);
  const hidden = new Float32Array(B * T * d);
  const mask = new Float32Array(B * T);
  states.forEach((s, b) => {
    hidden.set(s, b * T * d);
    mask.fill(1, b * T, b * T + lengths[b]!);
  });
  return { hidden: tf.tensor3d(hidden, [B, T, d]), mask: tf.tensor2d(mask, [B, T]) };
}

/** The head on each cached state, in batches, with no dropout: V(x) (`values`), or the unbounded score before the sigmoid (`logits`). */
export function headOnStates(
  head: PooledHead,
  states: readonly Float32Array[],
  batchSize: number,
  output: 'values' | 'logits' = 'values',
): Float32Array {
  const out = new Float32Array(states.length);
  for (let start = 0; start < states.length; start += batchSize) {
    const v = tf.tidy(() => {
      const { hidden, mask } = stackStates(states.slice(start, start + batchSize), head.config.nEmbd);
      return output === 'values' ? head.predict(hidden, mask) : head.logits(hidden, mask);
    });
    out.set(v.dataSync(), start);
    v.dispose();
  }
  return out;
}

/**
 * V(x) for each prompt: the reference's states then the head, batch by batch (batchSize prompts
 * per reference forward), so only one batch of states is held at a time.
 */
export function predictValues(
  reference: CausalLm,
  head: PooledHead,
  prompts: readonly (readonly number[])[],
  batchSize = 16,
): Float32Array {
  checkBatchSize(batchSize);
  if (reference.config.nEmbd !== head.config.nEmbd)
    throw new Error(`value head expects D = ${head.config.nEmbd}; the reference has ${reference.config.nEmbd}`);
  const out = new Float32Array(prompts.length);
  for (let start = 0; start < prompts.length; start += batchSize) {
    const chunk = prompts.slice(start, start + batchSize);
    out.set(headOnStates(head, promptStates(reference, chunk, batchSize), batchSize), start);
  }
  return out;
}

export function checkBatchSize(n: number): void {
  if (!(Number.isInteger(n) && n > 0)) throw new Error(`batchSize must be a whole number > 0, got ${n}`);
}

// ---------------------------------------------------------------------------------------------
// Fitting.

/**
 * AdamW made inside tf.tidy: its constructor leaves behind the zerosLike tensors its moment
 * variables were made from (a variable shares its initial tensor's data), and dispose() frees only
 * the variables, so every fit would leak two tensors per parameter.
 */
export function adamW(params: Map<string, tf.Variable>, config: { lr: number; weightDecay: number }): AdamW {
  const made: { optimizer?: AdamW } = {};
  tf.tidy(() => {
    made.optimizer = new AdamW(params, config);
  });
  return made.optimizer!; // set inside the tidy just above
}
