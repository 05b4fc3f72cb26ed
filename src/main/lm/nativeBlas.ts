/**
 * The optional native matrix product: the wasm backend's BatchMatMul kernel (every tf.matMul,
 * 2-D or batched) computed by a BLAS library (OpenBLAS's cblas_sgemm, ~3x the wasm kernel per
 * core here) directly on the operands in the wasm heap, without a copy. It needs the alol-blas
 * addon (native/blas, an optional dependency built by node-gyp at npm install) and a BLAS shared
 * library at run time (libopenblas0-pthread on Debian); the addon dlopens it, so neither the build
 * nor the install depends on a BLAS being there. Whenever anything is missing, or
 * ALOL_NATIVE_BLAS=0, the stock wasm kernel runs and nativeBlasStatus() says why.
 *
 *   installNativeBlas();          // after tf.setBackend('wasm'); backend.ts does it
 *   nativeBlasStatus().summary    // 'wasm + OpenBLAS matmul (libopenblas.so.0, 2 threads)'
 *   setNativeBlasEnabled(false);  // the stock kernel again (the benchmark's comparison)
 *
 * Threads: OpenBLAS's own threads run inside each product. A process training alone uses up to
 * min(2, cores); a data-parallel worker thread uses 1 (its siblings have the other cores);
 * ALOL_BLAS_THREADS overrides both. Only large single products get more than one (blasThreadsFor):
 * waking a second thread costs more than it saves on a decoding step's (8, 1024) @ (1024, 256)
 * (0.11 ms on one thread) or on one head's (128, 64) @ (64, 128). The count is passed with each
 * call (OpenBLAS's count is process-wide; the addon sets it when it differs).
 */
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { isMainThread } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';

const requireOptional = createRequire(import.meta.url);

/** native/blas/index.d.ts, restated so type-checking does not need the optional package installed. */
interface BlasInfo {
  library: string;
  vendor: string;
  config: string;
  threadControl: boolean;
}
interface BlasAddon {
  open(names: string[], acceptUnknown?: boolean): BlasInfo;
  sgemm(
    heap: Uint8Array | ArrayBuffer,
    batch: number,
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    aOff: number,
    aStride: number,
    bOff: number,
    bStride: number,
    cOff: number,
    cStride: number,
    threads?: number,
  ): void;
  setThreads(n: number): void;
  getThreads(): number;
}

export interface NativeBlasStatus {
  /** The BLAS kernel is installed and enabled: wasm matMuls run on it. */
  active: boolean;
  /** The kernel is installed (it may be disabled for a comparison). */
  installed: boolean;
  /** The library that loaded, e.g. "libopenblas.so.0"; null when none did. */
  library: string | null;
  vendor: string | null;
  /** The library's build description (OpenBLAS: version, target core, max threads). */
  config: string | null;
  /** BLAS threads for products from this thread; null without thread control. */
  threads: number | null;
  /** One line for reports: 'wasm + OpenBLAS matmul (libopenblas.so.0, 2 threads)' or why the wasm kernel runs. */
  summary: string;
}

/**
 * Libraries tried in order: a fast BLAS under its own name first, then the system's libblas (used
 * only if it is one of them, not the reference BLAS). ALOL_BLAS_LIBRARY (a name or a path) replaces the list.
 */
export function blasLibraryCandidates(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string[] {
  if (env.ALOL_BLAS_LIBRARY) return [env.ALOL_BLAS_LIBRARY];
  if (platform === 'darwin') {
    return [
      'libopenblas.0.dylib',
      '/opt/homebrew/opt/openblas/lib/libopenblas.dylib',
      '/usr/local/opt/openblas/lib/libopenblas.dylib',
      '/System/Library/Frameworks/Accelerate.framework/Accelerate',
    ];
  }
  return ['libopenblas.so.0', 'libopenblas.so', 'libblis.so.4', 'libmkl_rt.so.2', 'libmkl_rt.so', 'libblas.so.3'];
}

/** The threads a product from this thread should use: 1 in a data-parallel worker, else up to 2. */
export function defaultBlasThreads(env: NodeJS.ProcessEnv = process.env): number {
  const forced = Number(env.ALOL_BLAS_THREADS);
  if (Number.isInteger(forced) && forced >= 1) return forced;
  return isMainThread ? Math.max(1, Math.min(2, availableParallelism())) : 1;
}

interface State {
  tried: boolean;
  /** The addon and the library it opened, set together once the kernel is installed. */
  addon: BlasAddon | null;
  info: BlasInfo | null;
  /** Why the BLAS kernel is not installed; null once it is. */
  why: string | null;
  enabled: boolean;
  threads: number | null;
}

const state: State = {
  tried: false,
  addon: null,
  info: null,
  why: 'not tried (the wasm backend has not started)',
  enabled: false,
  threads: null,
};

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return (text.split('\n')[0] ?? text).slice(0, 400);
}

/** The addon, or why not. */
function loadAddon(): { addon: BlasAddon } | { why: string } {
  let mod: { addon: BlasAddon | null; error: string | null };
  try {
    // A variable name: the addon is optional, and the bundler must not try to resolve it.
    const name = 'alol-blas';
    mod = requireOptional(name) as typeof mod;
  } catch (error) {
    const missing = error instanceof Error && 'code' in error && error.code === 'MODULE_NOT_FOUND';
    return {
      why: `native BLAS addon not built: ${missing ? 'the optional package alol-blas is not installed' : firstLine(error)}`,
    };
  }
  return mod.addon ? { addon: mod.addon } : { why: `native BLAS addon not built: ${mod.error ?? 'unknown reason'}` };
}

/**
 * Installs the BLAS kernel as the wasm backend's BatchMatMul; tried once per thread, later calls
 * only report. Never throws: anything missing leaves the stock kernel and says why.
 */
export function installNativeBlas(env: NodeJS.ProcessEnv = process.env): NativeBlasStatus {
  if (state.tried) return nativeBlasStatus();
  state.tried = true;
  if (env.ALOL_NATIVE_BLAS === '0') {
    state.why = 'native BLAS turned off by ALOL_NATIVE_BLAS=0';
    return nativeBlasStatus();
  }
  const loaded = loadAddon();
  if ('why' in loaded) {
    state.why = loaded.why;
    return nativeBlasStatus();
  }
  let info: BlasInfo;
  try {
    info = loaded.addon.open(blasLibraryCandidates(env));
  } catch (error) {
    state.why = `native BLAS addon built, but ${firstLine(error)}; install one (Debian/Ubuntu: apt-get install libopenblas0-pthread)`;
    return nativeBlasStatus();
  }
  const original = tf.getKernel('BatchMatMul', 'wasm');
  if (!original) {
    state.why = 'the wasm backend has no BatchMatMul kernel to replace';
    return nativeBlasStatus();
  }
  replaceKernel(original, blasBatchMatMul);
  // The cpu backend (models past the wasm heap) multiplies on the same library.
  const cpu = tf.getKernel('BatchMatMul', 'cpu');
  if (cpu) replaceKernel(cpu, blasBatchMatMulCpu);
  state.addon = loaded.addon;
  state.info = info;
  state.enabled = true;
  state.why = null;
  setNativeBlasThreads(defaultBlasThreads(env));
  return nativeBlasStatus();
}

function replaceKernel(
  original: tf.KernelConfig,
  kernel: (args: KernelArgs, fallback: tf.KernelFunc) => tf.TensorInfo | tf.TensorInfo[],
): void {
  const fallback = original.kernelFunc;
  tf.unregisterKernel(original.kernelName, original.backendName);
  tf.registerKernel({ ...original, kernelFunc: (args) => (state.enabled ? kernel(args, fallback) : fallback(args)) });
}

/** Switches between the BLAS kernel (when installed) and the stock wasm kernel; returns the status after. */
export function setNativeBlasEnabled(enabled: boolean): NativeBlasStatus {
  state.enabled = enabled && state.info !== null;
  return nativeBlasStatus();
}

/** BLAS threads for products from this thread (no effect without the BLAS kernel or thread control). */
export function setNativeBlasThreads(n: number): void {
  if (!state.addon || !Number.isInteger(n) || n < 1) return;
  state.addon.setThreads(n);
  state.threads = state.info?.threadControl ? n : null;
}

/** Products below this many multiply-adds (M N K), or with fewer than 64 rows, run on one BLAS thread. */
export const MULTITHREAD_MIN_MACS = 1 << 24;

/** BLAS threads for one (M, K) @ (K, N) product of a batch: the thread's count for large single products, else 1. */
export function blasThreadsFor(m: number, n: number, k: number, batch: number, threads: number): number {
  return threads > 1 && batch === 1 && m >= 64 && m * n * k >= MULTITHREAD_MIN_MACS ? threads : 1;
}

/** True when wasm matMuls run on the BLAS: transpose flags and batched products then cost nothing extra (see ops.ts). */
export function nativeBlasActive(): boolean {
  const backend = tf.getBackend();
  return state.enabled && (backend === 'wasm' || backend === 'cpu');
}

export function nativeBlasStatus(): NativeBlasStatus {
  const info = state.info;
  const threads = state.threads === null ? '' : `, ${state.threads} thread${state.threads === 1 ? '' : 's'}`;
  const summary = !info
    ? `wasm matmul (${state.why})`
    : state.enabled
      ? `wasm + ${info.vendor} matmul (${info.library}${threads})`
      : `wasm matmul (${info.vendor} matmul installed but switched off)`;
  return {
    active: state.enabled,
    installed: info !== null,
    library: info?.library ?? null,
    vendor: info?.vendor ?? null,
    config: info?.config || null,
    threads: state.threads,
    summary,
  };
}

// ---------------------------------------------------------------------------------------------
// The kernel

type KernelArgs = Parameters<tf.KernelFunc>[0];

/** The parts of tfjs-backend-wasm's BackendWasm this kernel uses. */
interface WasmBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: tf.DataId): { memoryOffset: number | null } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  disposeData(dataId: tf.DataId): boolean;
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * op(A) @ op(B)'s sizes when the BLAS can compute it: both float32, rank 2 or more, nothing empty,
 * and batches equal or one side a single matrix (repeated); null sends it to the stock kernel.
 */
function productShape(a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean) {
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || ra < 2 || rb < 2) return null;
  const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const k = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const kb = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = size(outerA);
  const batchB = size(outerB);
  if (k !== kb || m === 0 || n === 0 || k === 0 || batchA === 0 || batchB === 0) return null;
  let outer: number[];
  try {
    outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  } catch {
    return null;
  }
  const batch = size(outer);
  if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) return null;
  return { m, n, k, outer, batch, batchA, batchB };
}

/**
 * op(A) @ op(B) over the batch dims, as the wasm kernel computes it: A (..., M, K) or (..., K, M)
 * with transposeA, B (..., K, N) or (..., N, K); a batch of one on either side is repeated
 * (broadcast), otherwise both batches must flatten alike. Anything else (non-float32, empty
 * dims, other broadcasts, data not in the heap) goes to the stock kernel, which also raises its
 * own errors for mismatched shapes.
 */
function blasBatchMatMul(args: KernelArgs, fallback: tf.KernelFunc): tf.TensorInfo | tf.TensorInfo[] {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
  const backend = args.backend as unknown as WasmBackend;
  const shape = productShape(a, b, transposeA, transposeB);
  if (shape === null) return fallback(args);
  const { m, n, k, outer, batch, batchA, batchB } = shape;
  const aOff = backend.dataIdMap.get(a.dataId)?.memoryOffset;
  const bOff = backend.dataIdMap.get(b.dataId)?.memoryOffset;
  if (aOff == null || bOff == null) return fallback(args);

  const out = backend.makeOutput([...outer, m, n], 'float32');
  const cOff = backend.dataIdMap.get(out.dataId)?.memoryOffset;
  try {
    if (cOff == null) throw new Error('output not in the wasm heap');
    // The heap view only now: makeOutput may have grown the memory (and replaced the view).
    const threads = state.threads === null ? 0 : blasThreadsFor(m, n, k, batch, state.threads);
    state.addon!.sgemm(
      backend.wasm.HEAPU8,
      batch,
      transposeA,
      transposeB,
      m,
      n,
      k,
      aOff,
      batchA === 1 ? 0 : m * k,
      bOff,
      batchB === 1 ? 0 : k * n,
      cOff,
      m * n,
      threads,
    );
  } catch {
    backend.disposeData(out.dataId);
    return fallback(args);
  }
  return out;
}

/** The parts of tfjs-core's cpu backend (MathBackendCPU) this kernel uses. */
interface CpuBackend {
  readSync(dataId: tf.DataId): tf.backend_util.BackendValues;
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): tf.TensorInfo;
}

/** Operands and product side by side for one call: the addon multiplies within one buffer. Grows, never shrinks. */
let cpuScratch = new Float32Array(0);

/**
 * The same product on the cpu backend, whose tensors are separate Float32Arrays outside any wasm
 * heap (so models past 4 GB fit): A and B are copied into one scratch buffer beside room for C,
 * multiplied there, and C copied out. The copies are O(n^2) against the product's O(n^3).
 */
function blasBatchMatMulCpu(args: KernelArgs, fallback: tf.KernelFunc): tf.TensorInfo | tf.TensorInfo[] {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
  const backend = args.backend as unknown as CpuBackend;
  const shape = productShape(a, b, transposeA, transposeB);
  if (shape === null) return fallback(args);
  const { m, n, k, outer, batch, batchA, batchB } = shape;
  const av = backend.readSync(a.dataId);
  const bv = backend.readSync(b.dataId);
  if (!(av instanceof Float32Array) || !(bv instanceof Float32Array)) return fallback(args);
  const cLength = batch * m * n;
  const total = av.length + bv.length + cLength;
  if (cpuScratch.length < total) cpuScratch = new Float32Array(total);
  cpuScratch.set(av, 0);
  cpuScratch.set(bv, av.length);
  const threads = state.threads === null ? 0 : blasThreadsFor(m, n, k, batch, state.threads);
  const bytes = new Uint8Array(cpuScratch.buffer, 0, total * 4);
  state.addon!.sgemm(
    bytes,
    batch,
    transposeA,
    transposeB,
    m,
    n,
    k,
    0,
    batchA === 1 ? 0 : m * k,
    av.length * 4,
    batchB === 1 ? 0 : k * n,
    (av.length + bv.length) * 4,
    m * n,
    threads,
  );
  const c = cpuScratch.slice(av.length + bv.length, total);
  return backend.makeTensorInfo([...outer, m, n], 'float32', c);
}
