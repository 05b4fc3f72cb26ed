import * as tf from '@tensorflow/tfjs';
import { initTensorBackend } from '../../../src/main/lm/tensorBackend';
import { parameterShapes, type GptConfig, type NamedTensors } from '../../../src/main/lm/config';
import { Rng } from '../../../src/main/core/rng';

/** vocab 50, context 16, 2 layers, d 32, 4 heads. */
export const TOY: GptConfig = {
  vocabSize: 50,
  nPositions: 16,
  nEmbd: 32,
  nLayer: 2,
  nHead: 4,
  layerNormEpsilon: 1e-5,
  dropout: 0.1,
  bosTokenId: 0,
  eosTokenId: 49,
};

export async function useWasm(): Promise<void> {
  await initTensorBackend({ name: 'wasm', by: 'test' });
  await tf.setBackend('wasm');
}

/** Runs fn with `name` as the backend, then goes back to wasm. */
export async function onBackend<T>(name: 'wasm' | 'cpu', fn: () => T | Promise<T>): Promise<T> {
  await useWasm();
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} did not start`);
  try {
    return await fn();
  } finally {
    await tf.setBackend('wasm');
  }
}

/**
 * Weights far from GPT-2's init (std 0.02 makes every logit ~0, which tests nothing): matrices
 * N(0, scale), biases N(0, scale / 2), layer-norm weights 1 + N(0, 0.2). The softmaxes are then
 * peaked, and a mistake anywhere moves the logits well past the tolerances.
 */
export function randomWeights(config: GptConfig, seed: number, scale = 0.3): NamedTensors {
  const rng = new Rng(seed);
  const out: NamedTensors = new Map();
  for (const [name, shape] of parameterShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const isLnWeight = /ln_(\d|f)\.weight$/.test(name);
    for (let i = 0; i < n; i++) {
      data[i] = isLnWeight ? 1 + 0.2 * rng.normal() : rng.normal() * (name.endsWith('.bias') ? scale / 2 : scale);
    }
    out.set(name, { shape, data });
  }
  return out;
}

export function randomTokens(rng: Rng, n: number, vocab: number): number[] {
  return Array.from({ length: n }, () => rng.int(vocab));
}

/** Reads a tensor and disposes it. */
export function take(t: tf.Tensor): number[] {
  const values = Array.from(t.dataSync());
  t.dispose();
  return values;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
