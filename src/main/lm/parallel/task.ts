/**
 * What a data-parallel worker runs: a task module, loaded by URL in each worker thread, exports
 * `createReplica(init)`, which builds the model and its loss there. Functions cannot cross threads,
 * so the loss lives in the module and only plain data crosses: `init` once (structured clone),
 * micro-batches every step, parameters and gradients through shared memory.
 *
 *   // myTask.ts
 *   export function createReplica(init: { config: GptConfig }): Replica<LmBatch> {
 *     const model = Gpt.init(init.config, new Rng(0)); // weights are overwritten before every step
 *     return { params: model.params, loss: (mb) => lmLoss(model, mb) };
 *   }
 */
import type * as tf from '@tensorflow/tfjs';
import type { LossFn } from '../trainer';

export interface Replica<B> {
  /** Same names and shapes as the main thread's parameters. */
  params: Map<string, tf.Variable>;
  loss: LossFn<B>;
}

export type CreateReplica<Init, B> = (init: Init) => Replica<B> | Promise<Replica<B>>;

/** One parameter's place in the shared flat buffers. */
export interface Slot {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

export function layoutOf(params: Map<string, tf.Variable>): { slots: Slot[]; total: number } {
  const slots: Slot[] = [];
  let offset = 0;
  for (const [name, p] of params) {
    if (p.dtype !== 'float32') throw new Error(`data-parallel: ${name} is ${p.dtype}; only float32 parameters are shared`);
    slots.push({ name, shape: [...p.shape], offset, size: p.size });
    offset += p.size;
  }
  return { slots, total: offset };
}

/** Main -> worker (the pool ends a worker by terminating it). */
export type ToWorker<B> = { type: 'step'; microBatches: B[] };

/** Worker -> main. `present` lists the parameters some loss reached; the others' gradient slots are zero. */
export type FromWorker =
  | { type: 'ready'; /** What computes this worker's matrix products (nativeBlasStatus().summary). */ products: string }
  | { type: 'done'; losses: number[]; metrics: Record<string, number[]>; present: string[]; seconds: number; cpuSeconds: number | null }
  | { type: 'error'; message: string; stack?: string };

export interface WorkerData {
  taskUrl: string;
  init: unknown;
  slots: Slot[];
  /** Float32 parameters, written by the main thread between steps. */
  params: SharedArrayBuffer;
  /** Float32 gradient sums, this worker's own, written by it during a step. */
  grads: SharedArrayBuffer;
  backend: 'wasm' | 'cpu';
  /** On wasm: matrix products on the native BLAS when it is available (one BLAS thread per worker). */
  nativeBlas: boolean;
}
