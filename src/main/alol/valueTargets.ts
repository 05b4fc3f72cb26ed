/**
 * What the value head learns to predict (ALOL.md step 2): for each held-out prompt x, an estimate
 * of the reward the frozen reference earns there.
 *
 * - decodeTargets: decode the reference on each prompt and score the decode with the task's reward
 *   function. One greedy decode per prompt by default, as the reference code does; or K sampled
 *   decodes whose scores are averaged, a better estimate of E_{y ~ pi_ref}[R(x, y)] (our option).
 * - dataRewardTargets: when the data carries a reward column but no reward function exists to
 *   score new text, the targets are the held-out rows' own rewards (so V(x) estimates the data's
 *   behaviour policy rather than pi_ref: the result says which it is in `source`).
 *
 *   const held = splitHeldOut(rows, { fraction: 0.1, seed: 0 }).heldOut;
 *   const t = await decodeTargets({ reference, prompts: held.map((r) => r.promptIds), decode, score, maxNewTokens: 64 });
 *   // { source: 'decodes', decoding: 'greedy', rows: [{ promptIds: [...], target: 0.8, decodes: [{ ids, text, score: 0.8 }] }, ...] }
 */
import { generate, type GenerateOptions } from '../lm/generate';
import type { CausalLm } from '../lm/causalLm';
import { Rng } from '../core/rng';

export interface Decode {
  /** New tokens (no EOS), as generate() returns them. */
  ids: number[];
  /** The text that was scored: generate()'s text (cut at a stop string when one matched). */
  text: string;
  score: number;
}

export interface TargetRow {
  promptIds: number[];
  target: number;
  /** The scored decodes behind the target (decode targets only). */
  decodes?: Decode[];
}

export interface ValueTargets {
  /** 'decodes': scored decodes of the reference; 'data-rewards': the data's own rewards. */
  source: 'decodes' | 'data-rewards';
  /** How the decodes were made (decode targets only). */
  decoding?: 'greedy' | { samples: number; seed: number; temperature: number; topK: number; topP: number };
  rows: TargetRow[];
}

export interface DecodeTargetsOptions {
  /** The frozen reference policy. */
  reference: CausalLm;
  /** Held-out prompts, as token ids (BOS first if the model needs one). */
  prompts: readonly number[][];
  /** Token ids to text, for the reward function and stop strings. */
  decode: (ids: number[]) => string;
  /** The task's reward function on (prompt text, response text); a RewardFunction's score() fits. */
  score: (prompt: string, response: string) => number | Promise<number>;
  maxNewTokens: number;
  /** Stop strings, as generate()'s. */
  stop?: string[];
  /** As generate()'s: default the model's EOS (any of several ids); null never stops at a token. */
  eosTokenId?: number | readonly number[] | null;
  repetitionPenalty?: number;
  /**
   * K sampled decodes per prompt, their scores averaged. Absent: one greedy decode (the reference).
   * temperature 1, topK 0 (off) and topP 1 (off) by default: plain sampling from pi_ref, whose mean
   * reward is what V(x) stands for.
   */
  sampled?: { samples: number; seed: number; temperature?: number; topK?: number; topP?: number };
  /** Prompts per generate() call (each repeated K times when sampled). Default 16. */
  batchSize?: number;
  /** After each batch of prompts is scored: how many are done. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Decodes the reference on every prompt and scores each decode; a row's target is its one score
 * (greedy) or the mean of its K scores (sampled). Scores are awaited one at a time, in prompt
 * order, so a stateful or rate-limited reward function sees a fixed sequence of calls.
 */
export async function decodeTargets(options: DecodeTargetsOptions): Promise<ValueTargets> {
  const { reference, prompts, decode, score, maxNewTokens } = options;
  const batchSize = options.batchSize ?? 16;
  if (!(Number.isInteger(batchSize) && batchSize > 0))
    throw new Error(`batchSize must be a whole number > 0, got ${batchSize}`);
  if (prompts.length === 0) throw new Error('decodeTargets: no prompts');
  const sampled = options.sampled;
  if (sampled && !(Number.isInteger(sampled.samples) && sampled.samples >= 1))
    throw new Error(`sampled.samples must be a whole number >= 1, got ${sampled.samples}`);
  const K = sampled?.samples ?? 1;
  // One stream for the whole run: the same seed and batchSize give the same decodes (another
  // batchSize changes the order in which rows draw from it, and so the decodes).
  const rng = sampled ? new Rng(sampled.seed) : undefined;
  const generation: GenerateOptions & { decode: (ids: number[]) => string } = {
    maxNewTokens,
    decode,
    ...(options.stop ? { stop: options.stop } : {}),
    ...(options.eosTokenId !== undefined ? { eosTokenId: options.eosTokenId } : {}),
    ...(options.repetitionPenalty !== undefined ? { repetitionPenalty: options.repetitionPenalty } : {}),
    ...(sampled && rng
      ? { greedy: false, rng, temperature: sampled.temperature ?? 1, topK: sampled.topK ?? 0, topP: sampled.topP ?? 1 }
      : { greedy: true }),
  };

  const rows: TargetRow[] = [];
  for (let start = 0; start < prompts.length; start += batchSize) {
    const chunk = prompts.slice(start, start + batchSize);
    // Prompt-major: the K decodes of a prompt sit next to each other.
    const repeated = chunk.flatMap((p) => Array.from({ length: K }, () => p));
    const out = generate(reference, repeated, generation);
    for (let j = 0; j < chunk.length; j++) {
      const promptIds = [...chunk[j]!];
      const promptText = decode(promptIds);
      const decodes: Decode[] = [];
      for (let k = 0; k < K; k++) {
        const r = j * K + k;
        const text = out.text![r]!; // generate() returns text whenever decode is given
        const value = await score(promptText, text);
        if (typeof value !== 'number' || !Number.isFinite(value)) {
          throw new Error(
            `decodeTargets: score() returned ${String(value)} for prompt ${start + j}; a score must be a finite number`,
          );
        }
        decodes.push({ ids: out.ids[r]!, text, score: value });
      }
      rows.push({ promptIds, target: decodes.reduce((s, d) => s + d.score, 0) / K, decodes });
    }
    options.onProgress?.(Math.min(start + batchSize, prompts.length), prompts.length);
  }
  return {
    source: 'decodes',
    decoding: sampled
      ? {
          samples: K,
          seed: sampled.seed,
          temperature: sampled.temperature ?? 1,
          topK: sampled.topK ?? 0,
          topP: sampled.topP ?? 1,
        }
      : 'greedy',
    rows,
  };
}

/**
 * Targets from the data's reward column: each held-out row's own reward. Rows that share a prompt
 * stay separate rows; MSE then fits V(x) to their mean, as averaging them first would (but each row
 * counts once, so a prompt with more responses weighs more).
 */
export function dataRewardTargets(rows: readonly { promptIds: number[]; reward: number }[]): ValueTargets {
  if (rows.length === 0) throw new Error('dataRewardTargets: no rows');
  return {
    source: 'data-rewards',
    rows: rows.map((r, i) => {
      if (typeof r.reward !== 'number' || !Number.isFinite(r.reward))
        throw new Error(`dataRewardTargets: row ${i} has reward ${String(r.reward)}, not a finite number`);
      if (r.promptIds.length === 0) throw new Error(`dataRewardTargets: row ${i} has an empty prompt`);
      return { promptIds: [...r.promptIds], target: r.reward };
    }),
  };
}

/**
 * Splits rows into held-out rows (for value targets) and the rest, by prompt: rows that share a
 * prompt go the same way. round(prompts * fraction) prompts are held out, at least one when
 * fraction > 0. Deterministic from the seed.
 *
 *   splitHeldOut(rows, { fraction: 0.1, seed: 0 }) // { heldOut: [...~10% of prompts' rows], rest: [...] }
 */
export function splitHeldOut<T extends { promptIds: readonly number[] }>(
  rows: readonly T[],
  options: { fraction: number; seed: number },
): { heldOut: T[]; rest: T[] } {
  const { fraction, seed } = options;
  if (!(fraction >= 0 && fraction <= 1)) throw new Error(`fraction must be in [0, 1], got ${fraction}`);
  const keys = new Rng(seed).shuffle([...new Set(rows.map((r) => r.promptIds.join(',')))]);
  const k = fraction === 0 ? 0 : Math.min(keys.length, Math.max(1, Math.round(keys.length * fraction)));
  const held = new Set(keys.slice(0, k));
  const heldOut: T[] = [];
  const rest: T[] = [];
  for (const r of rows) (held.has(r.promptIds.join(',')) ? heldOut : rest).push(r);
  return { heldOut, rest };
}
