/**
 * The handful of kernels the GPT needs, shaped for the wasm backend (FINDINGS.md), each with its own
 * gradient. What makes them fast there, measured on this machine (2 cores, tfjs 4.22, SIMD wasm):
 *
 * - A 2-D matMul without transpose flags runs at ~26 GFLOP/s; with transposeB ~2.3, transposeA
 *   ~0.6. So every product here is flag-free in both passes, with explicit tf.transpose instead.
 * - A batched (rank-3/4) matMul runs at ~2.2 GFLOP/s whatever the flags. Looping 2-D products is
 *   worse (~1 GFLOP/s): wasm's slice/split/concat copy their whole source each call. A depthwise
 *   convolution computes the same per-(batch, head) products at ~6.5 GFLOP/s including the layout
 *   transposes, so that is what bmm uses on wasm (see bmm).
 * - tf.gather runs at ~40 ns per output element (20 ms for 2048 rows of 256) and has no gradient on
 *   wasm; copying rows in JavaScript from one download of a small table takes ~1 ms, and so does
 *   the scatter-add gradient (a one-hot matMul for the same gradient: 46 ms).
 *
 * With the native BLAS kernel (nativeBlas.ts: OpenBLAS on the wasm heap) every product runs at
 * the BLAS's rate whatever its flags or batch dims, so the products pass transpose flags instead of
 * transposing, and bmm multiplies batches directly (nativeBlasActive() decides, when each op runs).
 *
 * Everything else (softmax, log-softmax, elementwise ops, reductions) is stock TensorFlow.js.
 */
import * as tf from '@tensorflow/tfjs';
import { nativeBlasActive } from './nativeBlas';

type CustomGradientFunc<T extends tf.Tensor> = Parameters<typeof tf.customGrad<T>>[0];

// tf.customGrad types every argument as Tensor | GradSaveFunc; these give each op its real signature.
// TensorFlow.js ops return Tensor<Rank> whatever goes in, so the value's rank is asserted here, once.
function customOp1<X extends tf.Tensor, Y extends tf.Tensor>(
  f: (x: X, save: tf.GradSaveFunc) => { value: tf.Tensor; gradFunc: (dy: Y, saved: tf.Tensor[]) => tf.Tensor },
): (x: X) => Y {
  return tf.customGrad(f as unknown as CustomGradientFunc<Y>) as (x: X) => Y;
}

function customOp2<A extends tf.Tensor, B extends tf.Tensor, Y extends tf.Tensor>(
  f: (
    a: A,
    b: B,
    save: tf.GradSaveFunc,
  ) => { value: tf.Tensor; gradFunc: (dy: Y, saved: tf.Tensor[]) => [tf.Tensor, tf.Tensor] },
): (a: A, b: B) => Y {
  return tf.customGrad(f as unknown as CustomGradientFunc<Y>) as (a: A, b: B) => Y;
}

function customOp3<A extends tf.Tensor, B extends tf.Tensor, C extends tf.Tensor, Y extends tf.Tensor>(
  f: (
    a: A,
    b: B,
    c: C,
    save: tf.GradSaveFunc,
  ) => { value: tf.Tensor; gradFunc: (dy: Y, saved: tf.Tensor[]) => [tf.Tensor, tf.Tensor, tf.Tensor] },
): (a: A, b: B, c: C) => Y {
  return tf.customGrad(f as unknown as CustomGradientFunc<Y>) as (a: A, b: B, c: C) => Y;
}

function saved<T extends tf.Tensor>(list: tf.Tensor[], i: number): T {
  const t = list[i];
  if (!t) throw new Error(`custom gradient: saved tensor ${i} missing`);
  return t as T;
}

/**
 * d(a @ b)/db = a^T @ dy, (K, N). Contracting over the long axis M needs one operand transposed;
 * wasm's transpose costs ~10 ns per element, so transpose whichever of a (M, K) and dy (M, N) is
 * smaller, and in the second case transpose the small (N, K) result back. The BLAS takes the flag.
 */
function weightGrad(a: tf.Tensor2D, dy: tf.Tensor2D): tf.Tensor2D {
  if (nativeBlasActive()) return tf.matMul(a, dy, true, false);
  const [, k] = a.shape;
  const [, n] = dy.shape;
  return k <= n ? tf.matMul(tf.transpose(a), dy) : tf.transpose(tf.matMul(tf.transpose(dy), a) as tf.Tensor2D);
}

/** a @ b^T: with the flag on the BLAS, else with b transposed first (wasm's flagged products are slow). */
function timesTransposed(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return nativeBlasActive() ? tf.matMul(a, b, false, true) : tf.matMul(a, tf.transpose(b));
}

/**
 * Sums over rows as a product with a row of ones: wasm's sum over axis 0 is ~80x slower
 * (22 ms against 0.26 ms for 2048 x 1024). (M, N) -> (N)
 */
function sumRows(x: tf.Tensor2D): tf.Tensor1D {
  const [m, n] = x.shape;
  return tf.reshape(tf.matMul(tf.ones([1, m]), x), [n]);
}

/** a @ b for 2-D tensors; the backward pass is two more flag-free products. (M, K) @ (K, N) -> (M, N) */
export const matMul = customOp2<tf.Tensor2D, tf.Tensor2D, tf.Tensor2D>((a: tf.Tensor2D, b: tf.Tensor2D, save) => {
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor2D, s) => {
      const [a, b] = [saved<tf.Tensor2D>(s, 0), saved<tf.Tensor2D>(s, 1)];
      return [timesTransposed(dy, b), weightGrad(a, dy)];
    },
  };
});

/** A Conv1D layer as in GPT-2: x @ w + b with w stored [in, out]. (N, in) -> (N, out) */
export const linear = (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D => linearOp(x, w, b);

const linearOp = customOp3<tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.Tensor2D>(
  (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, save) => {
    save([x, w]);
    return {
      value: tf.add(tf.matMul(x, w), b),
      gradFunc: (dy: tf.Tensor2D, s): [tf.Tensor, tf.Tensor, tf.Tensor] => {
        const [x, w] = [saved<tf.Tensor2D>(s, 0), saved<tf.Tensor2D>(s, 1)];
        return [timesTransposed(dy, w), weightGrad(x, dy), sumRows(dy)];
      },
    };
  },
);

/**
 * The tied LM head, h @ wte^T. (N, D), (V, D) -> (N, V)
 * Forward: with fewer rows than embedding dims (decoding) it computes (wte @ h^T)^T, which
 * transposes two small tensors instead of the (V, D) table and keeps the repacked right operand
 * small (see qkvProjections in model.ts); otherwise h @ transpose(wte). Its own gradient spares
 * the table's transposes: dh = dy @ wte is already flag-free. On the BLAS, h @ wte^T with the flag.
 */
export const tiedHead = customOp2<tf.Tensor2D, tf.Tensor2D, tf.Tensor2D>((h: tf.Tensor2D, wte: tf.Tensor2D, save) => {
  save([h, wte]);
  const [n, d] = h.shape;
  return {
    value: nativeBlasActive()
      ? tf.matMul(h, wte, false, true)
      : n < d
        ? tf.transpose(tf.matMul(wte, tf.transpose(h)))
        : tf.matMul(h, tf.transpose(wte)),
    gradFunc: (dy: tf.Tensor2D, s) => {
      const [h, wte] = [saved<tf.Tensor2D>(s, 0), saved<tf.Tensor2D>(s, 1)];
      return [tf.matMul(dy, wte), weightGrad(dy, h)];
    },
  };
});

export type BmmMethod = 'depthwise' | 'matMul';

/**
 * The batched-product method for the current backend and M (rows of op(a)): see bmm. On wasm the
 * depthwise form wins from M = 4 up (e.g. N=64, M=T=128, hs=64: 19 ms against 93 ms); at M = 1,
 * a decoding step, its transposes cost more than the product (N=32, T=89: 0.6 ms against 0.19).
 * With the BLAS kernel, batched products are native again: 'matMul'.
 */
export function defaultBmmMethod(m: number): BmmMethod {
  return tf.getBackend() === 'wasm' && m > 1 && !nativeBlasActive() ? 'depthwise' : 'matMul';
}

/**
 * Batched product op(a) @ op(b), op = optional transpose of the last two axes.
 * (N, M, K) @ (N, K, P) -> (N, M, P)
 *
 * 'depthwise' (wasm): a depthwise convolution with one channel per batch entry n computes
 * out[m, n*P + p] = sum_k x[m, 0, k, n] * f[0, k, n, p], which is the product when
 * x[m, 0, k, n] = op(a)[n, m, k] and f[0, k, n, p] = op(b)[n, k, p]. The transposes that build
 * those layouts absorb the flags for free. Measured at N=64, M=K=128, P=64: 20 ms against 62 ms
 * for tf.matMul on rank 3 and 107 ms for a loop of 2-D products.
 * 'matMul': tf.matMul with flags, for backends where batched products are native, and for M = 1.
 * Without a method, each product (the gradient's too) picks its own by defaultBmmMethod.
 * The gradient is made of bmm again (with flags, which cost nothing extra in the depthwise form).
 */
export function bmm(
  a: tf.Tensor3D,
  b: tf.Tensor3D,
  transposeA = false,
  transposeB = false,
  method?: BmmMethod,
): tf.Tensor3D {
  const m = transposeA ? a.shape[2] : a.shape[1];
  const via = method ?? defaultBmmMethod(m);
  const op = customOp2<tf.Tensor3D, tf.Tensor3D, tf.Tensor3D>((a: tf.Tensor3D, b: tf.Tensor3D, save) => {
    save([a, b]);
    return {
      value: via === 'depthwise' ? bmmDepthwise(a, b, transposeA, transposeB) : tf.matMul(a, b, transposeA, transposeB),
      gradFunc: (dy: tf.Tensor3D, s): [tf.Tensor, tf.Tensor] => {
        const [a, b] = [saved<tf.Tensor3D>(s, 0), saved<tf.Tensor3D>(s, 1)];
        const m = (x: tf.Tensor3D, y: tf.Tensor3D, tx: boolean, ty: boolean) => bmm(x, y, tx, ty, method);
        if (!transposeA && !transposeB) return [m(dy, b, false, true), m(a, dy, true, false)];
        if (!transposeA && transposeB) return [m(dy, b, false, false), m(dy, a, true, false)];
        if (transposeA && !transposeB) return [m(b, dy, false, true), m(a, dy, false, false)];
        return [m(b, dy, true, true), m(dy, a, true, true)];
      },
    };
  });
  return op(a, b);
}

function bmmDepthwise(a: tf.Tensor3D, b: tf.Tensor3D, transposeA: boolean, transposeB: boolean): tf.Tensor3D {
  const [n, a1, a2] = a.shape;
  const [nb, b1, b2] = b.shape;
  const [m, k] = transposeA ? [a2, a1] : [a1, a2];
  const [kb, p] = transposeB ? [b2, b1] : [b1, b2];
  if (n !== nb || k !== kb)
    throw new Error(
      `bmm: shapes ${a.shape} and ${b.shape} (transposeA=${transposeA}, transposeB=${transposeB}) do not match`,
    );
  const x = tf.transpose(a, transposeA ? [2, 1, 0] : [1, 2, 0]).reshape([m, 1, k, n]); // (M, 1, K, N)
  const f = tf.transpose(b, transposeB ? [2, 0, 1] : [1, 0, 2]).reshape([1, k, n, p]); // (1, K, N, P)
  const y = tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'valid'); // (M, 1, 1, N*P)
  return tf.transpose(tf.reshape(y, [m, n, p]) as tf.Tensor3D, [1, 0, 2]); // (N, M, P)
}

export type RowsMethod = 'js' | 'gather';

function scatterAddRows(
  values: Float32Array | Int32Array | Uint8Array,
  rows: Int32Array,
  width: number,
  height: number,
): Float32Array {
  const out = new Float32Array(height * width);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]! * width;
    const s = i * width;
    for (let j = 0; j < width; j++) out[r + j]! += values[s + j]!;
  }
  return out;
}

function checkRows(rows: Int32Array, height: number, what: string): void {
  for (const r of rows) {
    if (!(r >= 0 && r < height)) throw new Error(`${what}: index ${r} out of range [0, ${height})`);
  }
}

/**
 * The embedding lookup: out[i] = table[rows[i]], with a scatter-add gradient (duplicates add up).
 * (V, D), (N) -> (N, D)
 *
 * The forward copies rows in JavaScript from one download of the table when the table is at most
 * 8x the output ('js', the wasm and cpu default: ~1 ms for 2048 rows of a 512 x 256 table), and
 * uses tf.gather otherwise (GPT-2's 50257-row table would be a 154 MB download per call).
 */
export function takeRows(table: tf.Tensor2D, rows: Int32Array, method?: RowsMethod): tf.Tensor2D {
  const [height, width] = table.shape;
  checkRows(rows, height, 'takeRows');
  const backend = tf.getBackend();
  const via = method ?? ((backend === 'wasm' || backend === 'cpu') && height <= 8 * rows.length ? 'js' : 'gather');
  const op = customOp1((table: tf.Tensor2D) => {
    let value: tf.Tensor2D;
    if (via === 'js') {
      const src = table.dataSync();
      const out = new Float32Array(rows.length * width);
      for (let i = 0; i < rows.length; i++)
        out.set(src.subarray(rows[i]! * width, rows[i]! * width + width), i * width);
      value = tf.tensor2d(out, [rows.length, width]);
    } else {
      value = tf.gather(table, tf.tensor1d(rows, 'int32'));
    }
    return {
      value,
      gradFunc: (dy: tf.Tensor2D) => scatterAdd(dy, rows, height),
    };
  });
  return op(table);
}

/**
 * out[rows[i]] += values[i], (N, C) from (R, C). On wasm and cpu in JavaScript from one download;
 * on a GPU (webgpu) with tf.unsortedSegmentSum, so the gradient stays on the device.
 */
function scatterAdd(values: tf.Tensor2D, rows: Int32Array, height: number): tf.Tensor2D {
  const backend = tf.getBackend();
  if (backend === 'webgpu') return tf.unsortedSegmentSum(values, tf.tensor1d(rows, 'int32'), height);
  return tf.tensor2d(scatterAddRows(values.dataSync(), rows, values.shape[1], height), [height, values.shape[1]]);
}

/**
 * The transpose of takeRows: an (N, C) tensor of zeros with values[i] added into row rows[i].
 * (R, C), (R) -> (N, C)
 */
export function putRows(values: tf.Tensor2D, rows: Int32Array, height: number): tf.Tensor2D {
  const [count] = values.shape;
  if (rows.length !== count) throw new Error(`putRows: ${count} rows of values for ${rows.length} indices`);
  checkRows(rows, height, 'putRows');
  const op = customOp1((values: tf.Tensor2D) => ({
    value: scatterAdd(values, rows, height),
    gradFunc: (dy: tf.Tensor2D) => takeRows(dy, rows),
  }));
  return op(values);
}

/**
 * One entry per row: out[i] = x[i, cols[i]]. The gradient is a one-hot row per entry scaled by dy.
 * (R, V), (R) -> (R)
 */
export function pickColumns(x: tf.Tensor2D, cols: Int32Array): tf.Tensor1D {
  const [count, width] = x.shape;
  if (cols.length !== count) throw new Error(`pickColumns: ${count} rows for ${cols.length} columns`);
  checkRows(cols, width, 'pickColumns');
  const flat = new Int32Array(count);
  for (let i = 0; i < count; i++) flat[i] = i * width + cols[i]!;
  const op = customOp1((x: tf.Tensor2D) => ({
    value: tf.gather(tf.reshape(x, [count * width]), tf.tensor1d(flat, 'int32')) as tf.Tensor1D,
    // oneHot in int32 then cast: on wasm, oneHot(..., 'float32') writes int32 bit patterns (1 -> 1.4e-45).
    gradFunc: (dy: tf.Tensor1D) =>
      tf.mul(tf.cast(tf.oneHot(tf.tensor1d(cols, 'int32'), width), 'float32'), tf.reshape(dy, [count, 1])),
  }));
  return op(x);
}

/**
 * log softmax(h W^T)[r, targets[r]] for hidden rows h (R, D) and a head matrix W (V, D), computed
 * `rowsPerChunk` rows at a time with its own gradient, so no more than rowsPerChunk x V logits
 * exist at once, forward or backward. Autodiff of the plain form keeps the whole (R, V) logits and
 * their log-softmax for the backward pass: with GPT-2's 50,257 tokens, 2,048 rows are 412 MB each,
 * and with Qwen2.5's 151,936 three times that, in a wasm heap of 4 GB. The backward pass recomputes
 * each chunk's logits (one more head product) and, with g = dy (onehot - softmax):
 *   dh = g W,   dW = g^T h (summed over chunks).
 * The values equal logSoftmax-then-pick row for row (the same kernels on each chunk).
 */
export function headLogprobs(h: tf.Tensor2D, w: tf.Tensor2D, targets: Int32Array, rowsPerChunk: number): tf.Tensor1D {
  const [rows, d] = h.shape;
  const vocab = w.shape[0];
  if (targets.length !== rows) throw new Error(`headLogprobs: ${rows} rows for ${targets.length} targets`);
  checkRows(targets, vocab, 'headLogprobs');
  const step = Math.max(1, Math.floor(rowsPerChunk));
  const chunks: { start: number; size: number; targets: Int32Array }[] = [];
  for (let start = 0; start < rows; start += step) {
    const size = Math.min(step, rows - start);
    chunks.push({ start, size, targets: targets.subarray(start, start + size) });
  }
  const logSoftmaxOf = (hc: tf.Tensor2D, wt: tf.Tensor2D) => tf.logSoftmax<tf.Tensor2D>(tiedHead(hc, wt));
  const forward = (h: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor1D => {
    const parts = chunks.map(({ start, size, targets }) =>
      tf.tidy(() => pickColumns(logSoftmaxOf(tf.slice(h, [start, 0], [size, d]), w), targets)),
    );
    const value = tf.concat(parts);
    for (const part of parts) part.dispose();
    return value;
  };
  /** dh, and dw unless the head is frozen (then null: a (V, D) sum that nothing would read). */
  const backward = (h: tf.Tensor2D, w: tf.Tensor2D, dy: tf.Tensor1D, withDw: boolean) => {
    let dw: tf.Tensor2D | null = withDw ? tf.zerosLike(w) : null;
    const dhParts: tf.Tensor2D[] = [];
    for (const { start, size, targets } of chunks) {
      const [dh, nextDw] = tf.tidy(() => {
        const hc = tf.slice(h, [start, 0], [size, d]);
        const dyc = tf.reshape(tf.slice(dy, [start], [size]), [size, 1]);
        const softmax = tf.exp(logSoftmaxOf(hc, w));
        const onehot = tf.cast(tf.oneHot(tf.tensor1d(targets, 'int32'), vocab), 'float32');
        const g = tf.mul(tf.sub(onehot, softmax), dyc) as tf.Tensor2D;
        return [tf.matMul(g, w), dw === null ? null : tf.add(dw, weightGrad(g, hc))] as const;
      });
      dw?.dispose();
      dw = nextDw as tf.Tensor2D | null;
      dhParts.push(dh as tf.Tensor2D);
    }
    const dh = tf.concat(dhParts);
    for (const part of dhParts) part.dispose();
    return { dh, dw };
  };
  // A frozen head (a LoRA base's embedding) is no input of the op: its (V, D) gradient, 545 MB for
  // Qwen2.5-0.5B, would be computed and thrown away. A variable outlives the backward pass.
  if (w instanceof tf.Variable && !w.trainable) {
    const frozen = customOp1<tf.Tensor2D, tf.Tensor1D>((h: tf.Tensor2D, save) => {
      save([h]);
      return {
        value: forward(h, w),
        gradFunc: (dy: tf.Tensor1D, s) => backward(saved<tf.Tensor2D>(s, 0), w, dy, false).dh,
      };
    });
    return frozen(h);
  }
  const op = customOp2<tf.Tensor2D, tf.Tensor2D, tf.Tensor1D>((h: tf.Tensor2D, w: tf.Tensor2D, save) => {
    save([h, w]);
    return {
      value: forward(h, w),
      gradFunc: (dy: tf.Tensor1D, s) => {
        const { dh, dw } = backward(saved<tf.Tensor2D>(s, 0), saved<tf.Tensor2D>(s, 1), dy, true);
        return [dh, dw!];
      },
    };
  });
  return op(h, w);
}

/**
 * fn(x, constants) without its activations kept for the backward pass (gradient checkpointing):
 * only x and the constants are saved, and the backward pass runs fn again under a tape of its own,
 * from which the gradients of x and of `variables` come. A transformer layer's activations are
 * tens of times its input (attention scores alone are heads x T per token), so a model's backward
 * pass then holds one layer's instead of all of them, for one more forward pass of compute.
 * fn must be deterministic (seeded dropout is), read every variable in `variables` (the trainable
 * ones it uses: a frozen base's are left out) and take every tensor made outside it as a constant,
 * since those are disposed before the backward pass.
 */
export function recomputed(
  fn: (x: tf.Tensor2D, constants: readonly tf.Tensor[]) => tf.Tensor2D,
  x: tf.Tensor2D,
  constants: readonly tf.Tensor[],
  variables: readonly tf.Variable[],
): tf.Tensor2D {
  const k = constants.length;
  const op = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const inputs = args.slice(0, 1 + k) as tf.Tensor[];
    save(inputs);
    return {
      value: fn(inputs[0] as tf.Tensor2D, inputs.slice(1)),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [again, ...kept] = saved as [tf.Tensor2D, ...tf.Tensor[]];
        // A gradient computed inside another's backward pass: TF.js's engine starts a fresh tape for
        // it and clears the tape when done, the outer backward pass's included (which then fails on
        // its own cleanup), so the outer tape is put back afterwards.
        const state = (tf.engine() as unknown as { state: { activeTape: unknown } }).state;
        const outer = state.activeTape;
        let grads: tf.Tensor[];
        try {
          grads = tf.grads((input: tf.Tensor) => fn(input as tf.Tensor2D, kept))([again, ...variables], dy);
        } finally {
          state.activeTape = outer;
        }
        const [dx, ...dw] = grads;
        // The constants take no gradient: zeros of their shapes, as customGrad wants one per input.
        return [dx!, ...kept.map((c) => tf.zerosLike(c)), ...dw];
      },
    };
  }) as unknown as CustomGradientFunc<tf.Tensor2D>);
  return (op as unknown as (...inputs: tf.Tensor[]) => tf.Tensor2D)(x, ...constants, ...variables);
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/**
 * GPT-2's activation (Hugging Face "gelu_new"): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
 * gelu(1) = 0.8411920, gelu(-1) = -0.1588080.
 * Computed as x * sigmoid(2u), the same function (0.5 (1 + tanh u) = sigmoid(2u)), because wasm's
 * tanh is ~11x slower than its sigmoid (76 ms against 7 ms for 2M values).
 */
export const gelu = customOp1<tf.Tensor, tf.Tensor>((x: tf.Tensor, save) => {
  const x2 = tf.mul(x, x);
  const s = tf.sigmoid(tf.mul(x, tf.add(tf.mul(x2, 2 * SQRT_2_OVER_PI * 0.044715), 2 * SQRT_2_OVER_PI)));
  save([x, x2, s]);
  return {
    value: tf.mul(x, s),
    gradFunc: (dy: tf.Tensor, saved_) => {
      const [x, x2, s] = [saved(saved_, 0), saved(saved_, 1), saved(saved_, 2)];
      // d/dx [x s(2u)] = s + x s (1 - s) 2u', 2u' = 2 sqrt(2/pi) (1 + 3 * 0.044715 x^2)
      const du2 = tf.add(tf.mul(x2, 2 * SQRT_2_OVER_PI * 3 * 0.044715), 2 * SQRT_2_OVER_PI);
      return tf.mul(dy, tf.add(s, tf.mul(tf.mul(x, tf.mul(s, tf.sub(1, s))), du2)));
    },
  };
});

/**
 * Layer norm over the last axis with the biased variance, as torch.nn.LayerNorm.
 * (N, D), (D), (D) -> (N, D). [1, 2, 3] with weight 1, bias 0, eps 0 -> [-1.2247449, 0, 1.2247449].
 */
export const layerNorm = (x: tf.Tensor2D, weight: tf.Tensor1D, bias: tf.Tensor1D, eps: number): tf.Tensor2D =>
  customOp3<tf.Tensor2D, tf.Tensor1D, tf.Tensor1D, tf.Tensor2D>(
    (x: tf.Tensor2D, weight: tf.Tensor1D, bias: tf.Tensor1D, save) => {
      const centred = tf.sub(x, tf.mean(x, -1, true));
      const rstd = tf.rsqrt(tf.add(tf.mean(tf.mul(centred, centred), -1, true), eps)); // (N, 1)
      const xhat = tf.mul(centred, rstd);
      save([xhat, rstd, weight]);
      return {
        value: tf.add(tf.mul(xhat, weight), bias),
        gradFunc: (dy: tf.Tensor2D, s): [tf.Tensor, tf.Tensor, tf.Tensor] => {
          const [xhat, rstd, weight] = [saved<tf.Tensor2D>(s, 0), saved<tf.Tensor2D>(s, 1), saved<tf.Tensor1D>(s, 2)];
          const g = tf.mul(dy, weight);
          // dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), the standard layer-norm backward.
          const dx = tf.mul(
            rstd,
            tf.sub(tf.sub(g, tf.mean(g, -1, true)), tf.mul(xhat, tf.mean(tf.mul(g, xhat), -1, true))),
          );
          return [dx, sumRows(tf.mul(dy, xhat)), sumRows(dy)];
        },
      };
    },
  )(x, weight, bias);

/** What masked attention scores get added: exp() of it underflows to exactly 0, and it never makes NaN. */
export const MASKED = -1e9;

const causalMasks = new Map<string, tf.Tensor2D>();

/**
 * The additive causal mask for T new queries after `past` cached keys: row i may see keys
 * 0..past+i. (T, past + T), 0 or MASKED; built once per (backend, T, past) and kept (tf.keep),
 * because tf.linalg.bandPart's gradient fails on wasm. Free the cache with clearCausalMasks().
 */
export function causalMask(t: number, past = 0): tf.Tensor2D {
  const key = `${tf.getBackend()}:${t}:${past}`;
  let mask = causalMasks.get(key);
  if (!mask) {
    const total = past + t;
    const data = new Float32Array(t * total);
    for (let i = 0; i < t; i++) data.fill(MASKED, i * total + past + i + 1, (i + 1) * total);
    mask = tf.keep(tf.tensor2d(data, [t, total]));
    causalMasks.set(key, mask);
  }
  return mask;
}

export function clearCausalMasks(): void {
  for (const mask of causalMasks.values()) mask.dispose();
  causalMasks.clear();
}
