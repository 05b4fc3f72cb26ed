/**
 * Tiny Llama-family configs, random weights far from init, and an independent float64 reference
 * forward written here from the equations (plain arrays and loops; nothing shared with llama.ts,
 * ops.ts or llamaConfig.ts beyond the config's field names and the checkpoint's tensor names).
 */
import type { NamedTensors } from '../../../src/main/lm/config';
import type { LlamaConfig } from '../../../src/main/lm/llamaConfig';
import { Rng } from '../../../src/main/core/rng';

const BASE: LlamaConfig = {
  architecture: 'LlamaForCausalLM',
  vocabSize: 64,
  nEmbd: 32,
  intermediateSize: 48,
  nLayer: 2,
  nHead: 4,
  nKvHead: 2,
  headDim: 8,
  nPositions: 32,
  maxPositionEmbeddings: 32,
  // Larger than the usual 1e-5/1e-6, so that forgetting it (or putting it outside the sqrt) shows.
  rmsNormEps: 1e-3,
  ropeTheta: 10000,
  ropeScaling: null,
  tieWordEmbeddings: false,
  qkvBias: false,
  oBias: false,
  mlpBias: false,
  slidingWindow: null,
  attentionDropout: 0,
  bosTokenId: 1,
  eosTokenId: 2,
  eosTokenIds: [2],
  padTokenId: null,
};

/**
 * Llama 3 style: GQA (4 heads, 2 KV heads), untied head, llama3 rope scaling whose three bands
 * (kept, smoothed, divided) all occur at head_dim 8: with rope_theta 100 the wavelengths are
 * 2 pi * [1, 3.16, 10, 31.6] = [6.3, 19.9, 62.8, 198.7]; original 32 / high 4 = 8 and / low 1 = 32.
 */
export const LLAMA3: LlamaConfig = {
  ...BASE,
  ropeTheta: 100,
  ropeScaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 32 },
  eosTokenId: 2,
  eosTokenIds: [2, 3],
};

/** Qwen2 style: q/k/v biases (no o bias), tied, one KV head for four query heads. */
export const QWEN2: LlamaConfig = {
  ...BASE,
  architecture: 'Qwen2ForCausalLM',
  nKvHead: 1,
  ropeTheta: 1000,
  tieWordEmbeddings: true,
  qkvBias: true,
};

/** SmolLM style: tied, rope_theta 10000, 6 heads of 4 sharing 2 KV heads (3 per group). */
export const SMOLLM: LlamaConfig = { ...BASE, nEmbd: 24, nHead: 6, nKvHead: 2, headDim: 4, tieWordEmbeddings: true };

/** Llama 2 style with every bias (attention_bias, mlp_bias) and linear rope scaling, plain MHA. */
export const LLAMA_BIASED: LlamaConfig = {
  ...BASE,
  nKvHead: 4,
  qkvBias: true,
  oBias: true,
  mlpBias: true,
  ropeScaling: { type: 'linear', factor: 4 },
};

/** Mistral: a sliding window exactly the context (accepted), GQA, untied. */
export const MISTRAL: LlamaConfig = {
  ...BASE,
  architecture: 'MistralForCausalLM',
  slidingWindow: 32,
  headDim: 16,
  nHead: 2,
  nKvHead: 1,
};

export const CONFIGS: Record<string, LlamaConfig> = {
  llama3: LLAMA3,
  qwen2: QWEN2,
  smollm: SMOLLM,
  biased: LLAMA_BIASED,
  mistral: MISTRAL,
};

/** The tensor names and shapes of a config, written out here (independently of llamaParameterShapes). */
export function shapesOf(c: LlamaConfig): [string, number[]][] {
  const d = c.nEmbd;
  const out: [string, number[]][] = [['model.embed_tokens.weight', [c.vocabSize, d]]];
  for (let l = 0; l < c.nLayer; l++) {
    const p = `model.layers.${l}`;
    out.push([`${p}.input_layernorm.weight`, [d]]);
    for (const [name, rows, bias] of [
      ['q_proj', c.nHead * c.headDim, c.qkvBias],
      ['k_proj', c.nKvHead * c.headDim, c.qkvBias],
      ['v_proj', c.nKvHead * c.headDim, c.qkvBias],
    ] as const) {
      out.push([`${p}.self_attn.${name}.weight`, [rows, d]]);
      if (bias) out.push([`${p}.self_attn.${name}.bias`, [rows]]);
    }
    out.push([`${p}.self_attn.o_proj.weight`, [d, c.nHead * c.headDim]]);
    if (c.oBias) out.push([`${p}.self_attn.o_proj.bias`, [d]]);
    out.push([`${p}.post_attention_layernorm.weight`, [d]]);
    for (const [name, rows, cols] of [
      ['gate_proj', c.intermediateSize, d],
      ['up_proj', c.intermediateSize, d],
      ['down_proj', d, c.intermediateSize],
    ] as const) {
      out.push([`${p}.mlp.${name}.weight`, [rows, cols]]);
      if (c.mlpBias) out.push([`${p}.mlp.${name}.bias`, [rows]]);
    }
  }
  out.push(['model.norm.weight', [d]]);
  if (!c.tieWordEmbeddings) out.push(['lm_head.weight', [c.vocabSize, d]]);
  return out;
}

/**
 * Weights far from init: matrices N(0, scale), biases N(0, scale / 2), norm weights 1 + N(0, 0.2),
 * the embedding N(0, 1). Optionally quantized to multiples of 2^-6 in [-2, 2), exact in F16 and BF16.
 */
export function randomWeights(
  c: LlamaConfig,
  seed: number,
  options: { scale?: number; quantized?: boolean } = {},
): NamedTensors {
  const scale = options.scale ?? 0.3;
  const rng = new Rng(seed);
  const out: NamedTensors = new Map();
  for (const [name, shape] of shapesOf(c)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let v: number;
      if (name.endsWith('norm.weight')) v = 1 + 0.2 * rng.normal();
      else if (name === 'model.embed_tokens.weight') v = rng.normal();
      else v = rng.normal() * (name.endsWith('.bias') ? scale / 2 : scale);
      data[i] = options.quantized ? Math.max(-2, Math.min(2 - 2 ** -6, Math.round(v * 64) / 64)) : v;
    }
    out.set(name, { shape, data });
  }
  return out;
}

type Matrix = number[][];

/** inv_freq from modeling_rope_utils.py's formulas, in float64. */
export function referenceInvFreq(c: LlamaConfig): number[] {
  const dim = c.headDim;
  const base: number[] = [];
  for (let i = 0; i < dim; i += 2) base.push(1 / c.ropeTheta ** (i / dim));
  const s = c.ropeScaling;
  if (!s) return base;
  if (s.type === 'linear') return base.map((f) => f / s.factor);
  const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  return base.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highWavelen) return f;
    if (wavelen > lowWavelen) return f / s.factor;
    const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    return (1 - smooth) * (f / s.factor) + smooth * f;
  });
}

/**
 * Reference LlamaForCausalLM forward for one sequence, float64. positions: each token's position;
 * keep: which keys may be attended (false for padding). Returns logits (T, V).
 */
export function referenceLogits(
  c: LlamaConfig,
  weights: NamedTensors,
  ids: number[],
  positions = ids.map((_, i) => i),
  keep = ids.map(() => true),
): Matrix {
  const W = (name: string): Float64Array => {
    const w = weights.get(name);
    if (!w) throw new Error(`no ${name}`);
    return Float64Array.from(w.data);
  };
  const has = (name: string) => weights.has(name);
  const D = c.nEmbd;
  const hd = c.headDim;
  const T = ids.length;

  // y = x W^T + b, W stored [out, in] row-major.
  const linear = (x: Matrix, name: string): Matrix => {
    const w = W(`${name}.weight`);
    const [out, inp] = weights.get(`${name}.weight`)!.shape as [number, number];
    const b = has(`${name}.bias`) ? W(`${name}.bias`) : new Float64Array(out);
    return x.map((row) => {
      const y = new Array<number>(out);
      for (let o = 0; o < out; o++) {
        let s = b[o]!;
        for (let i = 0; i < inp; i++) s += row[i]! * w[o * inp + i]!;
        y[o] = s;
      }
      return y;
    });
  };
  const rmsNorm = (x: Matrix, name: string): Matrix => {
    const g = W(name);
    return x.map((row) => {
      const ms = row.reduce((s, v) => s + v * v, 0) / row.length;
      return row.map((v, i) => (g[i]! * v) / Math.sqrt(ms + c.rmsNormEps));
    });
  };
  const invFreq = referenceInvFreq(c);
  // Rotate-half RoPE on one head vector at position p: pairs (i, i + hd/2) rotate by p * inv_freq[i].
  const rope = (v: number[], p: number): number[] => {
    const half = hd / 2;
    const out = new Array<number>(hd);
    for (let i = 0; i < half; i++) {
      const a = p * invFreq[i]!;
      out[i] = v[i]! * Math.cos(a) - v[i + half]! * Math.sin(a);
      out[i + half] = v[i + half]! * Math.cos(a) + v[i]! * Math.sin(a);
    }
    return out;
  };
  const silu = (v: number) => v / (1 + Math.exp(-v));

  const emb = W('model.embed_tokens.weight');
  let x: Matrix = ids.map((id) => Array.from(emb.subarray(id * D, (id + 1) * D)));
  const group = c.nHead / c.nKvHead;
  for (let l = 0; l < c.nLayer; l++) {
    const p = `model.layers.${l}`;
    const n = rmsNorm(x, `${p}.input_layernorm.weight`);
    const q = linear(n, `${p}.self_attn.q_proj`);
    const k = linear(n, `${p}.self_attn.k_proj`);
    const v = linear(n, `${p}.self_attn.v_proj`);
    const heads: Matrix = Array.from({ length: T }, () => new Array<number>(c.nHead * hd).fill(0));
    for (let h = 0; h < c.nHead; h++) {
      const g = Math.floor(h / group);
      for (let i = 0; i < T; i++) {
        const qi = rope(q[i]!.slice(h * hd, (h + 1) * hd), positions[i]!);
        const scores: number[] = [];
        const js: number[] = [];
        for (let j = 0; j <= i; j++) {
          if (!keep[j]) continue;
          const kj = rope(k[j]!.slice(g * hd, (g + 1) * hd), positions[j]!);
          scores.push(qi.reduce((s, val, e) => s + val * kj[e]!, 0) / Math.sqrt(hd));
          js.push(j);
        }
        const max = Math.max(...scores);
        const exps = scores.map((s) => Math.exp(s - max));
        const sum = exps.reduce((a, b) => a + b, 0);
        js.forEach((j, m) => {
          for (let e = 0; e < hd; e++) heads[i]![h * hd + e]! += (exps[m]! / sum) * v[j]![g * hd + e]!;
        });
      }
    }
    const attn = linear(heads, `${p}.self_attn.o_proj`);
    x = x.map((row, i) => row.map((val, d) => val + attn[i]![d]!));
    const m = rmsNorm(x, `${p}.post_attention_layernorm.weight`);
    const gate = linear(m, `${p}.mlp.gate_proj`);
    const up = linear(m, `${p}.mlp.up_proj`);
    const down = linear(
      gate.map((row, i) => row.map((val, j) => silu(val) * up[i]![j]!)),
      `${p}.mlp.down_proj`,
    );
    x = x.map((row, i) => row.map((val, d) => val + down[i]![d]!));
  }
  x = rmsNorm(x, 'model.norm.weight');
  const headName = c.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
  const head = W(headName);
  return x.map((row) =>
    Array.from({ length: c.vocabSize }, (_, t) => row.reduce((s, val, d) => s + val * head[t * D + d]!, 0)),
  );
}
