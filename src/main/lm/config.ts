/**
 * A GPT-2-family model's shape, named as in nanoGPT and read from / written to Hugging Face's
 * config.json (vocab_size, n_positions, n_embd, n_layer, n_head, layer_norm_epsilon, *_pdrop).
 */
export interface GptConfig {
  vocabSize: number;
  /** Context length: the number of learned positions. */
  nPositions: number;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  /** 1e-5 in GPT-2. */
  layerNormEpsilon: number;
  /** Dropout on embeddings, attention weights and residual branches while training (GPT-2: 0.1). */
  dropout: number;
  bosTokenId: number;
  eosTokenId: number;
}

/** GPT-2 small (124M), for reference and as the defaults of fields a config.json leaves out. */
export const GPT2_SMALL: GptConfig = {
  vocabSize: 50257,
  nPositions: 1024,
  nEmbd: 768,
  nLayer: 12,
  nHead: 12,
  layerNormEpsilon: 1e-5,
  dropout: 0.1,
  bosTokenId: 50256,
  eosTokenId: 50256,
};

/**
 * The parameter names and shapes of a config, exactly as in a Hugging Face GPT-2 checkpoint
 * (without the "transformer." prefix): Conv1D weights are [in, out], so x @ W needs no transpose.
 * The LM head is tied to wte and has no entry of its own.
 */
export function parameterShapes(c: GptConfig): Map<string, number[]> {
  const d = c.nEmbd;
  const shapes = new Map<string, number[]>([
    ['wte.weight', [c.vocabSize, d]],
    ['wpe.weight', [c.nPositions, d]],
  ]);
  for (let i = 0; i < c.nLayer; i++) {
    const h = `h.${i}`;
    shapes.set(`${h}.ln_1.weight`, [d]).set(`${h}.ln_1.bias`, [d]);
    shapes.set(`${h}.attn.c_attn.weight`, [d, 3 * d]).set(`${h}.attn.c_attn.bias`, [3 * d]);
    shapes.set(`${h}.attn.c_proj.weight`, [d, d]).set(`${h}.attn.c_proj.bias`, [d]);
    shapes.set(`${h}.ln_2.weight`, [d]).set(`${h}.ln_2.bias`, [d]);
    shapes.set(`${h}.mlp.c_fc.weight`, [d, 4 * d]).set(`${h}.mlp.c_fc.bias`, [4 * d]);
    shapes.set(`${h}.mlp.c_proj.weight`, [4 * d, d]).set(`${h}.mlp.c_proj.bias`, [d]);
  }
  shapes.set('ln_f.weight', [d]).set('ln_f.bias', [d]);
  return shapes;
}

export function parameterCount(c: GptConfig): number {
  let n = 0;
  for (const shape of parameterShapes(c).values()) n += shape.reduce((a, b) => a * b, 1);
  return n;
}

/** Plain named float32 tensors: what checkpoints read and write, with no TensorFlow.js in sight. */
export type NamedTensors = Map<string, { shape: number[]; data: Float32Array }>;

/** Same rank and the same size on every axis. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
