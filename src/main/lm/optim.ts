/**
 * AdamW with PyTorch's semantics (torch.optim.AdamW, Loshchilov & Hutter 2019), global
 * gradient-norm clipping as torch.nn.utils.clip_grad_norm_, and an optimizer state that a
 * checkpoint can hold as plain Float32Arrays.
 *
 * One step, per parameter p with gradient g, at step t (1-based) and learning rate lr:
 *   p <- p * (1 - lr * wd)                          // decoupled decay, only where decay(name)
 *   m <- b1 * m + (1 - b1) * g
 *   v <- b2 * v + (1 - b2) * g^2
 *   p <- p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * e.g. p = 1, g = 0.5, lr = 0.1, wd = 0.1, t = 1: p = 0.99, m = 0.05, v = 0.00025, and
 * p = 0.99 - 0.1 * 0.5 / (0.5 + 1e-8) = 0.89 (the first Adam step moves by lr * sign(g)).
 */
import * as tf from '@tensorflow/tfjs';
import { sameShape, type NamedTensors } from './config';

export interface AdamWConfig {
  /** Learning rate when a step is given none (a schedule usually passes one per step). PyTorch: 1e-3. */
  lr: number;
  /** Decay of the first-moment average. PyTorch: 0.9. */
  beta1: number;
  /** Decay of the second-moment average. PyTorch: 0.999. */
  beta2: number;
  /** Added to sqrt(v-hat), after bias correction, as PyTorch does. PyTorch: 1e-8. */
  eps: number;
  /** Decoupled weight decay: each step multiplies a decayed parameter by (1 - lr * weightDecay). PyTorch: 1e-2. */
  weightDecay: number;
}

export const ADAMW_DEFAULTS: Readonly<AdamWConfig> = {
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 1e-2,
};

/**
 * Which parameters weight decay applies to, by name: the matrices of linear layers only, as
 * nanoGPT and Hugging Face's Trainer do; biases, layer norms (ln_*) and the embeddings (wte, wpe)
 * are left alone. 'h.0.attn.c_attn.weight' -> true; 'h.0.ln_1.weight', 'wte.weight', 'h.0.mlp.c_fc.bias' -> false.
 */
export function decayByDefault(name: string): boolean {
  if (!name.endsWith('.weight')) return false;
  const parts = name.split('.');
  return !parts.some((part) => part.startsWith('ln_') || part === 'wte' || part === 'wpe');
}

/** What a checkpoint stores of the optimizer: the step count and both moment estimates by parameter name. */
export interface AdamWState {
  step: number;
  m: NamedTensors;
  v: NamedTensors;
}

/**
 * Where the two moment estimates live: 'device' as tensors beside the weights (a GPU's memory);
 * 'host' as plain Float32Arrays in the process's memory, with the update computed in JS. On wasm
 * the tensors would sit in its 32-bit heap (4 GB in all): two moments are twice the weights, so a
 * 124M-parameter model's 1 GB of moments alone would take a quarter of it. On the cpu backend the
 * tensors are host arrays anyway.
 */
export type MomentPlace = 'host' | 'device';

export function defaultMomentPlace(): MomentPlace {
  const backend = tf.getBackend();
  return backend === 'wasm' || backend === 'cpu' ? 'host' : 'device';
}

/** How apply() turns a summed gradient into the one it steps with: (g / divideBy) * scale, per tensor. */
export interface GradientTransform {
  /** The mean over micro-batches: the sum divided by their count (absent: 1). */
  divideBy?: number;
  /** Global-norm clipping's factor (absent: none). */
  scale?: number;
}

const f32 = Math.fround;

export class AdamW {
  readonly config: AdamWConfig;
  readonly moments: MomentPlace;
  private readonly params: Map<string, tf.Variable>;
  private readonly decay: (name: string) => boolean;
  private readonly m = new Map<string, tf.Variable | Float32Array>();
  private readonly v = new Map<string, tf.Variable | Float32Array>();
  private t = 0;

  /**
   * `decay` chooses by name which parameters weight decay touches (default: decayByDefault).
   * Moments start at zero, as in PyTorch, where `moments` says (default: defaultMomentPlace()).
   */
  constructor(
    params: Map<string, tf.Variable>,
    config: Partial<AdamWConfig> = {},
    decay: (name: string) => boolean = decayByDefault,
    moments: MomentPlace = defaultMomentPlace(),
  ) {
    this.config = { ...ADAMW_DEFAULTS, ...config };
    this.params = params;
    this.decay = decay;
    this.moments = moments;
    for (const [name, p] of params) {
      if (moments === 'host') {
        this.m.set(name, new Float32Array(p.size));
        this.v.set(name, new Float32Array(p.size));
        continue;
      }
      // Unnamed variables: tf.Variable names are global to the engine, and two optimizers may coexist.
      // Inside tidy: a variable shares its initial tensor's data, and that tensor must not outlive it.
      this.m.set(
        name,
        tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
      );
      this.v.set(
        name,
        tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
      );
    }
  }

  /** Optimizer steps taken so far (the t of the bias correction is step + 1 during the next one). */
  get step(): number {
    return this.t;
  }

  /**
   * One AdamW step with the given gradients, each first divided and scaled as `transform` says (a
   * mean over micro-batches, a clipping factor), one tensor at a time so that no second copy of all
   * gradients exists. A parameter with no gradient is skipped entirely (no decay, moments
   * untouched), as PyTorch skips `grad is None`; unlike PyTorch the step count is shared, so its
   * bias correction keeps counting. Both moment places compute the same float32 operations in the
   * same order: host steps equal device steps on wasm bit for bit.
   */
  apply(grads: Map<string, tf.Tensor>, lr: number = this.config.lr, transform: GradientTransform = {}): void {
    for (const [name, g] of grads) {
      const p = this.params.get(name);
      if (p !== undefined && !sameShape(g.shape, p.shape))
        throw new Error(`AdamW: gradient of ${name} has shape [${g.shape}], parameter [${p.shape}]`);
    }
    this.t += 1;
    if (this.moments === 'host') this.applyOnHost(grads, lr, transform);
    else this.applyOnDevice(grads, lr, transform);
  }

  private applyOnDevice(grads: Map<string, tf.Tensor>, lr: number, { divideBy, scale }: GradientTransform): void {
    const { beta1: b1, beta2: b2, eps, weightDecay: wd } = this.config;
    const bc1 = 1 - b1 ** this.t;
    const bc2 = 1 - b2 ** this.t;
    tf.tidy(() => {
      const keep = tf.scalar(1 - lr * wd);
      const beta1 = tf.scalar(b1);
      const oneMinusBeta1 = tf.scalar(1 - b1);
      const beta2 = tf.scalar(b2);
      const oneMinusBeta2 = tf.scalar(1 - b2);
      const sqrtBc2 = tf.scalar(Math.sqrt(bc2));
      const epsilon = tf.scalar(eps);
      const stepSize = tf.scalar(lr / bc1);
      const divisor = divideBy === undefined || divideBy === 1 ? null : tf.scalar(divideBy);
      const factor = scale === undefined ? null : tf.scalar(scale);
      for (const [name, p] of this.params) {
        const raw = grads.get(name);
        if (raw === undefined) continue;
        tf.tidy(() => {
          const averaged = divisor === null ? raw : tf.div(raw, divisor);
          const g = factor === null ? averaged : tf.mul(averaged, factor);
          const m = this.m.get(name) as tf.Variable;
          const v = this.v.get(name) as tf.Variable;
          const decayed = wd !== 0 && this.decay(name) ? tf.mul(p, keep) : p;
          const m1 = tf.add(tf.mul(m, beta1), tf.mul(g, oneMinusBeta1));
          const v1 = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), oneMinusBeta2));
          const denom = tf.add(tf.div(tf.sqrt(v1), sqrtBc2), epsilon);
          m.assign(m1);
          v.assign(v1);
          p.assign(tf.sub(decayed, tf.mul(tf.div(m1, denom), stepSize)));
        });
      }
    });
  }

  /**
   * The same step in JS over Float32Arrays: every constant rounded to float32 as tf.scalar rounds
   * it, every operation rounded with Math.fround (exact: a double holds any float32 product, and
   * rounding a double sum, quotient or square root to float32 gives the correctly rounded float32
   * result). Only one parameter's values are out of the tensor store at a time.
   */
  private applyOnHost(grads: Map<string, tf.Tensor>, lr: number, { divideBy, scale }: GradientTransform): void {
    const { beta1: b1, beta2: b2, eps, weightDecay: wd } = this.config;
    const keep = f32(1 - lr * wd);
    const beta1 = f32(b1);
    const oneMinusBeta1 = f32(1 - b1);
    const beta2 = f32(b2);
    const oneMinusBeta2 = f32(1 - b2);
    const sqrtBc2 = f32(Math.sqrt(1 - b2 ** this.t));
    const epsilon = f32(eps);
    const stepSize = f32(lr / (1 - b1 ** this.t));
    const divisor = divideBy === undefined || divideBy === 1 ? null : f32(divideBy);
    const factor = scale === undefined ? null : f32(scale);
    for (const [name, p] of this.params) {
      const raw = grads.get(name);
      if (raw === undefined) continue;
      const g = raw.dataSync() as Float32Array;
      const values = p.dataSync() as Float32Array;
      const m = this.m.get(name) as Float32Array;
      const v = this.v.get(name) as Float32Array;
      const decays = wd !== 0 && this.decay(name);
      // A new array: the cpu backend's dataSync hands out the tensor's own storage.
      const next = new Float32Array(values.length);
      for (let i = 0; i < next.length; i++) {
        let gi = g[i]!;
        if (divisor !== null) gi = f32(gi / divisor);
        if (factor !== null) gi = f32(gi * factor);
        const pi = decays ? f32(values[i]! * keep) : values[i]!;
        const mi = f32(f32(m[i]! * beta1) + f32(gi * oneMinusBeta1));
        const vi = f32(f32(v[i]! * beta2) + f32(f32(gi * gi) * oneMinusBeta2));
        const denom = f32(f32(f32(Math.sqrt(vi)) / sqrtBc2) + epsilon);
        m[i] = mi;
        v[i] = vi;
        next[i] = f32(pi - f32(f32(mi / denom) * stepSize));
      }
      tf.tidy(() => p.assign(tf.tensor(next, p.shape, 'float32')));
    }
  }

  /** The state as plain data (copies), for a checkpoint. */
  state(): AdamWState {
    return { step: this.t, m: toNamed(this.m, this.params), v: toNamed(this.v, this.params) };
  }

  /** Restores a state saved by state(); names and shapes must match the parameters exactly. */
  loadState(state: AdamWState): void {
    for (const [label, saved] of [
      ['m', state.m],
      ['v', state.v],
    ] as const) {
      if (saved.size !== this.params.size)
        throw new Error(`AdamW.loadState: ${label} has ${saved.size} entries, expected ${this.params.size}`);
      for (const [name, p] of this.params) {
        const entry = saved.get(name);
        if (!entry) throw new Error(`AdamW.loadState: ${label} lacks ${name}`);
        if (!sameShape(entry.shape, p.shape)) {
          throw new Error(`AdamW.loadState: ${label}.${name} has shape [${entry.shape}], expected [${p.shape}]`);
        }
      }
    }
    for (const [saved, mine] of [
      [state.m, this.m],
      [state.v, this.v],
    ] as const) {
      for (const [name, moment] of mine) {
        const entry = saved.get(name)!;
        if (moment instanceof Float32Array) moment.set(entry.data);
        else tf.tidy(() => moment.assign(tf.tensor(entry.data, entry.shape, 'float32')));
      }
    }
    this.t = state.step;
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) if (!(t instanceof Float32Array)) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}

/**
 * The global norm of the gradients g / divideBy: sqrt of the sum of squares of every element of
 * every one, each gradient divided (when divideBy is given) inside its own tidy, so that no second
 * copy of all gradients exists at once.
 */
export function globalNorm(grads: Iterable<tf.Tensor>, divideBy = 1): number {
  const squares: tf.Scalar[] = [];
  try {
    for (const g of grads) {
      squares.push(tf.tidy(() => tf.sum(tf.square(divideBy === 1 ? g : tf.div(g, tf.scalar(divideBy)))) as tf.Scalar));
    }
    if (squares.length === 0) return 0;
    const norm = tf.tidy(() => tf.sqrt(tf.addN(squares))); // a sum of rank-0 sums is rank 0
    const value = norm.dataSync()[0]!;
    norm.dispose();
    return value;
  } finally {
    for (const t of squares) t.dispose();
  }
}

/**
 * Global gradient-norm clipping as torch.nn.utils.clip_grad_norm_: when the norm of all gradients
 * together exceeds maxNorm, every gradient is multiplied by clipFactor = maxNorm / (norm + 1e-6);
 * otherwise by nothing (undefined).
 */
export function clipFactor(norm: number, maxNorm: number): number | undefined {
  return norm > maxNorm ? maxNorm / (norm + 1e-6) : undefined;
}

function toNamed(moments: Map<string, tf.Variable | Float32Array>, params: Map<string, tf.Variable>): NamedTensors {
  const out: NamedTensors = new Map();
  // Copies: the host arrays keep changing, and the cpu backend's dataSync hands out its own storage.
  for (const [name, t] of moments) {
    out.set(
      name,
      t instanceof Float32Array
        ? { shape: [...params.get(name)!.shape], data: new Float32Array(t) }
        : { shape: [...t.shape], data: new Float32Array(t.dataSync()) },
    );
  }
  return out;
}
