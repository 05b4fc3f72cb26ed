import { describe, expect, it } from 'vitest';
import {
  activationBytes,
  recomputeLayers,
  wasmHeapShortfall,
  wasmTrainingCeilings,
  WASM_HEAP_BYTES,
  WASM_WORKING_BYTES,
} from '../../src/main/lm/trainingMemory';

const GPT2_SMALL = { layers: 12, dim: 768, heads: 12, ffn: 3072 };
const DEMO = { layers: 2, dim: 128, heads: 4, ffn: 512 };

describe('training memory on the wasm heap', () => {
  it('recomputes layers for GPT-2 small at 2 x 256 tokens, not for the demo model', () => {
    expect(activationBytes(GPT2_SMALL, 2, 256)).toBeGreaterThan(2 ** 30);
    expect(recomputeLayers(GPT2_SMALL, 2, 256)).toBe(true);
    expect(recomputeLayers(DEMO, 8, 128)).toBe(false);
    // Attention grows with the length squared: a fourfold context, more than fourfold bytes.
    expect(activationBytes(GPT2_SMALL, 1, 1024)).toBeGreaterThan(4 * activationBytes(GPT2_SMALL, 1, 256));
  });

  it('lets through what bench:memory trained and refuses what cannot fit, saying what helps', () => {
    // Measured: GPT-2 small with A-LoL in full (3 copies), Qwen2.5-0.5B with LoRA (1 copy).
    expect(wasmHeapShortfall(124_439_808, 3)).toBeNull();
    expect(wasmHeapShortfall(494_032_768, 1)).toBeNull();
    const refused = wasmHeapShortfall(494_032_768, 2)!;
    expect(refused).toMatch(
      /^494M parameters in 2 copies \(weights, gradients\) need about 5\.6 GB of the wasm backend's 4\.0 GB heap; 280M parameters fit/,
    );
    expect(refused).toMatch(/LoRA .*--backend webgpu/);
    expect(wasmHeapShortfall(200e6, 3)).toMatch(/180M parameters fit/);
  });

  it('gives each mode the largest model whose copies fit beside the working set', () => {
    for (const c of wasmTrainingCeilings()) {
      const fits = c.maxParameters * 4 * c.copies + WASM_WORKING_BYTES;
      expect(fits).toBeLessThanOrEqual(WASM_HEAP_BYTES);
      expect(fits + 1e7 * 4 * c.copies).toBeGreaterThan(WASM_HEAP_BYTES); // rounded down by less than 10M
      expect(wasmHeapShortfall(c.maxParameters, c.copies)).toBeNull();
    }
  });
});
