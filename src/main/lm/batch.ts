/**
 * Padded batches of token sequences, as plain arrays (no tensors to dispose; batchTensors makes
 * them tensors inside the caller's tf.tidy).
 *
 * Scoring and training pad on the right: real tokens sit at positions 0..n-1 as they would alone,
 * and causal attention never lets them see the padding after them.
 *
 *   padRight([{ prompt: [5, 6], response: [7, 0] }, { prompt: [5], response: [9] }], { padId: 0 })
 *   // ids            [5, 6, 7, 0,   5, 9, 0, 0]   (B = 2, T = 4)
 *   // attentionMask  [1, 1, 1, 1,   1, 1, 0, 0]
 *   // responseMask   [0, 0, 1, 1,   0, 1, 0, 0]
 *
 * Generation pads on the left, so that every row's last prompt token is in the last column and new
 * tokens are appended in step; positions then count from each row's first real token.
 *
 *   padLeft([[5, 6, 7], [8]], 0)
 *   // ids        [5, 6, 7,   0, 0, 8]
 *   // mask       [1, 1, 1,   0, 0, 1]
 *   // positions  [0, 1, 2,   0, 0, 0]
 */
import * as tf from '@tensorflow/tfjs';
import { maxOf } from '../../shared/extent';
import type { Tokenizer } from './tokenizer/index';
import { encodeExample as encodeChatExample, type PromptFormat } from './chatTemplate';

/** One scored or trained sequence; the response includes the EOS the caller appended. */
export interface Example {
  prompt: number[];
  response: number[];
}

export interface PaddedBatch {
  /** B */
  batchSize: number;
  /** T: the longest prompt + response. */
  length: number;
  /** (B, T) row-major token ids, padded with padId. */
  ids: Int32Array;
  /** (B, T) 1 = real token, 0 = padding. */
  attentionMask: Float32Array;
  /** (B, T) 1 = response token, 0 = prompt or padding. */
  responseMask: Float32Array;
  promptLengths: number[];
  responseLengths: number[];
}

function checkTokens(tokens: number[], what: string): void {
  for (const t of tokens) if (!Number.isInteger(t) || t < 0) throw new Error(`${what}: ${t} is not a token id`);
}

export function padRight(examples: Example[], options: { padId: number; maxLength?: number }): PaddedBatch {
  if (examples.length === 0) throw new Error('padRight: no examples');
  examples.forEach((e, i) => {
    // The first response token is predicted from the prompt, so there has to be one (BOS at least).
    if (e.prompt.length === 0) throw new Error(`example ${i}: empty prompt (prepend BOS)`);
    checkTokens(e.prompt, `example ${i} prompt`);
    checkTokens(e.response, `example ${i} response`);
  });
  const B = examples.length;
  const T = maxOf(examples.map((e) => e.prompt.length + e.response.length));
  if (options.maxLength !== undefined && T > options.maxLength) {
    throw new Error(`padRight: a sequence of ${T} tokens exceeds the maximum of ${options.maxLength}`);
  }
  const ids = new Int32Array(B * T).fill(options.padId);
  const attentionMask = new Float32Array(B * T);
  const responseMask = new Float32Array(B * T);
  examples.forEach((e, b) => {
    const row = b * T;
    ids.set(e.prompt, row);
    ids.set(e.response, row + e.prompt.length);
    attentionMask.fill(1, row, row + e.prompt.length + e.response.length);
    responseMask.fill(1, row + e.prompt.length, row + e.prompt.length + e.response.length);
  });
  return {
    batchSize: B,
    length: T,
    ids,
    attentionMask,
    responseMask,
    promptLengths: examples.map((e) => e.prompt.length),
    responseLengths: examples.map((e) => e.response.length),
  };
}

export interface LeftPadded {
  batchSize: number;
  length: number;
  /** (B, T) row-major, padded on the left with padId. */
  ids: Int32Array;
  /** (B, T) 1 = real token. */
  attentionMask: Float32Array;
  /** (B, T) position ids: 0 at each row's first real token, 0 on padding. */
  positions: Int32Array;
  lengths: number[];
}

export function padLeft(prompts: number[][], padId: number): LeftPadded {
  if (prompts.length === 0) throw new Error('padLeft: no prompts');
  prompts.forEach((p, i) => {
    if (p.length === 0) throw new Error(`prompt ${i} is empty (prepend BOS)`);
    checkTokens(p, `prompt ${i}`);
  });
  const B = prompts.length;
  const T = maxOf(prompts.map((p) => p.length));
  const ids = new Int32Array(B * T).fill(padId);
  const attentionMask = new Float32Array(B * T);
  const positions = new Int32Array(B * T);
  prompts.forEach((p, b) => {
    const start = b * T + T - p.length;
    ids.set(p, start);
    attentionMask.fill(1, start, (b + 1) * T);
    for (let i = 0; i < p.length; i++) positions[start + i] = i;
  });
  return { batchSize: B, length: T, ids, attentionMask, positions, lengths: prompts.map((p) => p.length) };
}

/** The batch as tensors, for use inside the caller's tf.tidy. */
export function batchTensors(batch: PaddedBatch): {
  ids: tf.Tensor2D;
  attentionMask: tf.Tensor2D;
  responseMask: tf.Tensor2D;
} {
  const shape: [number, number] = [batch.batchSize, batch.length];
  return {
    ids: tf.tensor2d(batch.ids, shape, 'int32'),
    attentionMask: tf.tensor2d(batch.attentionMask, shape, 'float32'),
    responseMask: tf.tensor2d(batch.responseMask, shape, 'float32'),
  };
}

/** Prompt and response ids that fit the context: the response keeps its start, the prompt its end. */
function fitToContext(prompt: number[], response: number[], context: number): Example {
  const responseRoom = Math.min(
    response.length,
    Math.max(1, context - Math.min(prompt.length, Math.floor(context / 2))),
  );
  const kept = response.slice(0, responseRoom);
  const promptRoom = context - kept.length;
  return { prompt: promptRoom > 0 ? prompt.slice(-promptRoom) : [], response: kept };
}

/** prompt + response + EOS as token ids fitted to the context (fitToContext). */
export function encodeExample(
  tokenizer: Tokenizer,
  eos: number,
  context: number,
  prompt: string,
  response: string,
): Example {
  return fitToContext(
    tokenizer.encode(prompt),
    [...tokenizer.encode(response, { allowedSpecial: 'none' }), eos],
    context,
  );
}

/**
 * prompt + response in a prompt format, fitted to the context. 'raw' is encodeExample as it is;
 * 'chat' renders the conversation through the tokenizer's chat template, and the example's
 * response is exactly the tokens the template's mask trains (the reply and its end-of-turn token):
 * the template's own tokens before it are prompt, the ones after it (a newline after <|im_end|>)
 * are dropped, as nothing scores them.
 */
export function encodeFormatted(
  tokenizer: Tokenizer,
  eos: number,
  context: number,
  prompt: string,
  response: string,
  format: PromptFormat,
): Example {
  if (format === 'raw') return encodeExample(tokenizer, eos, context, prompt, response);
  const { ids, mask } = encodeChatExample(tokenizer, prompt, response, { format });
  const first = mask.indexOf(1);
  const end = mask.lastIndexOf(1) + 1;
  return fitToContext(ids.slice(0, first), ids.slice(first, end), context);
}
