import * as tf from '@tensorflow/tfjs';
import { initTensorBackend } from '../../../src/main/lm/tensorBackend';
import type { GptConfig } from '../../../src/main/lm/config';
import { Gpt } from '../../../src/main/lm/model';
import { Rng } from '../../../src/main/core/rng';

/** vocab 24, context 32, 2 layers, d 32, 4 heads, no dropout: a stand-in for pi_ref. */
export const TINY: GptConfig = {
  vocabSize: 24,
  nPositions: 32,
  nEmbd: 32,
  nLayer: 2,
  nHead: 4,
  layerNormEpsilon: 1e-5,
  dropout: 0,
  bosTokenId: 0,
  eosTokenId: 23,
};

export async function useWasm(): Promise<void> {
  await initTensorBackend({ name: 'wasm', by: 'test' });
  await tf.setBackend('wasm');
}

/** A frozen reference with GPT-2's initialisation. */
export function tinyReference(seed = 1): Gpt {
  return Gpt.init(TINY, new Rng(seed));
}

/** Tokens as text, one word per id, so prompts and decodes can be scored as strings. */
export const decodeIds = (ids: number[]): string => ids.map((t) => `t${t}`).join(' ');

/**
 * The synthetic value task: a prompt starts with token 1 (target 0.9) or 2 (target 0.1), then 1-6
 * tokens from 3..22. V(x) can only get it right by reading the first prompt position.
 */
export function synthRows(n: number, seed: number): { promptIds: number[]; target: number }[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const first = i % 2 === 0 ? 1 : 2;
    const rest = Array.from({ length: 1 + rng.int(6) }, () => 3 + rng.int(20));
    return { promptIds: [first, ...rest], target: first === 1 ? 0.9 : 0.1 };
  });
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Reads a tensor and disposes it. */
export function take(t: tf.Tensor): number[] {
  const values = Array.from(t.dataSync());
  t.dispose();
  return values;
}
