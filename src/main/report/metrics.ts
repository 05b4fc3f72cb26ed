/**
 * The evaluation figures the paper reports (ALOL.md, "Evaluation the paper reports"), for a set of
 * decoded responses, and their mean and spread across seeds.
 *
 * - Rewards: the mean of each score over the responses (reward, helpfulness, safety).
 * - Length: whitespace-separated words per response, averaged.
 * - Diversity distinct-n: corpus-level, |unique n-grams| / |all n-grams| over every response of the
 *   system together; lower-cased, whitespace tokens, n-grams never cross from one response into
 *   the next. A corpus with no n-gram at all (every response shorter than n) has distinct-n 0.
 *
 *   distinctN(['the cat', 'the dog'], 1)  // 3 unique of 4 unigrams = 0.75
 *   summarizeResponses([{ response: ' 7 plus 5 is 12.', reward: 1, helpfulness: 1, safety: 1 }])
 *   aggregate([0.5, 0.7, 0.9])            // { mean: 0.7, sd: 0.2, n: 3 } (sample sd, n - 1)
 */

/** Lower-cased whitespace tokens, as distinct-n counts them. */
export function whitespaceTokens(text: string): string[] {
  const trimmed = text.trim().toLowerCase();
  return trimmed === '' ? [] : trimmed.split(/\s+/u);
}

/** Words in a response: its whitespace-separated tokens. */
export function lengthInWords(text: string): number {
  return whitespaceTokens(text).length;
}

/** Corpus-level distinct-n: unique n-grams over all n-grams of every text, within texts only. */
export function distinctN(texts: readonly string[], n: number): number {
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`n must be a whole number >= 1, got ${n}`);
  const seen = new Set<string>();
  let total = 0;
  for (const text of texts) {
    const tokens = whitespaceTokens(text);
    for (let i = 0; i + n <= tokens.length; i++) {
      // A separator no whitespace token can contain, so different n-grams never join into one key.
      seen.add(tokens.slice(i, i + n).join('\u0000'));
      total += 1;
    }
  }
  return total === 0 ? 0 : seen.size / total;
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('mean of no values');
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** Sample standard deviation (divides by n - 1); null for fewer than two values, where it is undefined. */
export function sampleSd(values: readonly number[]): number | null {
  if (values.length < 2) return null;
  const m = mean(values);
  let squares = 0;
  for (const v of values) squares += (v - m) ** 2;
  return Math.sqrt(squares / (values.length - 1));
}

/** One scored response. */
export interface ScoredResponse {
  response: string;
  reward: number;
  helpfulness: number;
  safety: number;
}

export const METRIC_NAMES = [
  'reward',
  'helpfulness',
  'safety',
  'words',
  'distinct1',
  'distinct2',
  'distinct3',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

/** One system's figures on one evaluation set. */
export type ResponseMetrics = Record<MetricName, number> & { count: number };

export function summarizeResponses(scored: readonly ScoredResponse[]): ResponseMetrics {
  if (scored.length === 0) throw new RangeError('no responses to summarize');
  const texts = scored.map((s) => s.response);
  return {
    count: scored.length,
    reward: mean(scored.map((s) => s.reward)),
    helpfulness: mean(scored.map((s) => s.helpfulness)),
    safety: mean(scored.map((s) => s.safety)),
    words: mean(texts.map(lengthInWords)),
    distinct1: distinctN(texts, 1),
    distinct2: distinctN(texts, 2),
    distinct3: distinctN(texts, 3),
  };
}

export interface Spread {
  mean: number;
  /** Sample sd across seeds; null with one seed. */
  sd: number | null;
  n: number;
}

export function aggregate(values: readonly number[]): Spread {
  return { mean: mean(values), sd: sampleSd(values), n: values.length };
}

/** Every metric's mean and sd over seeds, from one ResponseMetrics per seed. */
export function aggregateMetrics(perSeed: readonly ResponseMetrics[]): Record<MetricName, Spread> {
  if (perSeed.length === 0) throw new RangeError('no seeds to aggregate');
  const out = {} as Record<MetricName, Spread>;
  for (const name of METRIC_NAMES) out[name] = aggregate(perSeed.map((m) => m[name]));
  return out;
}

/** "0.712 ± 0.034" (or "0.712" alone when sd is undefined), to `digits` decimals. */
export function formatSpread(s: Spread, digits = 3): string {
  return s.sd === null ? s.mean.toFixed(digits) : `${s.mean.toFixed(digits)} ± ${s.sd.toFixed(digits)}`;
}
