/**
 * The value head V(x) of ALOL.md step 2: an estimate of the reward the frozen reference policy
 * earns on prompt x, read from the reference's last-layer hidden states over the prompt.
 *
 *   states (B, T, D) over the prompt, padding masked
 *     -> one learned query vector attends over them (multi-head attention pooling, as
 *        torch.nn.MultiheadAttention(D, nHeads)(query, states, states) in the reference code)
 *     -> Linear(D, 1) -> sigmoid * maxValue                                  -> V (B)
 *
 * Departures from the reference, on purpose: padding is masked (the reference passes no
 * key_padding_mask, so its values depend on how a batch was padded); projections are stored
 * [in, out] as the GPT's Conv1D weights are (x @ W with no transpose), with q, k and v as three
 * matrices rather than torch's packed in_proj_weight [3D, D]. The initialisation follows torch:
 * query N(0, 1), q/k/v Xavier-uniform over the packed [3D, D] matrix, out_proj U(+-1/sqrt(D)),
 * attention biases 0, summary weight and bias U(+-1/sqrt(D)).
 *
 * The reference's hidden states never carry a gradient: fitting caches them per prompt (the
 * prompts are fixed), so an epoch costs only the head, and the reference is never updated.
 *
 *   const head = ValueHead.init({ nEmbd: 768, maxValue: 1 }, new Rng(0));   // 8 heads
 *   const v = predictValues(reference, head, [[464, 3290], [40]]);         // Float32Array(2) in [0, 1]
 *   const { head, report } = await fitValueHead({ reference, rows, maxValue: 1, seed: 0 });
 *   // report.bestEpoch 7, report.train { count: 200, mse: 0.012, pearson: 0.81 }
 */
import * as tf from '@tensorflow/tfjs';
import type { NamedTensors } from '../lm/config';
import { padRight } from '../lm/batch';
import type { Gpt } from '../lm/model';
import { AdamW } from '../lm/optim';
import { linear, MASKED } from '../lm/ops';
import { Rng } from '../core/rng';
import { readSafetensors, writeSafetensors } from '../lm/safetensors';
import { trainStep } from '../lm/trainer';
import { maxOf } from '../../shared/extent';

export interface ValueHeadConfig {
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

function checkConfig(c: ValueHeadConfig): void {
  if (!(Number.isInteger(c.nEmbd) && c.nEmbd > 0)) throw new Error(`value head: nEmbd must be a whole number > 0, got ${c.nEmbd}`);
  if (!(Number.isInteger(c.nHeads) && c.nHeads > 0 && c.nEmbd % c.nHeads === 0)) {
    throw new Error(`value head: nHeads ${c.nHeads} must be a whole number > 0 dividing nEmbd ${c.nEmbd}`);
  }
  if (!(c.maxValue > 0 && Number.isFinite(c.maxValue))) throw new Error(`value head: maxValue must be a finite number > 0, got ${c.maxValue}`);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new Error(`value head: dropout must be in [0, 1), got ${c.dropout}`);
}

function uniform(rng: Rng, n: number, bound: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * rng.uniform() - 1) * bound;
  return out;
}

let headCount = 0;

export class ValueHead {
  readonly config: ValueHeadConfig;
  /** Trainable, keyed "value.*" (valueHeadShapes). */
  readonly params: Map<string, tf.Variable>;

  private constructor(config: ValueHeadConfig, params: Map<string, tf.Variable>) {
    this.config = config;
    this.params = params;
  }

  /** A fresh head, drawn from rng in valueHeadShapes order (torch's initialisation; see the top of the file). */
  static init(config: { nEmbd: number; maxValue: number; nHeads?: number; dropout?: number }, rng: Rng): ValueHead {
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
      else if (name === 'value.attn.out_proj.weight' || name.startsWith('value.summary.')) data = uniform(rng, n, linearBound);
      else data = new Float32Array(n); // attention biases start at 0, as torch's _reset_parameters
      weights.set(name, { shape, data });
    }
    return ValueHead.fromWeights(c, weights);
  }

  /** A head holding copies of these weights; names and shapes must be exactly valueHeadShapes(nEmbd). */
  static fromWeights(config: { nEmbd: number; maxValue: number; nHeads?: number; dropout?: number }, weights: NamedTensors): ValueHead {
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
    return new ValueHead(c, params);
  }

  /** Reads a head saved by save(): weights and config from one safetensors file. */
  static load(path: string): ValueHead {
    const { tensors, metadata } = readSafetensors(path);
    if (metadata.format !== VALUE_HEAD_FORMAT) throw new Error(`${path}: not a value head (format "${metadata.format ?? ''}")`);
    if (metadata.version !== VALUE_HEAD_FORMAT_VERSION) {
      throw new Error(`${path}: value head format version ${metadata.version ?? '?'}; this build reads version ${VALUE_HEAD_FORMAT_VERSION}`);
    }
    const num = (key: string): number => {
      const v = Number(metadata[key]);
      if (metadata[key] === undefined || !Number.isFinite(v)) throw new Error(`${path}: metadata "${key}" is missing or not a number`);
      return v;
    };
    return ValueHead.fromWeights({ nEmbd: num('nEmbd'), nHeads: num('nHeads'), maxValue: num('maxValue'), dropout: num('dropout') }, tensors);
  }

  /** Copies of the weights, keyed "value.*". */
  weights(): NamedTensors {
    const out: NamedTensors = new Map();
    for (const [name, v] of this.params) out.set(name, { shape: [...v.shape], data: new Float32Array(v.dataSync()) });
    return out;
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
  predict(hiddenStates: tf.Tensor3D, promptMask: tf.Tensor2D, options: { training?: { dropoutSeed: number } } = {}): tf.Tensor1D {
    const maxValue = this.config.maxValue;
    return tf.tidy(() => tf.mul(tf.sigmoid(this.logits(hiddenStates, promptMask, options)), maxValue));
  }

  /**
   * The summary layer's output before the sigmoid, (B), unbounded: what predict squashes, and what
   * a scalar head trained on differences (the reward model's Bradley-Terry loss) trains directly.
   * Same arguments as predict.
   */
  logits(hiddenStates: tf.Tensor3D, promptMask: tf.Tensor2D, options: { training?: { dropoutSeed: number } } = {}): tf.Tensor1D {
    const [B, T, D] = hiddenStates.shape;
    const c = this.config;
    if (D !== c.nEmbd) throw new Error(`value head: hidden states have D = ${D}, the head expects ${c.nEmbd}`);
    if (promptMask.shape[0] !== B || promptMask.shape[1] !== T) throw new Error(`value head: promptMask has shape [${promptMask.shape}], expected [${B},${T}]`);
    const nh = c.nHeads;
    const hs = D / nh;
    const rate = options.training ? c.dropout : 0;
    const seed = options.training?.dropoutSeed ?? 0;
    const dropout = (x: tf.Tensor2D, site: string): tf.Tensor2D => (rate > 0 ? (tf.dropout(x, rate, undefined, `${seed}/${site}`) as tf.Tensor2D) : x);
    const p1 = (name: string) => this.param(name) as tf.Tensor as tf.Tensor1D; // shapes checked in fromWeights
    const p2 = (name: string) => this.param(name) as tf.Tensor as tf.Tensor2D;
    return tf.tidy(() => {
      const x = dropout(tf.reshape<tf.Rank.R2>(hiddenStates, [B * T, D]), 'value.input'); // (B*T, D)
      const query = tf.reshape<tf.Rank.R2>(p1('value.query'), [1, D]);
      // Scaling q rather than the scores, as torch does: the same product on a smaller tensor.
      const q = tf.reshape(tf.mul(linear(query, p2('value.attn.q_proj.weight'), p1('value.attn.q_proj.bias')), 1 / Math.sqrt(hs)), [1, 1, nh, hs]);
      const k = tf.reshape(linear(x, p2('value.attn.k_proj.weight'), p1('value.attn.k_proj.bias')), [B, T, nh, hs]);
      const v = tf.reshape(linear(x, p2('value.attn.v_proj.weight'), p1('value.attn.v_proj.bias')), [B, T, nh, hs]);
      // One query, so each head's scores are a dot product per position: no batched matMul needed.
      const scores = tf.sum(tf.mul(k, q), 3); // (B, T, nh)
      const padding = tf.reshape(tf.mul(tf.sub(1, tf.cast(promptMask, 'float32')), MASKED), [B, T, 1]);
      const att = tf.softmax(tf.transpose(tf.add(scores, padding), [0, 2, 1])); // (B, nh, T), padding weight exactly 0
      const weights = tf.expandDims(tf.transpose(att, [0, 2, 1]), 3); // (B, T, nh, 1)
      const pooled = tf.reshape<tf.Rank.R2>(tf.sum(tf.mul(weights, v), 1), [B, D]); // (B, D)
      const out = dropout(linear(pooled, p2('value.attn.out_proj.weight'), p1('value.attn.out_proj.bias')), 'value.pooled');
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

function fullConfig(config: { nEmbd: number; maxValue: number; nHeads?: number; dropout?: number }): ValueHeadConfig {
  return { nEmbd: config.nEmbd, maxValue: config.maxValue, nHeads: config.nHeads ?? defaultValueHeads(config.nEmbd), dropout: config.dropout ?? 0.1 };
}

function checkWeights(d: number, weights: NamedTensors): void {
  const expected = valueHeadShapes(d);
  const problems: string[] = [];
  for (const [name, shape] of expected) {
    const w = weights.get(name);
    if (!w) problems.push(`missing ${name}`);
    else if (w.shape.length !== shape.length || w.shape.some((n, i) => n !== shape[i])) problems.push(`${name} has shape [${w.shape}], expected [${shape}]`);
    else if (w.data.length !== shape.reduce((a, b) => a * b, 1)) problems.push(`${name} has ${w.data.length} values for shape [${shape}]`);
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
export function promptStates(reference: Gpt, prompts: readonly (readonly number[])[], batchSize = 16): Float32Array[] {
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
      reference.hidden(tf.tensor2d(batch.ids, [B, T], 'int32'), { attentionMask: tf.tensor2d(batch.attentionMask, [B, T], 'float32') }),
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
    if (!(Number.isInteger(n) && n > 0)) throw new Error(`stackStates: prompt ${i} has ${s.length} values, not a whole number (> 0) of rows of ${d}`);
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
export function headOnStates(head: ValueHead, states: readonly Float32Array[], batchSize: number, output: 'values' | 'logits' = 'values'): Float32Array {
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
export function predictValues(reference: Gpt, head: ValueHead, prompts: readonly (readonly number[])[], batchSize = 16): Float32Array {
  checkBatchSize(batchSize);
  if (reference.config.nEmbd !== head.config.nEmbd) throw new Error(`value head expects D = ${head.config.nEmbd}; the reference has ${reference.config.nEmbd}`);
  const out = new Float32Array(prompts.length);
  for (let start = 0; start < prompts.length; start += batchSize) {
    const chunk = prompts.slice(start, start + batchSize);
    out.set(headOnStates(head, promptStates(reference, chunk, batchSize), batchSize), start);
  }
  return out;
}

function checkBatchSize(n: number): void {
  if (!(Number.isInteger(n) && n > 0)) throw new Error(`batchSize must be a whole number > 0, got ${n}`);
}

// ---------------------------------------------------------------------------------------------
// Fitting.

export interface ValueRow {
  promptIds: number[];
  /** What V(x) should predict: a decode's score, a mean of several, or a data reward. */
  target: number;
}

export interface FitValueHeadOptions {
  /** The frozen reference policy; read, never updated. */
  reference: Gpt;
  rows: readonly ValueRow[];
  /** Top of the reward range (1 for [0, 1] rewards); every target must lie in [0, maxValue]. */
  maxValue: number;
  /** Passes over the fitting rows. Reference: 10. */
  epochs?: number;
  /** Rows per optimizer step. Reference: 16. */
  batchSize?: number;
  /**
   * AdamW learning rate. The reference's 1e-5 is for a head on a 1.5B model's 1,600-wide states,
   * trained against thousands of prompts; a from-scratch head on a small model with a few hundred
   * prompts barely moves at that rate in 10 epochs, so the default is PyTorch's AdamW default, 1e-3.
   */
  lr?: number;
  /** Decoupled weight decay on the projection matrices (decayByDefault). PyTorch: 1e-2. */
  weightDecay?: number;
  /** Clip the gradient norm; null (default) never clips: Adam's step is already bounded by lr. */
  maxGradNorm?: number | null;
  /** Pooling heads; default defaultValueHeads(D). */
  nHeads?: number;
  /** Head dropout while fitting. Reference: 0.1. */
  dropout?: number;
  /** Seeds the head's initialisation, the split, the shuffles and dropout: the same seed, the same head. */
  seed: number;
  /**
   * Rows (whole prompts: every row of a prompt goes the same way) held out to choose the best
   * epoch and to report on. 0 (default): the best epoch is chosen on the fitting rows.
   */
  validationFraction?: number;
  /** Prompts per reference forward when caching states; default batchSize. */
  referenceBatchSize?: number;
  /** After each epoch; awaited, so a caller can report progress or throw to stop. */
  onEpoch?: (epoch: EpochReport) => void | Promise<void>;
}

export interface EpochReport {
  /** 1-based. */
  epoch: number;
  /** Mean of the epoch's batch losses (MSE, with dropout, as the weights moved). */
  trainLoss: number;
  /** MSE on the fitting rows after the epoch, no dropout. */
  trainMse: number;
  /** MSE on the validation rows after the epoch, or null without a validation part. */
  validationMse: number | null;
}

export interface FitMetrics {
  count: number;
  mse: number;
  /** Pearson correlation of V and the targets; null when either is constant. */
  pearson: number | null;
}

export interface FitReport {
  /** The epoch whose weights the head holds: lowest validationMse, or lowest trainMse without validation. */
  bestEpoch: number;
  selectedBy: 'validation' | 'train';
  epochs: EpochReport[];
  /** Of the kept head, on the fitting rows. */
  train: FitMetrics;
  /** Of the kept head, on the validation rows; null without them. */
  validation: FitMetrics | null;
  /** Distinct prompts whose states were cached. */
  prompts: number;
}

export const FIT_DEFAULTS = { epochs: 10, batchSize: 16, lr: 1e-3, weightDecay: 1e-2, dropout: 0.1, validationFraction: 0 } as const;

/**
 * Fits a fresh value head on (prompt, target) rows by MSE with AdamW, and keeps the weights of the
 * epoch with the lowest MSE (on the validation rows when there are any). The reference's states
 * are computed once per distinct prompt and reused by every epoch.
 */
export async function fitValueHead(options: FitValueHeadOptions): Promise<{ head: ValueHead; report: FitReport }> {
  const { reference, rows, maxValue, seed } = options;
  const epochs = options.epochs ?? FIT_DEFAULTS.epochs;
  const batchSize = options.batchSize ?? FIT_DEFAULTS.batchSize;
  const lr = options.lr ?? FIT_DEFAULTS.lr;
  const validationFraction = options.validationFraction ?? FIT_DEFAULTS.validationFraction;
  if (!(Number.isInteger(epochs) && epochs >= 1)) throw new Error(`epochs must be a whole number >= 1, got ${epochs}`);
  checkBatchSize(batchSize);
  if (!(lr > 0)) throw new Error(`lr must be > 0, got ${lr}`);
  if (!(validationFraction >= 0 && validationFraction < 1)) throw new Error(`validationFraction must be in [0, 1), got ${validationFraction}`);
  if (rows.length === 0) throw new Error('fitValueHead: no rows');
  rows.forEach((r, i) => {
    if (!(Number.isFinite(r.target) && r.target >= 0 && r.target <= maxValue)) {
      throw new Error(`fitValueHead: row ${i} has target ${r.target}, outside [0, maxValue = ${maxValue}] where sigmoid * maxValue lives`);
    }
    if (r.promptIds.length === 0) throw new Error(`fitValueHead: row ${i} has an empty prompt (prepend BOS)`);
  });

  // Distinct prompts: their states are cached once, and the split never divides one prompt's rows.
  const { unique: uniquePrompts, indexOf: promptOf } = distinctSequences(rows.map((r) => r.promptIds));

  const rng = new Rng(seed);
  const head = ValueHead.init({ nEmbd: reference.config.nEmbd, maxValue, nHeads: options.nHeads, dropout: options.dropout ?? FIT_DEFAULTS.dropout }, rng);
  let optimizer: AdamW | null = null;
  try {
    const held = new Set(heldOutPrompts(uniquePrompts.length, validationFraction, rng));
    const trainRows = rows.map((_, i) => i).filter((i) => !held.has(promptOf[i]!));
    const validationRows = rows.map((_, i) => i).filter((i) => held.has(promptOf[i]!));
    const states = promptStates(reference, uniquePrompts, options.referenceBatchSize ?? batchSize);
    const targets = Float32Array.from(rows, (r) => r.target);

    const mse = (indices: readonly number[]): { mse: number; values: Float32Array } => {
      const values = headOnStates(head, indices.map((i) => states[promptOf[i]!]!), batchSize);
      let s = 0;
      indices.forEach((i, j) => (s += (values[j]! - targets[i]!) ** 2));
      return { mse: s / indices.length, values };
    };

    optimizer = adamW(head.params, { lr, weightDecay: options.weightDecay ?? FIT_DEFAULTS.weightDecay });
    const reports: EpochReport[] = [];
    let best: { epoch: number; loss: number; weights: NamedTensors } | null = null;
    const order = [...trainRows];
    for (let epoch = 1; epoch <= epochs; epoch++) {
      rng.shuffle(order);
      const losses: number[] = [];
      for (let start = 0; start < order.length; start += batchSize) {
        const batch = { rows: order.slice(start, start + batchSize), dropoutSeed: rng.seed() };
        const step = trainStep({
          params: head.params,
          optimizer,
          microBatches: [batch],
          lr,
          maxGradNorm: options.maxGradNorm ?? null,
          loss: (mb) => {
            const { hidden, mask } = stackStates(mb.rows.map((i) => states[promptOf[i]!]!), head.config.nEmbd);
            const v = head.predict(hidden, mask, { training: { dropoutSeed: mb.dropoutSeed } });
            return tf.mean(tf.square(tf.sub(v, tf.tensor1d(mb.rows.map((i) => targets[i]!))))) as tf.Scalar; // mean of (B): rank 0
          },
        });
        losses.push(step.loss);
      }
      const report: EpochReport = {
        epoch,
        trainLoss: losses.reduce((a, b) => a + b, 0) / losses.length,
        trainMse: mse(trainRows).mse,
        validationMse: validationRows.length > 0 ? mse(validationRows).mse : null,
      };
      reports.push(report);
      const loss = report.validationMse ?? report.trainMse;
      if (best === null || loss < best.loss) best = { epoch, loss, weights: head.weights() };
      await options.onEpoch?.(report);
    }
    head.setWeights(best!.weights); // epochs >= 1, so some epoch was best

    const metrics = (indices: readonly number[]): FitMetrics => {
      const { mse: m, values } = mse(indices);
      return { count: indices.length, mse: m, pearson: pearson(values, indices.map((i) => targets[i]!)) };
    };
    const report: FitReport = {
      bestEpoch: best!.epoch,
      selectedBy: validationRows.length > 0 ? 'validation' : 'train',
      epochs: reports,
      train: metrics(trainRows),
      validation: validationRows.length > 0 ? metrics(validationRows) : null,
      prompts: uniquePrompts.length,
    };
    return { head, report };
  } catch (error) {
    head.dispose();
    throw error;
  } finally {
    optimizer?.dispose();
  }
}

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

/**
 * Each distinct token sequence once, in first-seen order, and for every input the index of its
 * sequence in `unique`: what caches one reference forward per prompt (or per response).
 *
 *   distinctSequences([[1, 2], [3], [1, 2]]) // { unique: [[1, 2], [3]], indexOf: [0, 1, 0] }
 */
export function distinctSequences<T extends readonly number[]>(sequences: readonly T[]): { unique: T[]; indexOf: number[] } {
  const unique: T[] = [];
  const seen = new Map<string, number>();
  const indexOf = sequences.map((ids) => {
    const key = ids.join(',');
    let i = seen.get(key);
    if (i === undefined) {
      i = unique.length;
      seen.set(key, i);
      unique.push(ids);
    }
    return i;
  });
  return { unique, indexOf };
}

/**
 * Which of n prompts (or groups) to hold out: round(n * fraction) of them, at least one when
 * fraction > 0, and never all (at least one is left to fit on).
 */
export function heldOutPrompts(n: number, fraction: number, rng: Rng): number[] {
  if (fraction === 0) return [];
  if (n < 2) throw new Error(`validationFraction ${fraction} needs at least 2 distinct prompts, got ${n}`);
  const k = Math.min(n - 1, Math.max(1, Math.round(n * fraction)));
  const order = Array.from({ length: n }, (_, i) => i);
  rng.shuffle(order);
  return order.slice(0, k);
}

/** Pearson's r in float64; null when fewer than two values or either side is constant. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number | null {
  const n = a.length;
  if (n !== b.length) throw new Error(`pearson: lengths differ (${n} vs ${b.length})`);
  if (n < 2) return null;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa === 0 || sbb === 0) return null;
  return sab / Math.sqrt(saa * sbb);
}
