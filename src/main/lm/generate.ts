/**
 * Decoding a batch of prompts of different lengths: left padding, an attention mask over the
 * padding and positions counted from each row's first real token, so every row decodes as it would
 * alone. With the KV cache (default) each step feeds only the newest token of each row; without it
 * (useCache: false, for tests) each step runs the whole sequence again. Sampling happens in
 * JavaScript on one downloaded (B, V) row of last-position logits per step (sampling.ts).
 *
 * What comes back, per prompt:
 * - ids: the new tokens only. A row that ends at EOS does not include the EOS. A row that ends at a
 *   stop string keeps only the tokens whose text lies wholly before the stop string (a token that
 *   straddles it is dropped); `text` then holds the exact text before the stop string.
 * - finishReason: 'eos', 'stop', or 'length' (maxNewTokens reached, or the row's next position
 *   would fall outside the model's context).
 * - text (when a decode function is given): decode(ids), or the text before the stop string.
 *
 *   generate(model, [[464, 3290], [40]], { maxNewTokens: 20, stop: ['\n'], decode })
 *   // { ids: [[318, 257], [...]], finishReason: ['stop', 'length'], text: ['is a', '...'] }
 */
import * as tf from '@tensorflow/tfjs';
import { padLeft } from './batch';
import { eosIdsOf, KvCache, type CausalLm } from './causalLm';
import { Rng } from '../core/rng';
import { checkSamplingOptions, nextToken, type SamplingOptions } from './sampling';
import { minOf } from '../../shared/extent';

export type FinishReason = 'eos' | 'stop' | 'length';

export interface GenerateOptions extends SamplingOptions {
  maxNewTokens: number;
  /** The sampling stream (greedy: false needs this or seed). */
  rng?: Rng;
  seed?: number;
  /** Stop at this token (or any of these); default the model's end ids (eosIdsOf); null: never stop at a token. */
  eosTokenId?: number | readonly number[] | null;
  /** Stop when the new text contains any of these (needs decode). */
  stop?: string[];
  /** Fills the left padding and the rows already finished; default the EOS id. Masked either way. */
  padTokenId?: number;
  /** false: recompute the whole sequence each step (slow; for tests). Default true. */
  useCache?: boolean;
}

export interface GenerateResult {
  ids: number[][];
  finishReason: FinishReason[];
  text?: string[];
}

/** Logits of the last column, (B, V), downloaded. */
function lastLogits(
  model: CausalLm,
  ids: Int32Array,
  mask: Float32Array,
  positions: Int32Array,
  B: number,
  T: number,
  cache: KvCache | undefined,
): Float32Array {
  const logits = tf.tidy(() => {
    const h = model.hidden(tf.tensor2d(ids, [B, T], 'int32'), {
      attentionMask: tf.tensor2d(mask, [B, mask.length / B], 'float32'),
      positions: tf.tensor2d(positions, [B, T], 'int32'),
      ...(cache ? { cache } : {}),
    }); // (B, T, D)
    const last = tf.slice(h, [0, T - 1, 0], [B, 1, model.config.nEmbd]); // (B, 1, D)
    return model.head(last); // (B, 1, V)
  });
  // Read outside tf.tidy: returning a TypedArray from it walks every element.
  const values = logits.dataSync() as Float32Array;
  logits.dispose();
  return values;
}

/** The number of leading tokens whose text lies wholly within `before`. */
function tokensBefore(ids: number[], before: string, decode: (ids: number[]) => string): number {
  for (let k = ids.length - 1; k > 0; k--) if (before.startsWith(decode(ids.slice(0, k)))) return k;
  return 0;
}

export function generate(
  model: CausalLm,
  prompts: number[][],
  options: GenerateOptions & { decode?: (ids: number[]) => string },
): GenerateResult {
  checkSamplingOptions(options);
  const { maxNewTokens, decode } = options;
  if (!(Number.isInteger(maxNewTokens) && maxNewTokens >= 0))
    throw new Error(`maxNewTokens must be a whole number >= 0, got ${maxNewTokens}`);
  const stops = (options.stop ?? []).filter((s) => s.length > 0);
  if (stops.length > 0 && !decode) throw new Error('stop strings need a decode function');
  const rng = options.rng ?? (options.seed !== undefined ? new Rng(options.seed) : null);
  if (options.greedy === false && !rng) throw new Error('sampling (greedy: false) needs rng or seed');
  const c = model.config;
  const eos =
    options.eosTokenId === undefined
      ? new Set(eosIdsOf(c))
      : options.eosTokenId === null
        ? null
        : new Set(typeof options.eosTokenId === 'number' ? [options.eosTokenId] : options.eosTokenId);
  const pad = options.padTokenId ?? c.eosTokenId;
  for (const [i, p] of prompts.entries()) {
    if (p.length > c.nPositions)
      throw new Error(`prompt ${i} has ${p.length} tokens; the context holds ${c.nPositions}`);
    for (const t of p)
      if (!(t < c.vocabSize)) throw new Error(`prompt ${i}: token ${t} is outside the vocabulary of ${c.vocabSize}`);
  }

  const B = prompts.length;
  const left = padLeft(prompts, pad);
  const P = left.length;
  const out: number[][] = prompts.map(() => []);
  const reasons: (FinishReason | null)[] = prompts.map(() => null);
  const texts: (string | null)[] = prompts.map(() => null);
  const seen = prompts.map((p) => new Set(p));
  // The full left-padded sequences so far, one array per row, for the uncached path and the mask.
  const rows = prompts.map((_, b) => Array.from(left.ids.subarray(b * P, (b + 1) * P)));
  const maskRows = prompts.map((_, b) => Array.from(left.attentionMask.subarray(b * P, (b + 1) * P)));
  const useCache = options.useCache ?? true;
  const cache = useCache ? new KvCache() : undefined;

  const finish = (b: number, reason: FinishReason) => {
    reasons[b] = reason;
  };
  try {
    if (maxNewTokens === 0) prompts.forEach((_, b) => finish(b, 'length'));
    let logits =
      maxNewTokens > 0
        ? lastLogits(model, left.ids, left.attentionMask, left.positions, B, P, cache)
        : new Float32Array(0);
    for (let step = 0; step < maxNewTokens; step++) {
      for (let b = 0; b < B; b++) {
        if (reasons[b]) continue;
        const row = logits.subarray(b * c.vocabSize, (b + 1) * c.vocabSize);
        const token = nextToken(row, seen[b]!, options, rng);
        if (eos !== null && eos.has(token)) {
          finish(b, 'eos');
          continue;
        }
        out[b]!.push(token);
        seen[b]!.add(token);
        if (stops.length > 0 && decode) {
          const text = decode(out[b]!);
          const at = minOf(stops.map((s) => text.indexOf(s)).filter((i) => i >= 0));
          if (Number.isFinite(at)) {
            texts[b] = text.slice(0, at);
            out[b] = out[b]!.slice(0, tokensBefore(out[b]!, texts[b]!, decode));
            finish(b, 'stop');
            continue;
          }
        }
        // Feeding this token next needs position prompt + new - 1 inside the context.
        if (out[b]!.length === maxNewTokens || prompts[b]!.length + out[b]!.length > c.nPositions) finish(b, 'length');
      }
      if (reasons.every((r) => r !== null)) break;

      // Every row advances one column; finished rows get the pad token (their outputs are ignored).
      const nextIds = new Int32Array(B);
      const nextPositions = new Int32Array(B);
      for (let b = 0; b < B; b++) {
        const token = reasons[b] ? pad : out[b]!.at(-1)!;
        nextIds[b] = token;
        nextPositions[b] = Math.min(prompts[b]!.length + out[b]!.length - 1, c.nPositions - 1);
        rows[b]!.push(token);
        maskRows[b]!.push(1);
      }
      const mask = Float32Array.from(maskRows.flat());
      if (cache) {
        logits = lastLogits(model, nextIds, mask, nextPositions, B, 1, cache);
      } else {
        const T = rows[0]!.length;
        const positions = new Int32Array(B * T);
        for (let b = 0; b < B; b++) {
          let pos = 0;
          for (let t = 0; t < T; t++)
            positions[b * T + t] = maskRows[b]![t] === 1 ? Math.min(pos++, c.nPositions - 1) : 0;
        }
        logits = lastLogits(model, Int32Array.from(rows.flat()), mask, positions, B, T, undefined);
      }
    }
  } finally {
    cache?.dispose();
  }

  const result: GenerateResult = { ids: out, finishReason: reasons.map((r) => r ?? 'length') };
  if (decode) result.text = out.map((ids, b) => texts[b] ?? decode(ids));
  return result;
}
