/**
 * Format detection for --format auto. A CSV file is known by its name; a JSON Lines file by the
 * keys of its first record, read through the user's field mapping, so a mapped file is detected
 * as what it will be parsed as.
 */
import type { ConcreteFormat } from '../../../shared/contract';
import { quoteList } from './issues';
import type { FieldNames } from './sourceRecord';

export function isCsvName(name: string): boolean {
  return /\.csv(\.gz)?$/i.test(name);
}

export type Detection = { format: ConcreteFormat } | { problem: string };

export function detectJsonFormat(values: Record<string, unknown>, names: FieldNames): Detection {
  const has = (name: string): boolean => Object.hasOwn(values, name);
  const { prompt, response, chosen, rejected, completion, label } = names;
  if (has(prompt) && has(chosen) && has(rejected)) return { format: 'trl-preference' };
  if (has(chosen) && has(rejected)) {
    const a = values[chosen];
    const b = values[rejected];
    if (typeof a === 'string' && typeof b === 'string') return { format: 'hh-rlhf' };
    if (Array.isArray(a) && Array.isArray(b)) return { format: 'trl-preference' };
    return {
      problem:
        `cannot tell the format: "${chosen}" and "${rejected}" must both be strings (HH-RLHF transcripts) ` +
        `or both be lists of messages (TRL preference without a prompt), got ${kind(a)} and ${kind(b)}`,
    };
  }
  if (has(prompt) && has(completion) && has(label)) return { format: 'trl-unpaired' };
  if (has(prompt) && has(completion)) return { format: 'prompt-completion' };
  if (has(prompt) && has(response)) return { format: 'jsonl' };
  const keys = Object.keys(values);
  const found = keys.length === 0 ? 'no fields' : `the fields ${quoteList(keys)}`;
  return {
    problem:
      `cannot tell the format: the first record has ${found}; expected ` +
      `${quoteList([prompt, response])} (jsonl), ` +
      `${quoteList([chosen, rejected])} (hh-rlhf), ` +
      `${quoteList([prompt, chosen, rejected])} (trl-preference), ` +
      `${quoteList([prompt, completion, label])} (trl-unpaired) ` +
      `or ${quoteList([prompt, completion])} (prompt-completion); ` +
      'choose the format, or map the field names to the ones in the file',
  };
}

function kind(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
