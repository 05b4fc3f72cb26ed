/**
 * The texts a new tokenizer learns from: all of a dataset's texts while they fit the character
 * budget, else a seeded uniform sample of them that does. Reading the first N characters instead
 * would learn the vocabulary of whatever rows were imported first (one topic, one split), and
 * holding every text of HH-RLHF's 320k responses would cost gigabytes for no better merges.
 *
 *   tokenizerSample(datasets.texts('hh'), { maxChars: 8 << 20, seed: 0 })
 *   // { texts: [...], totalTexts: 641_588, totalChars: 571_203_117, sampled: true }
 */
import { Rng } from '../../core/rng';

export interface TokenizerSample {
  texts: string[];
  /** Texts and characters in the whole dataset. */
  totalTexts: number;
  totalChars: number;
  /** False when every text was kept, in the dataset's order. */
  sampled: boolean;
}

export interface SampleOptions {
  maxChars: number;
  seed: number;
  /** The reservoir's size: the most texts held at once while reading (default 100,000). */
  maxTexts?: number;
}

export function tokenizerSample(texts: Iterable<string>, o: SampleOptions): TokenizerSample {
  const maxTexts = o.maxTexts ?? 100_000;
  const rng = new Rng(o.seed);
  // Algorithm R: after n texts, each of them is in the reservoir with probability maxTexts / n.
  const reservoir: string[] = [];
  let totalTexts = 0;
  let totalChars = 0;
  for (const text of texts) {
    totalChars += text.length;
    if (reservoir.length < maxTexts) reservoir.push(text);
    else {
      const j = rng.int(totalTexts + 1);
      if (j < maxTexts) reservoir[j] = text;
    }
    totalTexts++;
  }
  if (totalTexts <= maxTexts && totalChars <= o.maxChars)
    return { texts: reservoir, totalTexts, totalChars, sampled: false };
  const picked: string[] = [];
  let chars = 0;
  for (const text of rng.shuffle(reservoir)) {
    if (chars + text.length > o.maxChars && picked.length > 0) break;
    picked.push(text);
    chars += text.length;
  }
  return { texts: picked, totalTexts, totalChars, sampled: true };
}

/** The sample in words, for the model's provenance: "a seeded sample of 9,120 of 641,588 texts (8.0 of 571.2 MB)". */
export function describeSample(s: TokenizerSample, seed: number): string {
  const mb = (chars: number) => (chars / 1e6).toFixed(1);
  const count = (n: number) => n.toLocaleString('en-US');
  const chars = s.texts.reduce((sum, t) => sum + t.length, 0);
  return s.sampled
    ? `a sample (seed ${seed}) of ${count(s.texts.length)} of ${count(s.totalTexts)} texts (${mb(chars)} of ${mb(s.totalChars)} M characters)`
    : `all ${count(s.totalTexts)} texts`;
}
