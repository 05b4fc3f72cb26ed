/**
 * How a prompt reaches a model: 'chat' renders the studio's HH text through the model's chat
 * template (only the response and its end-of-turn token train); 'raw' gives the HH text as it is.
 * Left out, a model with a chat template gets 'chat' and one without gets 'raw'
 * (main/models/promptFormat.ts chooses). formatNote is the line the CLI and the UI show.
 *
 *   formatNote('chat', true)    // "chat (the model's template)"
 *   formatNote('raw', false)    // 'raw (the model has no chat template)'
 */
import { z } from 'zod';

export const promptFormats = ['chat', 'raw'] as const;
export const PromptFormat = z.enum(promptFormats);
export type PromptFormat = z.infer<typeof PromptFormat>;

/** What a format means for a model with or without a chat template. */
export function formatNote(format: PromptFormat, chatTemplate: boolean): string {
  if (format === 'chat') return "chat (the model's template)";
  return chatTemplate ? 'raw (the HH text as it is, not the chat template)' : 'raw (the model has no chat template)';
}
