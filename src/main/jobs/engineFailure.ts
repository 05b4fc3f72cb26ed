/**
 * The one place a job's engine failure becomes a message a person can act on. The tensor backends
 * fail with bare text: wasm's "Aborted(). Build with -sASSERTIONS…", "RuntimeError: memory access
 * out of bounds" (its heap is 32-bit: 4 GiB for weights, gradients, optimizer state and
 * activations together), V8's "Array buffer allocation failed"; WebGPU's lost device and the
 * out-of-memory or validation errors webgpu.ts records. Each becomes an AppError that says what
 * happened, what the limit was and what helps, and suggests a resume only where one can help: a
 * lost device is an accident, but an out-of-memory would recur with the same settings.
 *
 *   throw (await engineFailure(error, { backend: 'wasm', what: 'run 3', kind: 'train', resume })) ?? error;
 */
import { AppError } from '../../shared/contract';
import { adapterSummary, byteSize, webgpuAdapter, webgpuFault, webgpuLimits, type WebgpuFault } from '../lm/webgpu';

export interface FailureContext {
  /** The tensor backend the job ran on, or null when none had started. */
  backend: string | null;
  /** What failed, first in the message: "run 3", "the sample job". */
  what: string;
  /** The job's kind: a run's flags are named in what helps. */
  kind: string;
  /** A run: how to resume it, and the step of its last whole checkpoint (null: none yet). */
  resume?: { command: string; checkpointStep: number | null };
}

const WASM_HEAP = /Aborted\(|memory access out of bounds|Cannot enlarge memory|Maximum memory size exceeded/;
const ARRAY_BUFFER = /Array buffer allocation failed/;
const WEBGPU_READ = /reading a WebGPU buffer failed|WebGPU device (was lost|reported an error)/;

function firstLine(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return (text.split('\n')[0] ?? text).slice(0, 240);
}

/** What to change, for a failure the same settings would repeat. */
function smallerSettings(kind: string, backend: string | null): string {
  const settings =
    kind === 'train'
      ? 'a smaller batch (--batch; --grad-accum keeps its size), a shorter context, or LoRA (--lora-r) instead of full fine-tuning'
      : 'a smaller model, or fewer or shorter sequences at once';
  const other =
    backend === 'webgpu'
      ? ''
      : ', or the webgpu backend on a GPU (--backend webgpu or ALOL_BACKEND=webgpu), which has no 4 GiB heap';
  return `${settings}${other}`;
}

/** The checkpoint a failed run keeps, and that the same settings would fail again. */
function repeatNote(context: FailureContext): string {
  const kept =
    context.resume && context.resume.checkpointStep !== null
      ? ` Its last checkpoint (step ${context.resume.checkpointStep}) is kept.`
      : '';
  const fresh = context.kind === 'train' ? ' in a new run' : '';
  return `The same settings would fail again, so resuming does not help: change them${fresh}.${kept}`;
}

/** Waits a moment for the device to report a loss whose read already failed (its promise settles later). */
async function settledFault(): Promise<WebgpuFault | null> {
  for (let i = 0; i < 50 && !webgpuFault(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  return webgpuFault();
}

function onWebgpu(fault: WebgpuFault, error: unknown, context: FailureContext): AppError {
  const adapter = webgpuAdapter();
  const on = adapter ? ` on ${adapterSummary(adapter)}` : '';
  if (fault.kind === 'lost') {
    const resume = context.resume;
    const next = !resume
      ? 'Run the job again.'
      : resume.checkpointStep === null
        ? `It had no checkpoint yet: ${resume.command} starts it again.`
        : `Its last checkpoint is step ${resume.checkpointStep}: ${resume.command} continues from it.`;
    return new AppError(
      'device_lost',
      `${context.what}: the GPU device was lost${on} (${fault.message}). A driver reset, a GPU hang or another ` +
        `program can take it away; nothing after the last checkpoint was kept. ${next}`,
    );
  }
  const limits = webgpuLimits();
  const limitText = limits
    ? `this device allows ${byteSize(limits.maxBufferSize)} in one buffer and ${byteSize(limits.maxStorageBufferBindingSize)} bound to one kernel`
    : 'the device has a limit on each buffer';
  const overLimit = /exceeds the max|binding size|larger than the maximum/i.test(fault.message);
  const what =
    fault.kind === 'out-of-memory'
      ? `the GPU ran out of memory${on} (WebGPU: ${fault.message})`
      : overLimit
        ? `a tensor was larger than the GPU allows${on}: ${limitText} (WebGPU: ${fault.message})`
        : `the WebGPU device refused the work${on} (${fault.kind}: ${fault.message}; then ${firstLine(error)})`;
  return new AppError(
    fault.kind === 'out-of-memory' || overLimit ? 'out_of_memory' : 'gpu_error',
    `${context.what}: ${what}. What helps: ${smallerSettings(context.kind, 'webgpu')}, or another backend ` +
      `(--backend wasm). ${repeatNote(context)}`,
  );
}

/**
 * The clear error for an engine failure, or null when `error` is not one (it then stays as it is).
 * Already clear errors (AppError) are left alone.
 */
export async function engineFailure(error: unknown, context: FailureContext): Promise<AppError | null> {
  if (error instanceof AppError) return null;
  const text = error instanceof Error ? error.message : String(error);
  if (context.backend === 'webgpu' && (webgpuFault() || WEBGPU_READ.test(text))) {
    const fault = await settledFault();
    if (fault) return onWebgpu(fault, error, context);
    return new AppError(
      'gpu_error',
      `${context.what}: ${firstLine(error)}. Run it again; if it recurs, another backend (--backend wasm) avoids WebGPU.`,
    );
  }
  if (WASM_HEAP.test(text)) {
    const where = context.backend === 'wasm' ? 'the wasm backend' : `the ${context.backend ?? 'tensor'} backend's wasm`;
    return new AppError(
      'out_of_memory',
      `${context.what}: ${where} ran out of memory: its heap is 32-bit, at most 4 GiB for the weights, gradients, ` +
        `optimizer state and activations together (wasm: ${firstLine(error)}). What helps: ` +
        `${smallerSettings(context.kind, context.backend)}. ${repeatNote(context)}`,
    );
  }
  if (ARRAY_BUFFER.test(text)) {
    return new AppError(
      'out_of_memory',
      `${context.what}: the process could not allocate memory for a buffer (${firstLine(error)}): the machine's ` +
        `memory ran out. What helps: ${smallerSettings(context.kind, context.backend)}, or closing other programs. ` +
        repeatNote(context),
    );
  }
  return null;
}
