/**
 * Advantages A_i = R_i - V(x_i) for every training item (ALOL.md step 3), computed once and cached
 * under a key that names everything they depend on, so a cache made with another data set version,
 * reference, value head, reward function or advantage code is never read.
 *
 *   const key = advantageCacheKey({ datasetVersion: 'ds-12@3', referenceSha: weightsSha256(reference.params),
 *     valueHeadSha: weightsSha256(head.params), rewardFunctionId: 'demo' });
 *   const result = loadAdvantages(dir, key) ?? computeAdvantages({ reference, head, items });
 *   saveAdvantages(dir, key, result);
 *   // result.advantages Float32Array(N); result.stats { positiveFraction: 0.41, meanAdvantage: -0.02, ... }
 */
import { createHash } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { CausalLm } from '../lm/causalLm';
import { readSafetensors, writeSafetensors } from '../lm/safetensors';
import { distinctSequences } from './valueHead';
import { predictValues, type PooledHead } from '../lm/pooledHead';

/** Bump when the way advantages are computed changes: every cache made before is then stale. */
export const ADVANTAGE_CODE_VERSION = 'advantages/1';

export interface AdvantageItem {
  promptIds: number[];
  reward: number;
}

export interface AdvantageStats {
  count: number;
  /** Items with A > 0: the ones priority sampling can draw. */
  positiveCount: number;
  /** positiveCount / count: scales the configured step budget (stepsFor). */
  positiveFraction: number;
  /** Mean of A over all items. */
  meanAdvantage: number;
  /** Mean of A+ = max(A, 0) over all items (zeros included). */
  meanPositivePart: number;
  /** Mean of A over the items with A > 0; 0 when there are none. */
  meanOfPositives: number;
  meanReward: number;
  meanValue: number;
}

export interface Advantages {
  /** A_i = R_i - V(x_i), float32, in item order. */
  advantages: Float32Array;
  /** V(x_i), float32, in item order. */
  values: Float32Array;
  stats: AdvantageStats;
}

/**
 * V(x) of every item's prompt (each distinct prompt once, batchSize prompts per reference forward)
 * and A = R - V. Nothing is differentiated and no tensor outlives the call.
 */
export function computeAdvantages(options: {
  reference: CausalLm;
  head: PooledHead;
  items: readonly AdvantageItem[];
  batchSize?: number;
}): Advantages {
  const { reference, head, items } = options;
  const { unique: prompts, indexOf: promptOf } = distinctPrompts(items);
  return fromPromptValues(items, promptOf, predictValues(reference, head, prompts, options.batchSize ?? 16));
}

/**
 * computeAdvantages for data at full size, as the run's job does it: the prompts' values are
 * computed a chunk of whole batches at a time, with progress after each chunk, and the values so
 * far are kept beside the cache (atomically), so a job killed mid-pass resumes at its last chunk.
 * Because chunks hold whole batches in the same order, the result equals computeAdvantages' bit
 * for bit. The finished result is saved under the key, and the partial file removed.
 */
export async function computeAdvantagesResumably(options: {
  reference: CausalLm;
  head: PooledHead;
  items: readonly AdvantageItem[];
  dir: string;
  key: string;
  batchSize?: number;
  /** Batches per chunk (default 64). */
  chunkBatches?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}): Promise<Advantages> {
  const { reference, head, items, dir, key } = options;
  const batchSize = options.batchSize ?? 16;
  const chunk = batchSize * (options.chunkBatches ?? 64);
  const { unique: prompts, indexOf: promptOf } = distinctPrompts(items);
  const partialPath = advantageCachePath(dir, key).replace(/\.safetensors$/, '.partial.safetensors');
  const values = new Float32Array(prompts.length);
  let done = 0;
  if (existsSync(partialPath)) {
    const { tensors, metadata } = readSafetensors(partialPath);
    const saved = tensors.get('values')?.data;
    // A partial file of another key or prompt count is stale, not a resume point.
    if (
      metadata.format === PARTIAL_FORMAT &&
      metadata.key === key &&
      Number(metadata.prompts) === prompts.length &&
      saved &&
      saved.length % batchSize === 0
    ) {
      values.set(saved);
      done = saved.length;
    }
  }
  options.onProgress?.(done, prompts.length);
  while (done < prompts.length) {
    const end = Math.min(done + chunk, prompts.length);
    values.set(predictValues(reference, head, prompts.slice(done, end), batchSize), done);
    done = end;
    if (done < prompts.length) {
      writeSafetensors(partialPath, new Map([['values', { shape: [done], data: values.slice(0, done) }]]), {
        format: PARTIAL_FORMAT,
        key,
        prompts: String(prompts.length),
      });
    }
    options.onProgress?.(done, prompts.length);
    // The pass is synchronous TensorFlow.js work: let progress messages out and a cancel in.
    await new Promise<void>((resolve) => setImmediate(resolve));
    options.signal?.throwIfAborted();
  }
  const result = fromPromptValues(items, promptOf, values);
  saveAdvantages(dir, key, result);
  rmSync(partialPath, { force: true });
  return result;
}

const PARTIAL_FORMAT = 'alol-advantages-partial';

function distinctPrompts(items: readonly AdvantageItem[]): { unique: number[][]; indexOf: number[] } {
  if (items.length === 0) throw new Error('computeAdvantages: no items');
  items.forEach((item, i) => {
    if (typeof item.reward !== 'number' || !Number.isFinite(item.reward))
      throw new Error(`computeAdvantages: item ${i} has reward ${String(item.reward)}, not a finite number`);
  });
  return distinctSequences(items.map((item) => item.promptIds));
}

function fromPromptValues(
  items: readonly AdvantageItem[],
  promptOf: readonly number[],
  unique: Float32Array,
): Advantages {
  const values = Float32Array.from(promptOf, (i) => unique[i]!);
  const advantages = Float32Array.from(items, (item, i) => item.reward - values[i]!);
  return {
    advantages,
    values,
    stats: advantageStats(
      advantages,
      values,
      items.map((item) => item.reward),
    ),
  };
}

export function advantageStats(
  advantages: ArrayLike<number>,
  values: ArrayLike<number>,
  rewards: ArrayLike<number>,
): AdvantageStats {
  const n = advantages.length;
  let positiveCount = 0;
  let sum = 0;
  let positiveSum = 0;
  let rewardSum = 0;
  let valueSum = 0;
  for (let i = 0; i < n; i++) {
    const a = advantages[i]!;
    sum += a;
    if (a > 0) {
      positiveCount++;
      positiveSum += a;
    }
    rewardSum += rewards[i]!;
    valueSum += values[i]!;
  }
  return {
    count: n,
    positiveCount,
    positiveFraction: n === 0 ? 0 : positiveCount / n,
    meanAdvantage: sum / n,
    meanPositivePart: positiveSum / n,
    meanOfPositives: positiveCount === 0 ? 0 : positiveSum / positiveCount,
    meanReward: rewardSum / n,
    meanValue: valueSum / n,
  };
}

// ---------------------------------------------------------------------------------------------
// The cache.

export interface AdvantageCacheInputs {
  /** Names the exact rows and rewards (e.g. dataset id and its version or content hash). */
  datasetVersion: string;
  /** weightsSha256 of the reference policy. */
  referenceSha: string;
  /** weightsSha256 of the value head. */
  valueHeadSha: string;
  /** The reward function's name ("demo", "module:scorer.mjs"), or "data-rewards". */
  rewardFunctionId: string;
  /** Default ADVANTAGE_CODE_VERSION. */
  codeVersion?: string;
  /** The prompt format, where it is not raw: the chat template changes the prompts V reads. */
  format?: 'chat';
}

/**
 * sha256 (hex) over every input, in a fixed order and unambiguously encoded (a JSON array of
 * strings), so no two different sets of inputs share a key.
 */
export function advantageCacheKey(inputs: AdvantageCacheInputs): string {
  const fields: [string, string | undefined][] = [
    ['datasetVersion', inputs.datasetVersion],
    ['referenceSha', inputs.referenceSha],
    ['valueHeadSha', inputs.valueHeadSha],
    ['rewardFunctionId', inputs.rewardFunctionId],
    ['codeVersion', inputs.codeVersion ?? ADVANTAGE_CODE_VERSION],
    // Only where given, so a raw run's key is the one it had before formats existed.
    ...(inputs.format !== undefined ? [['format', inputs.format] as [string, string]] : []),
  ];
  // An empty or missing part would let a key survive a change of the thing it stands for.
  for (const [name, value] of fields)
    if (typeof value !== 'string' || value.length === 0)
      throw new Error(`advantageCacheKey: ${name} must be a non-empty string`);
  return createHash('sha256')
    .update(JSON.stringify(['alol-advantages', ...fields.map(([, v]) => v)]))
    .digest('hex');
}

/**
 * sha256 (hex) of named float32 weights: names in sorted order, each with its shape and its bytes.
 * Takes a model's params (read one variable at a time, no full copy) or NamedTensors alike, and
 * gives both the same hash for the same weights.
 */
export function weightsSha256(
  weights: ReadonlyMap<string, tf.Tensor | { shape: number[]; data: Float32Array }>,
): string {
  const hash = createHash('sha256');
  for (const name of [...weights.keys()].sort()) {
    const w = weights.get(name)!; // from keys()
    const [shape, data] = w instanceof tf.Tensor ? [w.shape, float32(w.dataSync())] : [w.shape, w.data];
    // The shape fixes the byte count, so name + shape + bytes cannot run into the next entry.
    hash.update(JSON.stringify([name, shape]));
    hash.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return hash.digest('hex');
}

function float32(data: tf.TypedArray): Float32Array {
  return data instanceof Float32Array ? data : Float32Array.from(data);
}

const CACHE_FORMAT = 'alol-advantages';
const CACHE_FORMAT_VERSION = '1';

/** Where the advantages of a key live under dir. */
export function advantageCachePath(dir: string, key: string): string {
  if (!/^[0-9a-f]{64}$/.test(key)) throw new Error(`advantage cache key must be 64 hex digits, got "${key}"`);
  return join(dir, `advantages-${key}.safetensors`);
}

/** Writes advantages and values (F32) with the stats and key in the metadata, atomically. */
export function saveAdvantages(dir: string, key: string, result: Advantages): string {
  const path = advantageCachePath(dir, key);
  const n = result.advantages.length;
  if (result.values.length !== n) throw new Error(`saveAdvantages: ${n} advantages but ${result.values.length} values`);
  writeSafetensors(
    path,
    new Map([
      ['advantages', { shape: [n], data: result.advantages }],
      ['values', { shape: [n], data: result.values }],
    ]),
    { format: CACHE_FORMAT, version: CACHE_FORMAT_VERSION, key, stats: JSON.stringify(result.stats) },
  );
  return path;
}

/**
 * The advantages stored under this key, or null when there are none. A file whose recorded key,
 * format or contents disagree with its name is an error, never a silent hit.
 */
export function loadAdvantages(dir: string, key: string, expectedCount?: number): Advantages | null {
  const path = advantageCachePath(dir, key);
  if (!existsSync(path)) return null;
  const { tensors, metadata } = readSafetensors(path);
  if (metadata.format !== CACHE_FORMAT || metadata.version !== CACHE_FORMAT_VERSION) {
    throw new Error(
      `${path}: not an advantage cache of version ${CACHE_FORMAT_VERSION} (format "${metadata.format ?? ''}", version "${metadata.version ?? ''}")`,
    );
  }
  if (metadata.key !== key)
    throw new Error(`${path}: records key ${metadata.key ?? '(none)'}, not the key in its name`);
  const advantages = tensors.get('advantages')?.data;
  const values = tensors.get('values')?.data;
  if (!advantages || !values || advantages.length !== values.length)
    throw new Error(`${path}: advantages and values missing or of different lengths`);
  if (expectedCount !== undefined && advantages.length !== expectedCount)
    throw new Error(`${path}: holds ${advantages.length} advantages, expected ${expectedCount}`);
  let stats: AdvantageStats;
  try {
    stats = JSON.parse(metadata.stats ?? '') as AdvantageStats; // written by saveAdvantages from the same type
  } catch {
    throw new Error(`${path}: unreadable stats in the metadata`);
  }
  return { advantages, values, stats };
}
