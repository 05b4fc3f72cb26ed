/** The --format flag of train, generate, sample and campaign create, and the line that says which format a model got. */
import { formatNote, promptFormats, type PromptFormat } from '../../shared/promptFormat';
import type { Backend } from '../app/backend';
import { call, text, UsageError, type Values } from './kit';

export const formatOption = { format: { type: 'string' } } as const;

export function formatFlag(values: Values, command: string): PromptFormat | undefined {
  const value = text(values, 'format');
  if (value === undefined) return undefined;
  if (!(promptFormats as readonly string[]).includes(value))
    throw new UsageError(`${command}: --format must be ${promptFormats.join(' or ')}, not "${value}"`);
  return value as PromptFormat;
}

/** "format: chat (the model's template)" for the model a job ran on. */
export async function formatLine(backend: Backend, model: string, format: PromptFormat): Promise<string> {
  const { chatTemplate } = await call(backend, 'models.get', { model });
  return `format: ${formatNote(format, chatTemplate)}`;
}
