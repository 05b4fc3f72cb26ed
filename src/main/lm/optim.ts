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

export class AdamW {
  readonly config: AdamWConfig;
  private readonly params: Map<string, tf.Variable>;
  private readonly decay: (name: string) => boolean;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private t = 0;

  /**
   * `decay` chooses by name which parameters weight decay touches (default: decayByDefault).
   * Moments start at zero, as in PyTorch.
   */
  constructor(
    params: Map<string, tf.Variable>,
    config: Partial<AdamWConfig> = {},
    decay: (name: string) => boolean = decayByDefault,
  ) {
    this.config = { ...ADAMW_DEFAULTS, ...config };
    this.params = params;
    this.decay = decay;
    for (const [name, p] of params) {
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
   * One AdamW step with the given gradients (already averaged and clipped). A parameter with no
   * gradient is skipped entirely (no decay, moments untouched), as PyTorch skips `grad is None`;
   * unlike PyTorch the step count is shared, so its bias correction keeps counting.
   */
  apply(grads: Map<string, tf.Tensor>, lr: number = this.config.lr): void {
    const { beta1: b1, beta2: b2, eps, weightDecay: wd } = this.config;
    this.t += 1;
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
      for (const [name, p] of this.params) {
        const g = grads.get(name);
        if (g === undefined) continue;
        if (!sameShape(g.shape, p.shape))
          throw new Error(`AdamW: gradient of ${name} has shape [${g.shape}], parameter [${p.shape}]`);
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        const decayed = wd !== 0 && this.decay(name) ? tf.mul(p, keep) : p;
        const m1 = tf.add(tf.mul(m, beta1), tf.mul(g, oneMinusBeta1));
        const v1 = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), oneMinusBeta2));
        const denom = tf.add(tf.div(tf.sqrt(v1), sqrtBc2), epsilon);
        m.assign(m1);
        v.assign(v1);
        p.assign(tf.sub(decayed, tf.mul(tf.div(m1, denom), stepSize)));
      }
    });
  }

  /** The state as plain data (copies), for a checkpoint. */
  state(): AdamWState {
    return { step: this.t, m: toNamed(this.m), v: toNamed(this.v) };
  }

  /** Restores a state saved by state(); names and shapes must match the parameters exactly. */
  loadState(state: AdamWState): void {
    for (const [label, saved, mine] of [
      ['m', state.m, this.m],
      ['v', state.v, this.v],
    ] as const) {
      if (saved.size !== mine.size)
        throw new Error(`AdamW.loadState: ${label} has ${saved.size} entries, expected ${mine.size}`);
      for (const [name, variable] of mine) {
        const entry = saved.get(name);
        if (!entry) throw new Error(`AdamW.loadState: ${label} lacks ${name}`);
        if (!sameShape(entry.shape, variable.shape)) {
          throw new Error(`AdamW.loadState: ${label}.${name} has shape [${entry.shape}], expected [${variable.shape}]`);
        }
      }
    }
    for (const [saved, mine] of [
      [state.m, this.m],
      [state.v, this.v],
    ] as const) {
      for (const [name, variable] of mine) {
        const entry = saved.get(name)!;
        tf.tidy(() => variable.assign(tf.tensor(entry.data, entry.shape, 'float32')));
      }
    }
    this.t = state.step;
  }

  dispose(): void {
    for (const t of this.m.values()) t.dispose();
    for (const t of this.v.values()) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}

/** sqrt of the sum of squares of every element of every gradient, as one scalar tensor. */
function globalNorm(grads: Iterable<tf.Tensor>): tf.Scalar {
  return tf.tidy(() => {
    const squares = [...grads].map((g) => tf.sum(tf.square(g)));
    if (squares.length === 0) return tf.scalar(0);
    return tf.sqrt(tf.addN(squares)) as tf.Scalar; // a sum of rank-0 sums is rank 0
  });
}

/**
 * Global gradient-norm clipping as torch.nn.utils.clip_grad_norm_: when the norm of all gradients
 * together exceeds maxNorm, every gradient is multiplied by maxNorm / (norm + 1e-6); otherwise the
 * same tensors come back untouched. Returns the norm before clipping. The caller owns (and disposes)
 * the returned map and the input map alike; entries may be the same tensors.
 */
export function clipByGlobalNorm(
  grads: Map<string, tf.Tensor>,
  maxNorm: number,
): { grads: Map<string, tf.Tensor>; norm: number } {
  const normTensor = globalNorm(grads.values());
  const norm = normTensor.dataSync()[0]!;
  normTensor.dispose();
  if (!(norm > maxNorm)) return { grads: new Map(grads), norm };
  const scale = maxNorm / (norm + 1e-6);
  const clipped = new Map<string, tf.Tensor>();
  tf.tidy(() => {
    const s = tf.scalar(scale);
    for (const [name, g] of grads) clipped.set(name, tf.keep(tf.mul(g, s)));
  });
  return { grads: clipped, norm };
}

function toNamed(tensors: Map<string, tf.Variable>): NamedTensors {
  const out: NamedTensors = new Map();
  // A copy: the cpu backend's dataSync hands out its own storage.
  for (const [name, t] of tensors) out.set(name, { shape: [...t.shape], data: new Float32Array(t.dataSync()) });
  return out;
}
