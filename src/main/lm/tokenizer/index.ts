/** Byte-level BPE with GPT-2's ids: see tokenizer.ts for the whole, and README.md for the parts. */
export { Tokenizer, type AllowedSpecial } from './tokenizer';
export type { TrainOptions } from './train';
export type { AddedToken, BpeSpec } from './spec';
export { END_OF_TEXT } from './spec';
