/**
 * Picks the tensor backend, best first: TensorFlow with CUDA (tfjs-node-gpu), WebGPU on a real GPU
 * adapter (Dawn's Node bindings, webgpu.ts), TensorFlow on the CPU (tfjs-node), WebAssembly
 * (tfjs-backend-wasm), then pure JavaScript. The two native TensorFlow packages are optional
 * dependencies whose installers download libtensorflow, so they are often absent; npm `webgpu` is
 * optional too. Each candidate is tried for real and the report says what happened to every one.
 *
 * WebGPU takes a fallback (CPU-emulated) adapter only when forced (--backend webgpu, ALOL_BACKEND)
 * or allowed by ALOL_WEBGPU_ALLOW_FALLBACK=1; ALOL_WEBGPU=0 skips the candidate. The report lists
 * every adapter WebGPU offered (`adapters`) and the one in use (`adapter`).
 *
 * On wasm, matrix products run on a native BLAS when the optional alol-blas addon and a BLAS
 * library are there (nativeBlas.ts); the wasm candidate's detail and the reason say which, or why not.
 */
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { tensorBackendNames, type TensorBackendName, type TensorBackendReport } from '../../shared/contract';
import { installNativeBlas, nativeBlasStatus } from './nativeBlas';
import {
  adapterSummary,
  listWebgpuAdapters,
  releaseWebgpu,
  startWebgpu,
  webgpuFallbackAllowed,
  type WebgpuAdapterReport,
} from './webgpu';

const requireOptional = createRequire(import.meta.url);

type Candidate = TensorBackendReport['candidates'][number];

export function isTensorBackendName(value: string): value is TensorBackendName {
  return (tensorBackendNames as readonly string[]).includes(value);
}

export interface ForcedTensorBackend {
  name: TensorBackendName;
  /** Who forced it, for the report: "--backend" or "ALOL_BACKEND". */
  by: string;
}

/** The backend a user asked for: --backend wins over ALOL_BACKEND. */
export function requestedTensorBackend(flag: string | undefined, env: NodeJS.ProcessEnv): ForcedTensorBackend | null {
  const [value, by] = flag
    ? [flag, '--backend']
    : env.ALOL_BACKEND
      ? [env.ALOL_BACKEND, 'ALOL_BACKEND']
      : [undefined, ''];
  if (value === undefined) return null;
  if (!isTensorBackendName(value))
    throw new Error(`${by}: unknown backend "${value}"; use one of ${tensorBackendNames.join(', ')}`);
  return { name: value, by };
}

function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0]?.slice(0, 300) ?? text;
}

function nvidiaGpu(): string | null {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], {
      timeout: 5000,
      encoding: 'utf8',
    });
    return out.trim().split('\n')[0] || null;
  } catch {
    return null;
  }
}

type Tf = typeof import('@tensorflow/tfjs');

async function tryNative(tf: Tf, pkg: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node'): Promise<string> {
  // require with a variable name: these packages may be missing, and the bundler must not resolve them.
  requireOptional(pkg);
  if (!(await tf.setBackend('tensorflow'))) throw new Error(`${pkg} loaded but the tensorflow backend did not start`);
  return pkg;
}

/** Starts wasm, with the BLAS matrix product when it can be had; returns what runs the products. */
async function tryWasm(tf: Tf): Promise<string> {
  await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not start');
  return installNativeBlas().summary;
}

/**
 * On Linux, Dawn's Vulkan needs a GPU device node or an ICD named in VK_ICD_FILENAMES (SwiftShader);
 * without either, loading dawn.node only costs time and prints the system's Vulkan drivers' warnings.
 */
function linuxGpuPossible(env: NodeJS.ProcessEnv): boolean {
  if (process.platform !== 'linux' || env.VK_ICD_FILENAMES) return true;
  if (existsSync('/dev/nvidia0')) return true;
  try {
    return readdirSync('/dev/dri').some((name) => name.startsWith('renderD'));
  } catch {
    return false;
  }
}

/** What the webgpu candidate found, for the report: every adapter offered and the one in use. */
interface WebgpuFound {
  adapters: WebgpuAdapterReport[];
  adapter: WebgpuAdapterReport | null;
}

async function tryWebgpu(forced: boolean, found: WebgpuFound): Promise<string> {
  if (!forced && (process.env.ALOL_WEBGPU === '0' || process.env.ALOL_WEBGPU === 'false'))
    throw new Error('skipped (ALOL_WEBGPU=0)');
  if (!forced && !linuxGpuPossible(process.env))
    throw new Error('no GPU device node (/dev/dri/renderD*, /dev/nvidia0) and no VK_ICD_FILENAMES: not tried');
  const listed = await listWebgpuAdapters();
  found.adapters = listed.adapters;
  if (listed.error !== null) throw new Error(listed.error);
  try {
    const started = await startWebgpu({ allowFallback: forced || webgpuFallbackAllowed() });
    found.adapter = started.adapter;
    return `@tensorflow/tfjs-backend-webgpu on Dawn (npm webgpu), adapter ${adapterSummary(started.adapter)}`;
  } catch (error) {
    // Nothing of Dawn's stays referenced, so it does not keep the process alive.
    releaseWebgpu();
    throw error;
  }
}

function isMissingModule(error: unknown): boolean {
  if (!(error instanceof Error) || !('code' in error)) return false;
  return error.code === 'MODULE_NOT_FOUND' || error.code === 'ERR_MODULE_NOT_FOUND';
}

async function attempt(tf: Tf, name: TensorBackendName, forced: boolean, webgpu: WebgpuFound): Promise<Candidate> {
  try {
    switch (name) {
      case 'tensorflow-gpu': {
        const gpu = nvidiaGpu();
        if (!gpu) return { name, available: false, detail: 'no NVIDIA GPU found (nvidia-smi absent or failed)' };
        await tryNative(tf, '@tensorflow/tfjs-node-gpu');
        return { name, available: true, detail: `@tensorflow/tfjs-node-gpu on ${gpu}` };
      }
      case 'webgpu':
        return { name, available: true, detail: await tryWebgpu(forced, webgpu) };
      case 'tensorflow':
        await tryNative(tf, '@tensorflow/tfjs-node');
        return { name, available: true, detail: '@tensorflow/tfjs-node (libtensorflow on the CPU)' };
      case 'wasm': {
        const products = await tryWasm(tf);
        return {
          name,
          available: true,
          detail: `@tensorflow/tfjs-backend-wasm (SIMD, one core per process); ${products}`,
        };
      }
      case 'cpu': {
        if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not start');
        const blas = installNativeBlas();
        return {
          name,
          available: true,
          detail: blas.active
            ? `JavaScript, no heap limit; matrix products on ${blas.vendor} (${blas.library})`
            : `pure JavaScript (slowest); ${blas.summary}`,
        };
      }
    }
  } catch (error) {
    const missing = isMissingModule(error);
    return {
      name,
      available: false,
      detail: !missing
        ? errorText(error)
        : name === 'webgpu'
          ? 'package not installed (npm webgpu and @tensorflow/tfjs-backend-webgpu are optional dependencies)'
          : 'package not installed (its libtensorflow download failed or was skipped)',
    };
  }
}

let chosen: Promise<TensorBackendReport> | null = null;

/**
 * Starts the best available backend (or the one forced) once per process and says why. A forced
 * backend that cannot start is an error, not a silent fallback.
 */
export function initTensorBackend(forced: ForcedTensorBackend | null = null): Promise<TensorBackendReport> {
  chosen ??= pick(forced);
  return chosen;
}

async function pick(forced: ForcedTensorBackend | null): Promise<TensorBackendReport> {
  // Loaded here, not at the top: TensorFlow.js takes most of a second, and most commands never need it.
  const tf = await import('@tensorflow/tfjs');
  const candidates: Candidate[] = [];
  const order = forced ? [forced.name] : tensorBackendNames;
  const webgpu: WebgpuFound = { adapters: [], adapter: null };
  const adapters = () =>
    order.includes('webgpu') ? { adapters: webgpu.adapters, adapter: webgpu.adapter } : { adapter: null };
  for (const name of order) {
    const candidate = await attempt(tf, name, forced !== null, webgpu);
    candidates.push(candidate);
    if (candidate.available) {
      const passedOver = candidates.filter((c) => !c.available).map((c) => `${c.name}: ${c.detail}`);
      const why = forced
        ? `forced by ${forced.by}`
        : passedOver.length === 0
          ? 'the best backend, available'
          : `best available; passed over ${passedOver.join('; ')}`;
      // What computes wasm's matrix products (most of a training step), first: the BLAS, or the wasm kernel and why.
      const reason = name === 'wasm' ? `${nativeBlasStatus().summary}; ${why}` : why;
      return {
        chosen: name,
        tfBackend: tf.getBackend(),
        reason,
        forcedBy: forced?.by ?? null,
        candidates,
        ...adapters(),
      };
    }
  }
  const why = candidates.map((c) => `${c.name}: ${c.detail}`).join('; ');
  throw new Error(
    forced ? `${forced.by}=${forced.name} cannot start: ${why}` : `no tensor backend could start: ${why}`,
  );
}
