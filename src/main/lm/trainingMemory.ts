/**
 * What a training pass keeps for its backward pass, estimated, and whether to recompute layers
 * instead (ForwardOptions.recompute, ops.ts recomputed).
 *
 * Per token and layer a transformer keeps about 16 d (norms, q/k/v, attention output, residuals)
 * + 4 ffn (the MLP's activations) + 4 heads x length (attention scores, probabilities, dropout)
 * floats. Measured on wasm for GPT-2 small at 2 x 256 tokens: the heap grew 337 MB per layer
 * against 147 KB x 512 tokens = 75 MB estimated, a factor of ~4.5 from tensors freed into a heap
 * that never shrinks and from allocator fragmentation: FRAGMENTATION says so.
 *
 *   activationBytes({ layers: 12, dim: 768, heads: 12, ffn: 3072 }, 2, 256)   // ~3.6 GB: recompute
 */
import { algorithmNames, loadsReference, type AlgorithmName } from '../../shared/algorithms';

export interface LayerShape {
  layers: number;
  dim: number;
  heads: number;
  ffn: number;
}

const FRAGMENTATION = 4.5;

/** Past this estimate a run recomputes its layers: a quarter of the wasm backend's 4 GB heap. */
export const RECOMPUTE_ABOVE_BYTES = 2 ** 30;

export function activationBytes(shape: LayerShape, batch: number, length: number): number {
  const floats = 16 * shape.dim + 4 * shape.ffn + 4 * shape.heads * length;
  return FRAGMENTATION * 4 * shape.layers * batch * length * floats;
}

/** Recompute layers when keeping their activations would pass RECOMPUTE_ABOVE_BYTES. */
export function recomputeLayers(shape: LayerShape, batch: number, length: number): boolean {
  return activationBytes(shape, batch, length) > RECOMPUTE_ABOVE_BYTES;
}

/** The wasm backend's heap: 32-bit addresses, of which emscripten grows to at most 4,294,901,760 bytes. */
export const WASM_HEAP_BYTES = 4294901760;

/**
 * The heap a training run uses besides its copies of the weights: activations with layers
 * recomputed, the head's chunks, the optimizer's transient per-tensor reads, allocator slack.
 * Measured by `npm run bench:memory` at batch 8 x 256 in micro-batches of 2 (bench/results/memory.json):
 * GPT-2 small's A-LoL full fine-tuning peaked at 3,293 MB with 3 x 475 MB of weight copies.
 */
export const WASM_WORKING_BYTES = 1.9 * 2 ** 30;

export interface TrainingCeiling {
  /** What the run keeps in the heap, in words. */
  mode: string;
  algorithms: AlgorithmName[];
  /** Float32 copies of the weights in the heap: the weights, their gradients, pi_ref's copy. */
  copies: number;
  /** The largest model of this mode that fits the wasm heap, in parameters, rounded down to 10M. */
  maxParameters: number;
}

/**
 * The largest model each kind of run trains on the wasm backend: full fine-tuning keeps the
 * weights and their gradients (AdamW's moments live outside the heap), plus pi_ref's copy where
 * the algorithm loads one; LoRA keeps only the frozen base, which is also pi_ref.
 *
 *   wasmTrainingCeilings()[0]   // { mode: 'full fine-tuning', algorithms: ['nll', 'wbc', 'r_gold'], copies: 2, maxParameters: 280000000 }
 */
export function wasmTrainingCeilings(): TrainingCeiling[] {
  const free = WASM_HEAP_BYTES - WASM_WORKING_BYTES;
  const ceiling = (copies: number) => Math.floor(free / (4 * copies) / 1e7) * 1e7;
  const withoutReference = algorithmNames.filter((a) => !loadsReference(a));
  const withReference = algorithmNames.filter((a) => loadsReference(a));
  return [
    { mode: 'full fine-tuning', algorithms: withoutReference, copies: 2, maxParameters: ceiling(2) },
    { mode: 'full fine-tuning with a copy of pi_ref', algorithms: withReference, copies: 3, maxParameters: ceiling(3) },
    { mode: 'LoRA (the frozen base is pi_ref)', algorithms: [...algorithmNames], copies: 1, maxParameters: ceiling(1) },
  ];
}

/**
 * Null when a run of `parameters` keeping `copies` weight copies fits the wasm heap, else why not
 * and what helps: said before anything loads, where the heap would otherwise run out minutes in.
 */
export function wasmHeapShortfall(parameters: number, copies: number): string | null {
  const needed = parameters * 4 * copies + WASM_WORKING_BYTES;
  if (needed <= WASM_HEAP_BYTES) return null;
  const gb = (bytes: number) => (bytes / 2 ** 30).toFixed(1);
  const ceiling = Math.floor((WASM_HEAP_BYTES - WASM_WORKING_BYTES) / (4 * copies) / 1e7) * 10;
  return (
    `${Math.round(parameters / 1e6)}M parameters in ${copies} cop${copies === 1 ? 'y' : 'ies'} ` +
    `(weights${copies > 1 ? ', gradients' : ''}${copies > 2 ? ", pi_ref's" : ''}) need about ${gb(needed)} GB of the ` +
    `wasm backend's ${gb(WASM_HEAP_BYTES)} GB heap; ${ceiling}M parameters fit in this mode. Train with LoRA ` +
    '(--lora-r 8: the frozen base is the only copy), or on a GPU (--backend webgpu)'
  );
}
