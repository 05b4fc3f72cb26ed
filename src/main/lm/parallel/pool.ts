/**
 * Data-parallel training over worker threads. The wasm backend runs one core per process (no
 * threads under Node), so a second core is only reached by a second TensorFlow.js: each worker
 * thread holds a replica of the model, computes the summed gradients of its share of the
 * micro-batches, and the main thread adds the workers' sums in a fixed order (worker 0 first),
 * divides by the number of micro-batches and takes the one optimizer step (trainer.applyGradients,
 * the same code as single-thread training). Parameters go out and gradients come back through
 * SharedArrayBuffers, so only small messages are posted; the main thread writes parameters only
 * between steps and each worker its own gradient buffer only during one.
 *
 *   const dp = await DataParallel.start({ task: new URL('./gptTask.ts', import.meta.url), init, params: model.params });
 *   const r = await dp.step({ optimizer, microBatches, lr, maxGradNorm: 1 }); // r.loss, r.gradNorm
 *   await dp.close();
 *
 * How a worker loads TypeScript: a worker thread is plain Node, and the Worker constructor does not
 * run the parent's loaders (execArgv ['--import', 'tsx'] still fails on a .ts entry with "Unknown
 * file extension"). So the worker is a one-line inline ES module that calls tsx's API
 * (tsImport from 'tsx/esm/api', resolved from this file) on worker.ts; everything it imports, the
 * task module included, then goes through tsx. This works from sources only (vitest, tsx, the
 * benchmark): the electron-vite bundle has no worker entry, and start() says so rather than
 * failing obscurely. Shipping it needs worker.ts (and the task) as entries of the main build.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import type { AdamW } from '../optim';
import { applyGradients, mean, meanMetrics, type StepResult } from '../trainer';
import { layoutOf, type FromWorker, type Slot, type ToWorker, type WorkerData } from './task';
import { maxOf } from '../../../shared/extent';

export interface DataParallelOptions<Init> {
  /** A module exporting createReplica (see task.ts), as a file URL. */
  task: string | URL;
  /** Passed to createReplica in every worker (structured-cloned). */
  init: Init;
  /** The main thread's parameters: the optimizer's, broadcast to the replicas before every step. */
  params: Map<string, tf.Variable>;
  /** Worker threads (default 2: one per core here). */
  workers?: number;
  backend?: 'wasm' | 'cpu';
  /**
   * Matrix products on the native BLAS in the workers when it is available (nativeBlas.ts), one
   * BLAS thread each (default true); false keeps the stock wasm kernel, for comparisons.
   */
  nativeBlas?: boolean;
}

export interface ParallelStepOptions<B> {
  optimizer: AdamW;
  /** Split in order into contiguous runs, one run per worker. */
  microBatches: readonly B[];
  lr: number;
  maxGradNorm: number | null;
}

export interface ParallelStepResult extends StepResult {
  seconds: {
    /** Parameters out, to the last worker's gradients back, gradients summed. */
    gradients: number;
    /** The slowest worker's own time (copy in, forward, backward, copy out). */
    slowestWorker: number;
    /** The most CPU time one worker thread used (Linux; null elsewhere): its time on an idle core. */
    slowestWorkerCpu: number | null;
    /** Averaging, clipping and the AdamW step, in the main thread. */
    optimizer: number;
  };
}

interface Handle {
  worker: Worker;
  grads: Float32Array;
  pending: { resolve: (m: Extract<FromWorker, { type: 'done' }>) => void; reject: (e: Error) => void } | null;
  failure: Error | null;
}

const WORKER_URL = new URL('./worker.ts', import.meta.url);
// Resolved here, from this file, because an inline worker resolves bare names from the current
// directory, which need not hold node_modules (the CLI runs in a project folder).
// require.resolve would give the CommonJS build, which cannot load tsx's ESM half from a worker,
// so the ESM entry is read from tsx's own package.json.
const TSX_API_URL = (() => {
  try {
    const manifest = createRequire(import.meta.url).resolve('tsx/package.json');
    const { exports } = JSON.parse(readFileSync(manifest, 'utf8')) as { exports: Record<string, { import?: { default?: string } }> };
    const entry = exports['./esm/api']?.import?.default;
    return entry ? new URL(entry, pathToFileURL(manifest)).href : 'tsx/esm/api';
  } catch {
    return 'tsx/esm/api';
  }
})();

export class DataParallel<B> {
  private readonly sum: Float32Array;

  private constructor(
    private readonly handles: Handle[],
    private readonly slots: Slot[],
    private readonly params: Map<string, tf.Variable>,
    private readonly shared: Float32Array,
    /** What computes each worker's matrix products, e.g. 'wasm + OpenBLAS matmul (libopenblas.so.0, 1 thread)'. */
    readonly products: readonly string[],
  ) {
    this.sum = new Float32Array(shared.length);
  }

  static async start<Init, B>(options: DataParallelOptions<Init>): Promise<DataParallel<B>> {
    if (!import.meta.url.endsWith('.ts')) {
      throw new Error('data-parallel workers load TypeScript sources through tsx; the bundled build has no worker entry (run from sources)');
    }
    const count = options.workers ?? 2;
    const { slots, total } = layoutOf(options.params);
    const paramsBuffer = new SharedArrayBuffer(total * 4);
    const shared = new Float32Array(paramsBuffer);
    const handles: Handle[] = [];
    const products: string[] = [];
    const ready: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      const gradsBuffer = new SharedArrayBuffer(total * 4);
      const data: WorkerData = {
        taskUrl: String(options.task),
        init: options.init,
        slots,
        params: paramsBuffer,
        grads: gradsBuffer,
        backend: options.backend ?? 'wasm',
        nativeBlas: options.nativeBlas ?? true,
      };
      const code = `import(${JSON.stringify(TSX_API_URL)}).then(({ tsImport }) => tsImport(${JSON.stringify(WORKER_URL.href)}, ${JSON.stringify(import.meta.url)}));`;
      const worker = new Worker(code, { eval: true, workerData: data, name: `alol-dp-${i}` });
      const handle: Handle = { worker, grads: new Float32Array(gradsBuffer), pending: null, failure: null };
      handles.push(handle);
      ready.push(
        new Promise<void>((resolve, reject) => {
          const fail = (error: Error) => {
            handle.failure = error;
            handle.pending?.reject(error);
            handle.pending = null;
            reject(error);
          };
          worker.on('message', (message: FromWorker) => {
            if (message.type === 'ready') {
              products[i] = message.products;
              resolve();
            }
            else if (message.type === 'error') fail(new Error(`data-parallel worker ${i}: ${message.message}${message.stack ? `\n${message.stack}` : ''}`));
            else if (message.type === 'done') {
              const pending = handle.pending;
              handle.pending = null;
              pending?.resolve(message);
            }
          });
          worker.on('error', (error) => fail(error));
          worker.on('exit', (code) => fail(new Error(`data-parallel worker ${i} exited (code ${code})`)));
        }),
      );
    }
    try {
      await Promise.all(ready);
    } catch (error) {
      await Promise.all(handles.map((h) => h.worker.terminate()));
      throw error;
    }
    return new DataParallel<B>(handles, slots, options.params, shared, products);
  }

  get workers(): number {
    return this.handles.length;
  }

  /**
   * One optimizer step; the micro-batches are split across the workers in order. A worker's error
   * rejects this step and every later one: close the pool and start another.
   */
  async step({ optimizer, microBatches, lr, maxGradNorm }: ParallelStepOptions<B>): Promise<ParallelStepResult> {
    if (microBatches.length === 0) throw new Error('DataParallel.step: no micro-batches');
    const started = performance.now();
    for (const slot of this.slots) this.shared.set(this.params.get(slot.name)!.dataSync(), slot.offset);

    const runs = splitEvenly(microBatches, this.handles.length);
    const replies = await Promise.all(
      this.handles.map((handle, i) => {
        const run = runs[i]!;
        if (run.length === 0) return Promise.resolve(null);
        return new Promise<Extract<FromWorker, { type: 'done' }>>((resolve, reject) => {
          if (handle.failure) return reject(handle.failure);
          handle.pending = { resolve, reject };
          const message: ToWorker<B> = { type: 'step', microBatches: run };
          handle.worker.postMessage(message);
        });
      }),
    );

    // Worker 0's sum plus worker 1's, in that order every time: the same bits on every run.
    const used = this.handles.filter((_, i) => replies[i] !== null);
    this.sum.set(used[0]!.grads);
    for (const handle of used.slice(1)) {
      const g = handle.grads;
      const s = this.sum;
      for (let k = 0; k < s.length; k++) s[k]! += g[k]!;
    }
    const present = new Set(replies.flatMap((r) => r?.present ?? []));
    const sum = new Map<string, tf.Tensor>();
    for (const slot of this.slots) {
      if (!present.has(slot.name)) continue;
      // A copy: the cpu backend would otherwise keep a view of a buffer reused next step.
      sum.set(slot.name, tf.tensor(this.sum.slice(slot.offset, slot.offset + slot.size), slot.shape, 'float32'));
    }
    const gradientsDone = performance.now();
    const gradNorm = applyGradients({ optimizer, sum, count: microBatches.length, lr, maxGradNorm });
    const done = performance.now();

    const losses = replies.flatMap((r) => r?.losses ?? []);
    const metrics: Record<string, number[]> = {};
    for (const r of replies) for (const [name, values] of Object.entries(r?.metrics ?? {})) (metrics[name] ??= []).push(...values);
    return {
      loss: mean(losses),
      gradNorm,
      metrics: meanMetrics(metrics),
      seconds: {
        gradients: (gradientsDone - started) / 1000,
        slowestWorker: maxOf(replies.map((r) => r?.seconds ?? 0)),
        slowestWorkerCpu: replies.some((r) => r !== null && r.cpuSeconds === null) ? null : maxOf(replies.map((r) => r?.cpuSeconds ?? 0)),
        optimizer: (done - gradientsDone) / 1000,
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all(
      this.handles.map(async (handle) => {
        handle.failure ??= new Error('data-parallel pool closed');
        handle.worker.removeAllListeners('exit');
        await handle.worker.terminate();
      }),
    );
  }
}

/** [a, b, c, d, e] over 2 -> [[a, b, c], [d, e]]: contiguous, sizes differing by at most one. */
export function splitEvenly<T>(items: readonly T[], parts: number): T[][] {
  const out: T[][] = [];
  let start = 0;
  for (let i = 0; i < parts; i++) {
    const size = Math.floor(items.length / parts) + (i < items.length % parts ? 1 : 0);
    out.push(items.slice(start, start + size));
    start += size;
  }
  return out;
}
