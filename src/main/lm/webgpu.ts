/**
 * The WebGPU tensor backend in Node: Dawn's Node bindings (npm `webgpu`, a prebuilt dawn.node in the
 * package, nothing downloads) give the process a `navigator.gpu`, and @tensorflow/tfjs-backend-webgpu
 * runs its kernels on the device this module chooses. Both packages are optional dependencies.
 *
 *   const gpu = await startWebgpu({ allowFallback });   // after which tf.setBackend('webgpu') works
 *   gpu.adapter                                          // vendor, architecture, fallback or not, limits
 *   assertWebgpuFits(largestTensorBytes, 'GPT-2 wte');   // a clear error naming the limit
 *
 * Adapter choice: every adapter WebGPU offers the process is listed (high-performance, low-power and
 * the fallback request; WebGPU has no enumeration call), and the high-performance one is taken
 * unless it is a fallback (CPU-emulated) adapter; a fallback adapter only when allowed (the backend
 * forced, or ALOL_WEBGPU_ALLOW_FALLBACK=1).
 *
 * Synchronous reads: tfjs's webgpu readSync (every dataSync, which the model, trainer and sampler
 * use) draws through an OffscreenCanvas, which Node has not. Here readSync copies the tensor into a
 * staging buffer, maps it and drives Dawn's event processing itself until the map completes: dawn.node
 * schedules that processing with setImmediate, so while a read waits, setImmediate is replaced by a
 * function that runs the callback at once. A read costs a full device sync, as on any GPU.
 */
import * as tf from '@tensorflow/tfjs';
import { AppError, type WebgpuAdapterReport } from '../../shared/contract';
import { onTestPoint } from '../core/killPoint';

export type { WebgpuAdapterReport };

/** The limits reported for each adapter, in bytes or counts. */
const LIMIT_NAMES = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupsPerDimension',
] as const;

// Minimal shapes of the WebGPU objects used here (the DOM's WebGPU types are not in this tsconfig).
interface GpuAdapterInfo {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}
interface GpuAdapter {
  info?: GpuAdapterInfo;
  isFallbackAdapter?: boolean;
  limits: Record<string, number>;
  features: Set<string>;
  requestDevice(descriptor?: object): Promise<GpuDevice>;
}
interface GpuDevice {
  limits: Record<string, number>;
  lost: Promise<{ reason: string; message: string }>;
  destroy(): void;
  addEventListener(type: 'uncapturederror', listener: (event: { error?: { message?: string } }) => void): void;
  createBuffer(descriptor: { size: number; usage: number }): GpuBuffer;
  createCommandEncoder(): {
    copyBufferToBuffer(src: GpuBuffer, so: number, dst: GpuBuffer, d: number, size: number): void;
    finish(): unknown;
  };
  queue: { submit(buffers: unknown[]): void };
}
interface GpuBuffer {
  size: number;
  mapState: string;
  mapAsync(mode: number, offset?: number, size?: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
  destroy(): void;
}
interface Gpu {
  requestAdapter(options?: { powerPreference?: string; forceFallbackAdapter?: boolean }): Promise<GpuAdapter | null>;
}
interface DawnModule {
  create(options: string[]): Gpu;
  globals: Record<string, unknown>;
}

export interface WebgpuOptions {
  /** Take a fallback (CPU-emulated, e.g. SwiftShader) adapter when no real one is there. */
  allowFallback: boolean;
}

export interface WebgpuStarted {
  adapter: WebgpuAdapterReport;
  adapters: WebgpuAdapterReport[];
}

/** The fallback adapter is allowed by the environment (the tests set it). */
export function webgpuFallbackAllowed(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.ALOL_WEBGPU_ALLOW_FALLBACK === '1' || env.ALOL_WEBGPU_ALLOW_FALLBACK === 'true';
}

function describe(adapter: GpuAdapter, requestedAs: string): WebgpuAdapterReport {
  const info = adapter.info ?? {};
  const limits: Record<string, number> = {};
  for (const name of LIMIT_NAMES) {
    const v = adapter.limits[name];
    if (typeof v === 'number') limits[name] = v;
  }
  return {
    vendor: info.vendor || 'unknown',
    architecture: info.architecture || 'unknown',
    device: info.device || '',
    description: info.description || '',
    fallback: Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false),
    requestedAs,
    limits,
  };
}

const sameAdapter = (a: WebgpuAdapterReport, b: WebgpuAdapterReport) =>
  a.vendor === b.vendor &&
  a.architecture === b.architecture &&
  a.device === b.device &&
  a.description === b.description &&
  a.fallback === b.fallback;

/** One line for reports: 'google swiftshader (fallback; maxBufferSize 2.0 GiB, maxStorageBufferBindingSize 128 MiB)'. */
export function adapterSummary(a: WebgpuAdapterReport): string {
  const name = [a.vendor, a.architecture, a.description && a.description !== a.architecture ? a.description : '']
    .filter(Boolean)
    .join(' ');
  const limits = ['maxBufferSize', 'maxStorageBufferBindingSize']
    .filter((n) => a.limits[n] !== undefined)
    .map((n) => `${n} ${byteSize(a.limits[n]!)}`);
  return `${name} (${[a.fallback ? 'fallback, CPU-emulated' : 'hardware', ...limits].join('; ')})`;
}

/** A byte count for messages: '1.0 GiB', '128 MiB'. */
export function byteSize(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(0)} MiB`;
  return `${n} B`;
}

let dawn: { module: DawnModule; gpu: Gpu } | null = null;

async function loadDawn(): Promise<{ module: DawnModule; gpu: Gpu }> {
  if (dawn) return dawn;
  // A variable name: the package is optional, and the bundler must leave it to Node.
  const name = 'webgpu';
  const module = (await import(/* @vite-ignore */ name)) as DawnModule;
  installTickCapture();
  Object.assign(globalThis, module.globals);
  const gpu = module.create([]);
  // tfjs's WebGPUBackend checks navigator.gpu when it is constructed (Node 20 has no navigator).
  const g = globalThis as { navigator?: object };
  if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  dawn = { module, gpu };
  return dawn;
}

/**
 * Every adapter WebGPU offers this process, high-performance first, with the adapter objects. Loads
 * dawn.node (throws when the package is missing or does not load).
 */
async function adapters(): Promise<{ report: WebgpuAdapterReport; adapter: GpuAdapter }[]> {
  const { gpu } = await loadDawn();
  const found: { report: WebgpuAdapterReport; adapter: GpuAdapter }[] = [];
  const requests: [string, { powerPreference?: string; forceFallbackAdapter?: boolean }][] = [
    ['high-performance', { powerPreference: 'high-performance' }],
    ['low-power', { powerPreference: 'low-power' }],
    ['fallback', { forceFallbackAdapter: true }],
  ];
  for (const [as, options] of requests) {
    const adapter = await gpu.requestAdapter(options).catch(() => null);
    if (!adapter) continue;
    const report = describe(adapter, as);
    if (!found.some((f) => sameAdapter(f.report, report))) found.push({ report, adapter });
  }
  return found;
}

/** The adapters alone, for `alol doctor` (empty when the package is missing). */
export async function listWebgpuAdapters(): Promise<{ adapters: WebgpuAdapterReport[]; error: string | null }> {
  try {
    return { adapters: (await adapters()).map((a) => a.report), error: null };
  } catch (error) {
    return { adapters: [], error: error instanceof Error ? error.message : String(error) };
  }
}

let started: WebgpuStarted | null = null;
let limits: { maxBufferSize: number; maxStorageBufferBindingSize: number } | null = null;

/**
 * Chooses the adapter, registers tfjs's webgpu backend on a device from it and makes it current.
 * Throws, saying why, when no adapter is acceptable.
 */
export async function startWebgpu(options: WebgpuOptions): Promise<WebgpuStarted> {
  if (started) {
    if (!(await tf.setBackend('webgpu'))) throw new Error('the webgpu backend did not start');
    return started;
  }
  const found = await adapters();
  const reports = found.map((f) => f.report);
  if (found.length === 0)
    throw new Error(
      'WebGPU offers no adapter (no GPU driver Dawn can use: Vulkan on Linux, Metal on macOS, D3D12 on Windows)',
    );
  const pick = found.find((f) => !f.report.fallback) ?? (options.allowFallback ? found[0] : undefined);
  if (!pick)
    throw new Error(
      `only a fallback adapter (${reports.map(adapterSummary).join('; ')}), passed over: it emulates a GPU on the CPU; ` +
        'force --backend webgpu or set ALOL_WEBGPU_ALLOW_FALLBACK=1 to use it',
    );
  const { adapter } = pick;
  // The package registers its kernels on import; its own backend factory asks navigator.gpu for an
  // adapter, so it is replaced by one on the adapter chosen here.
  const webgpuPackage = '@tensorflow/tfjs-backend-webgpu';
  const { WebGPUBackend } = (await import(/* @vite-ignore */ webgpuPackage)) as {
    WebGPUBackend: new (device: GpuDevice, info?: GpuAdapterInfo) => tf.KernelBackend;
  };
  const required: Record<string, number> = {};
  // ALOL_WEBGPU_LIMITS=default asks for WebGPU's default buffer limits (256 MiB a buffer, 128 MiB a
  // binding), what any adapter grants, instead of the adapter's own: the tests meet the limits at
  // small sizes with it.
  const bufferLimits =
    process.env.ALOL_WEBGPU_LIMITS === 'default' ? [] : ['maxStorageBufferBindingSize', 'maxBufferSize'];
  for (const name of [
    'maxComputeWorkgroupStorageSize',
    'maxComputeWorkgroupsPerDimension',
    ...bufferLimits,
    'maxComputeWorkgroupSizeX',
    'maxComputeInvocationsPerWorkgroup',
  ]) {
    const v = adapter.limits[name];
    if (typeof v === 'number') required[name] = v;
  }
  const features = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
  const device = await adapter.requestDevice({ requiredFeatures: features, requiredLimits: required });
  watchDevice(device);
  if ('webgpu' in (tf.engine() as unknown as { registryFactory: object }).registryFactory) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => {
    const backend = new WebGPUBackend(device, adapter.info);
    patchReadSync(backend as unknown as WebgpuBackendInternals, device);
    return backend;
  });
  // The device's limit (the default 8 unless required), not the adapter's.
  chunkAddN(Math.max(2, (device.limits.maxStorageBuffersPerShaderStage ?? 8) - 1));
  if (!(await tf.setBackend('webgpu'))) throw new Error('the webgpu backend did not start on the chosen adapter');
  // The device's limits, what WebGPU enforces: the adapter's, or the defaults (ALOL_WEBGPU_LIMITS).
  limits = {
    maxBufferSize: device.limits.maxBufferSize ?? Infinity,
    maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize ?? Infinity,
  };
  started = { adapter: pick.report, adapters: reports };
  return started;
}

/** What went wrong on the device: lost, or an error WebGPU raised that no error scope caught. */
export interface WebgpuFault {
  kind: 'lost' | 'out-of-memory' | 'validation' | 'internal';
  message: string;
}

let fault: WebgpuFault | null = null;
let currentDevice: GpuDevice | null = null;

/**
 * Records the device's first fault. tfjs pushes no error scopes, so an allocation WebGPU refuses
 * (out of memory, a buffer past a limit) arrives only as an uncaptured error, and every kernel
 * after it runs on an invalid buffer: reads then return zeros. The error arrives synchronously,
 * inside the op that caused it; from then on every read throws (waitForMap), so no step computes
 * on zeros and no checkpoint stores them. A lost device resolves `lost` (any reason: nothing here
 * destroys the device it computes on, except the test hook ALOL_TEST_LOSE_WEBGPU_AT=PHASE:COUNT,
 * which destroys it at a killPoint, as a driver reset would take it away).
 */
function watchDevice(device: GpuDevice): void {
  currentDevice = device;
  fault = null;
  device.addEventListener('uncapturederror', (event) => {
    if (fault || device !== currentDevice) return;
    const name = (event.error as object | undefined)?.constructor?.name ?? '';
    const kind = /OutOfMemory/.test(name) ? 'out-of-memory' : /Validation/.test(name) ? 'validation' : 'internal';
    fault = { kind, message: (event.error?.message ?? String(event.error)).split('\n')[0]!.trim() };
  });
  void device.lost.then((info) => {
    if (device !== currentDevice) return;
    // A loss after an error keeps the error: an out-of-memory can take the device down with it, and
    // what to change is the memory, not the driver.
    fault ??= { kind: 'lost', message: `${info.reason}: ${info.message}` };
  });
  onTestPoint('ALOL_TEST_LOSE_WEBGPU_AT', () => device.destroy());
}

/** The device's first fault since it started, or null. */
export function webgpuFault(): WebgpuFault | null {
  return fault;
}

/** The device's buffer limits in bytes, or null when webgpu has not started. */
export function webgpuLimits(): { maxBufferSize: number; maxStorageBufferBindingSize: number } | null {
  return limits;
}

/** The adapter the webgpu backend runs on, or null when it has not started. */
export function webgpuAdapter(): WebgpuAdapterReport | null {
  return started?.adapter ?? null;
}

function faultError(f: WebgpuFault): Error {
  return new Error(
    f.kind === 'lost'
      ? `the WebGPU device was lost (${f.message})`
      : `the WebGPU device reported an error (${f.kind}): ${f.message}`,
  );
}

/**
 * tfjs 4.22's webgpu AddN binds every input as a storage buffer in one shader; past the device's
 * maxStorageBuffersPerShaderStage (8 here, one for the output) the pipeline is invalid and the
 * sum comes back 0, with only a validation message (gradient clipping's global norm sums one term
 * per parameter). This wraps the kernel to add at most `width` inputs per shader, in rounds.
 */
function chunkAddN(width: number): void {
  const original = tf.getKernel('AddN', 'webgpu');
  if (!original || (original as { chunked?: boolean }).chunked) return;
  const kernelFunc = original.kernelFunc;
  tf.unregisterKernel('AddN', 'webgpu');
  const chunked = {
    kernelName: 'AddN',
    backendName: 'webgpu',
    chunked: true,
    kernelFunc: (args: Parameters<typeof kernelFunc>[0]) => {
      let inputs = args.inputs as unknown as tf.TensorInfo[];
      if (inputs.length <= width) return kernelFunc(args);
      const temporaries: tf.TensorInfo[] = [];
      while (inputs.length > width) {
        const next: tf.TensorInfo[] = [];
        for (let i = 0; i < inputs.length; i += width) {
          const group = inputs.slice(i, i + width);
          if (group.length === 1) {
            next.push(group[0]!);
            continue;
          }
          const sum = kernelFunc({ ...args, inputs: group as unknown as tf.NamedTensorInfoMap }) as tf.TensorInfo;
          temporaries.push(sum);
          next.push(sum);
        }
        inputs = next;
      }
      const out = kernelFunc({ ...args, inputs: inputs as unknown as tf.NamedTensorInfoMap }) as tf.TensorInfo;
      for (const t of temporaries) (args.backend as tf.KernelBackend).disposeData(t.dataId);
      return out;
    },
  };
  tf.registerKernel(chunked as tf.KernelConfig);
}

/** Throws when the device was lost or reported an error (executeJob checks before a job's result leaves). */
export function assertWebgpuAlive(): void {
  if (fault) throw faultError(fault);
}

/**
 * Throws a clear error when a tensor of `byteLength` bytes cannot live on the device: a kernel
 * binds each tensor whole as a storage buffer, so the binding limit is the one that bites first.
 * No-op unless the webgpu backend was started.
 */
export function assertWebgpuFits(byteLength: number, what: string): void {
  if (!limits) return;
  const checks: [keyof typeof limits, number][] = [
    ['maxBufferSize', limits.maxBufferSize],
    ['maxStorageBufferBindingSize', limits.maxStorageBufferBindingSize],
  ];
  for (const [name, limit] of checks) {
    if (byteLength > limit)
      throw new AppError(
        'out_of_memory',
        `${what} needs ${byteSize(byteLength)} in one GPU buffer, over this WebGPU device's ${name} of ${byteSize(limit)} ` +
          '(a limit of the device, which no setting changes); use a smaller model or another backend (--backend wasm)',
      );
  }
}

/** The largest tensor of a model, in bytes (float32), with its name: what assertWebgpuFits takes. */
export function largestTensor(shapes: Iterable<[string, readonly number[]]>): { name: string; bytes: number } {
  let best = { name: '', bytes: 0 };
  for (const [name, shape] of shapes) {
    const n = shape.reduce((a, b) => a * b, 1) * 4;
    if (n > best.bytes) best = { name, bytes: n };
  }
  return best;
}

/** What of tfjs's WebGPUBackend the synchronous read uses (internal fields, stable in 4.22). */
interface WebgpuBackendInternals {
  readSync(dataId: object): unknown;
  tensorMap: { get(dataId: object): { values: unknown; dtype: string; resource: unknown } | undefined };
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  commandEncoder: { copyBufferToBuffer(src: GpuBuffer, so: number, dst: GpuBuffer, d: number, size: number): void };
  convertAndCacheOnCPU(dataId: object, data: unknown): unknown;
}

/**
 * How long a synchronous read may wait for the device: a read waits for all queued work (a whole
 * training step's backward pass on GPT-2 small took over 120 s on SwiftShader). ALOL_WEBGPU_READ_TIMEOUT_S.
 */
const READ_TIMEOUT_MS = (Number(process.env.ALOL_WEBGPU_READ_TIMEOUT_S) || 1800) * 1000;

function patchReadSync(backend: WebgpuBackendInternals, device: GpuDevice): void {
  const original = backend.readSync.bind(backend);
  backend.readSync = (dataId: object) => {
    const data = backend.tensorMap.get(dataId);
    if (!data || data.values != null || data.dtype === 'string' || data.dtype === 'complex64') return original(dataId);
    const source = data.resource as GpuBuffer;
    const usage = globalThis as unknown as { GPUBufferUsage: { COPY_DST: number; MAP_READ: number } };
    const mode = globalThis as unknown as { GPUMapMode: { READ: number } };
    const staging = device.createBuffer({
      size: source.size,
      usage: usage.GPUBufferUsage.COPY_DST | usage.GPUBufferUsage.MAP_READ,
    });
    try {
      backend.ensureCommandEncoderReady();
      backend.endComputePassEncoder();
      backend.commandEncoder.copyBufferToBuffer(source, 0, staging, 0, source.size);
      backend.submitQueue();
      waitForMap(staging, mode.GPUMapMode.READ);
      // An error raised by the work this read waited for: the values are not to be trusted.
      if (fault) throw faultError(fault);
      const raw = staging.getMappedRange().slice(0);
      staging.unmap();
      const values = tf.util.convertBackendValuesAndArrayBuffer(raw, data.dtype as tf.DataType);
      return backend.convertAndCacheOnCPU(dataId, values);
    } finally {
      staging.destroy();
    }
  };
}

/**
 * dawn.node drives its event processing (which completes maps and resolves its promises) with a
 * tick it schedules through globalThis.setImmediate, again and again while anything is pending. This
 * wrapper, installed before dawn.node starts, remembers that tick (a native function) and counts
 * the ones waiting in the event loop; while a synchronous read waits, ticks queue here instead.
 */
const realSetImmediate = globalThis.setImmediate;
let dawnTick: (() => void) | null = null;
let pendingRealTicks = 0;
let capture: (() => void)[] | null = null;

function isNative(f: unknown): boolean {
  return typeof f === 'function' && Function.prototype.toString.call(f).includes('[native code]');
}

const inertHandle = {
  ref: () => inertHandle,
  unref: () => inertHandle,
  hasRef: () => false,
  [Symbol.dispose]: () => {},
} as unknown as NodeJS.Immediate;

function installTickCapture(): void {
  const wrapped = ((callback: (...args: unknown[]) => void, ...args: unknown[]) => {
    if (!isNative(callback)) return realSetImmediate(callback, ...args);
    const tick = () => callback(...args);
    dawnTick = tick;
    if (capture) {
      // The tick runs from the waiting read; dawn.node ignores the handle. (A real setImmediate
      // here would queue one no-op per spin of the wait: millions over a long read.)
      capture.push(tick);
      return inertHandle;
    }
    pendingRealTicks++;
    return realSetImmediate(() => {
      pendingRealTicks--;
      tick();
    });
  }) as typeof setImmediate;
  globalThis.setImmediate = wrapped;
}

/** Maps a buffer synchronously by running dawn.node's event-processing tick until the map completes. */
function waitForMap(buffer: GpuBuffer, mode: number): void {
  const queued: (() => void)[] = [];
  let failure: unknown = null;
  capture = queued;
  try {
    buffer.mapAsync(mode).catch((error: unknown) => {
      failure = error;
    });
    const deadline = Date.now() + READ_TIMEOUT_MS;
    while (buffer.mapState !== 'mapped') {
      if (fault) throw faultError(fault);
      if (failure || buffer.mapState === 'unmapped')
        throw new Error(
          `reading a WebGPU buffer failed${failure ? `: ${String(failure)}` : ' (the device may have been lost)'}`,
        );
      const tick = queued.shift() ?? dawnTick;
      if (!tick) throw new Error('reading a WebGPU buffer synchronously: dawn.node scheduled no event processing');
      tick();
      if (Date.now() > deadline) throw new Error(`reading a WebGPU buffer took over ${READ_TIMEOUT_MS / 1000} s`);
    }
  } finally {
    capture = null;
    // Every tick does the same (process events, then tick again while anything is pending): one
    // chain in the event loop is enough, so a queued tick goes there only when none is waiting.
    const last = queued.pop();
    if (last && pendingRealTicks === 0) {
      pendingRealTicks++;
      realSetImmediate(() => {
        pendingRealTicks--;
        last();
      });
    }
  }
}

/** Lets the process exit: dawn.node keeps Node alive while its GPU object is referenced. */
export function releaseWebgpu(): void {
  dawn = null;
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator && 'gpu' in g.navigator) delete g.navigator.gpu;
}
