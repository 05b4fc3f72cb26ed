/**
 * The real model shapes the benchmarks run with random weights: GPT-2 small (124M), SmolLM2-135M
 * (30 layers, d 576, 9 heads, 3 KV heads, MLP 1536, vocab 49,152, tied) and Qwen2.5-0.5B (24 layers,
 * d 896, 14 heads, 2 KV heads, MLP 4,864, vocab 151,936, tied, q/k/v biases).
 */
import type { LlamaConfig } from '../src/main/lm/llamaConfig';

export { GPT2_SMALL } from '../src/main/lm/config';

const llama = (c: Partial<LlamaConfig>): LlamaConfig => ({
  architecture: 'LlamaForCausalLM',
  vocabSize: 32000,
  nEmbd: 512,
  intermediateSize: 1024,
  nLayer: 2,
  nHead: 8,
  nKvHead: 8,
  headDim: 64,
  nPositions: 2048,
  maxPositionEmbeddings: 2048,
  rmsNormEps: 1e-5,
  ropeTheta: 10000,
  ropeScaling: null,
  tieWordEmbeddings: true,
  qkvBias: false,
  oBias: false,
  mlpBias: false,
  slidingWindow: null,
  attentionDropout: 0,
  bosTokenId: 0,
  eosTokenId: 0,
  eosTokenIds: [0],
  padTokenId: null,
  ...c,
});

export const SMOLLM2_135M = llama({
  vocabSize: 49152,
  nEmbd: 576,
  intermediateSize: 1536,
  nLayer: 30,
  nHead: 9,
  nKvHead: 3,
  headDim: 64,
  ropeTheta: 100000,
});

export const QWEN25_05B = llama({
  architecture: 'Qwen2ForCausalLM',
  vocabSize: 151936,
  nEmbd: 896,
  intermediateSize: 4864,
  nLayer: 24,
  nHead: 14,
  nKvHead: 2,
  headDim: 64,
  ropeTheta: 1000000,
  rmsNormEps: 1e-6,
  qkvBias: true,
});
