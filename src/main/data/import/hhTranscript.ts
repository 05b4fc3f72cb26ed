/**
 * Splits an Anthropic HH-RLHF pair of transcripts into prompt and two replies.
 *
 * The two transcripts share every turn but the last reply, so the prompt is found from both at
 * once: their longest common prefix, cut just after its last "\n\nAssistant:". Looking at one
 * transcript alone goes wrong on real data, where a reply may itself contain "\n\nHuman:" turns,
 * a reply may be empty, or both replies may start with the same words.
 */

export const ASSISTANT_TAG = '\n\nAssistant:';
export const HUMAN_TAG = '\n\nHuman:';

export interface SplitTranscripts {
  prompt: string;
  chosen: string;
  rejected: string;
}

/** Null when the common prefix holds no assistant turn, so there is no prompt to find. */
export function splitTranscripts(chosen: string, rejected: string): SplitTranscripts | null {
  const common = commonPrefixLength(chosen, rejected);
  if (common < ASSISTANT_TAG.length) return null;
  const cut = chosen.lastIndexOf(ASSISTANT_TAG, common - ASSISTANT_TAG.length);
  if (cut === -1) return null;
  const end = cut + ASSISTANT_TAG.length;
  return { prompt: chosen.slice(0, end), chosen: chosen.slice(end), rejected: rejected.slice(end) };
}

export function commonPrefixLength(a: string, b: string): number {
  const limit = Math.min(a.length, b.length);
  let i = 0;
  while (i < limit && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}
