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
