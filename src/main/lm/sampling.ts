/**
 * Choosing the next token from one row of logits, in plain JavaScript (float64), with Hugging Face's
 * semantics and order: repetition penalty -> temperature -> top-k -> top-p -> sample (or argmax).
 * Filtered-out tokens get -Infinity, as HF's filter_value.
 *
 *   processLogits([2, 1, 0, -1], [0, 3], { repetitionPenalty: 2, greedy: false, topK: 2 })
 *   // penalty: [1, 1, 0, -2] (2 / 2, -1 * 2); top-2 keeps ties at the 2nd value: [1, 1, -Inf, -Inf]
 */
import type { Rng } from '../core/rng';

export interface SamplingOptions {
  /** true (default): argmax, HF's do_sample=False, with temperature, top-k and top-p unused;
   *  false: sample (do_sample=True). */
  greedy?: boolean;
  /** Divides the logits; 1 = unchanged. Must be > 0. */
  temperature?: number;
  /** Keep the k highest logits (and any tied with the k-th, as HF); 0 = off (HF's default is 50). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p; 1 = off. */
  topP?: number;
  /** HF's repetition penalty (CTRL): every token already in the sequence, prompt included, gets
   *  logit < 0 ? logit * penalty : logit / penalty. 1 = off. Applied in greedy decoding too. */
  repetitionPenalty?: number;
}

export function checkSamplingOptions(o: SamplingOptions): void {
  if (o.temperature !== undefined && !(o.temperature > 0))
    throw new Error(`temperature must be > 0, got ${o.temperature}`);
  if (o.topK !== undefined && !(Number.isInteger(o.topK) && o.topK >= 0))
    throw new Error(`topK must be a whole number >= 0, got ${o.topK}`);
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) throw new Error(`topP must be in (0, 1], got ${o.topP}`);
  if (o.repetitionPenalty !== undefined && !(o.repetitionPenalty > 0))
    throw new Error(`repetitionPenalty must be > 0, got ${o.repetitionPenalty}`);
}

/** In place. Each distinct id in `seen` is penalised once, however often it occurs (HF gathers then scatters). */
export function applyRepetitionPenalty(logits: Float64Array, seen: Iterable<number>, penalty: number): void {
  if (penalty === 1) return;
  for (const id of new Set(seen)) {
    const l = logits[id];
    if (l === undefined) continue;
    logits[id] = l < 0 ? l * penalty : l / penalty;
  }
}

export function applyTemperature(logits: Float64Array, temperature: number): void {
  if (temperature === 1) return;
  for (let i = 0; i < logits.length; i++) logits[i]! /= temperature;
}

/** In place: everything below the k-th largest logit becomes -Infinity (ties with it stay, as HF). */
export function applyTopK(logits: Float64Array, k: number): void {
  if (k <= 0 || k >= logits.length) return;
  const kth = Float64Array.from(logits).sort().reverse()[k - 1]!;
  for (let i = 0; i < logits.length; i++) if (logits[i]! < kth) logits[i] = -Infinity;
}

/**
 * In place: keep the smallest set of most likely tokens whose probabilities sum to at least p (at
 * least one token), as HF's TopPLogitsWarper; the rest become -Infinity.
 */
export function applyTopP(logits: Float64Array, p: number): void {
  if (p >= 1) return;
  const probs = softmax(logits);
  // A native numeric sort finds the cutoff probability (a comparator sort of 50k indices per step
  // per row would dominate sampling time).
  const sorted = Float64Array.from(probs).sort(); // ascending
  let mass = 0;
  let kept = 0;
  while (kept < sorted.length && (kept === 0 || mass < p)) mass += sorted[sorted.length - 1 - kept++]!;
  const cutoff = sorted[sorted.length - kept]!;
  // Everything above the cutoff stays; of the tokens equal to it, the lowest ids fill the remaining places.
  let equalPlaces = kept;
  for (const q of probs) if (q > cutoff) equalPlaces--;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i]! > cutoff) continue;
    if (probs[i] === cutoff && equalPlaces > 0) equalPlaces--;
    else logits[i] = -Infinity;
  }
}

/** Softmax in float64; -Infinity logits get probability 0. */
export function softmax(logits: Float64Array): Float64Array {
  let max = -Infinity;
  for (const l of logits) if (l > max) max = l;
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i]! - max);
  for (let i = 0; i < out.length; i++) out[i]! /= sum;
  return out;
}

/** The first index of the largest value, as torch.argmax. */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

/** One draw from a probability vector (summing to 1) by inverse CDF. */
export function sampleIndex(probs: Float64Array, rng: Rng): number {
  const u = rng.uniform();
  let acc = 0;
  let last = 0;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i]! <= 0) continue;
    acc += probs[i]!;
    last = i;
    if (u < acc) return i;
  }
  return last; // u fell in the rounding gap above the final sum
}

/** The pipeline up to the final choice: a float64 copy of the logits, penalised and filtered. */
export function processLogits(
  logits: ArrayLike<number>,
  seen: Iterable<number>,
  options: SamplingOptions,
): Float64Array {
  const out = Float64Array.from(logits);
  applyRepetitionPenalty(out, seen, options.repetitionPenalty ?? 1);
  if (options.greedy === false) {
    applyTemperature(out, options.temperature ?? 1);
    applyTopK(out, options.topK ?? 0);
    applyTopP(out, options.topP ?? 1);
  }
  return out;
}

/** The next token: argmax of the processed logits when greedy, otherwise a draw from their softmax. */
export function nextToken(
  logits: ArrayLike<number>,
  seen: Iterable<number>,
  options: SamplingOptions,
  rng: Rng | null,
): number {
  const processed = processLogits(logits, seen, options);
  if (options.greedy !== false) return argmax(processed);
  if (!rng) throw new Error('sampling needs an rng');
  return sampleIndex(softmax(processed), rng);
}
