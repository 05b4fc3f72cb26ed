/**
 * What the app imports. `Tokenizer` is the studio's tokenizer interface (textTokenizer.ts) and, as a
 * value, the ways to make one: `Tokenizer.load(dir)` picks our byte-level BPE (GPT-2, `model new`)
 * or Hugging Face's Tokenizers.js (Llama-family files) by what tokenizer.json declares (load.ts).
 */
import { HfTokenizer } from './hfTokenizer';
import { loadTokenizer } from './load';
import type { TextTokenizer } from './textTokenizer';
import { BpeTokenizer } from './tokenizer';

export type Tokenizer = TextTokenizer;
export const Tokenizer = {
  /** A model folder's tokenizer, whichever implementation its tokenizer.json needs. */
  load: loadTokenizer,
  /** A new byte-level BPE learned from texts (train.ts). */
  train: BpeTokenizer.train.bind(BpeTokenizer),
  /** Our BPE from a GPT-2-style tokenizer.json, refusing (with the file named) what it would not honour. */
  fromHuggingFaceJson: BpeTokenizer.fromHuggingFaceJson.bind(BpeTokenizer),
  /** Our BPE from GPT-2's vocab.json + merges.txt. */
  fromVocabAndMerges: BpeTokenizer.fromVocabAndMerges.bind(BpeTokenizer),
  /** Tokenizers.js from a Llama-family tokenizer.json and tokenizer_config.json. */
  fromHuggingFaceFiles: HfTokenizer.fromJson.bind(HfTokenizer),
};

export { BpeTokenizer, HfTokenizer, loadTokenizer };
export { declaresGpt2Pipeline } from './load';
export type { AllowedSpecial, EncodeOptions, SpecialTokenNames, TextTokenizer } from './textTokenizer';
export type { TrainOptions } from './train';
export type { AddedToken, BpeSpec } from './spec';
export { END_OF_TEXT } from './spec';
