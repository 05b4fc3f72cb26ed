/**
 * One record of an input file, as named values, whichever container it came from (a JSON line or
 * a CSV row), and the typed readers for its fields. CSV cells are all text, so numbers and
 * booleans are parsed from it strictly, while JSON values must already have the right type.
 */
import type { FieldMapping } from '../../../shared/contract';
import { describeValue, type FieldProblem } from './issues';

export interface SourceRecord {
  line: number;
  values: Record<string, unknown>;
  fromCsv: boolean;
}

/** The field each logical column is read from, after the user's mapping. */
export type FieldNames = { [K in keyof FieldMapping]-?: string };

export type LogicalField = keyof FieldNames;

export function resolveFieldNames(mapping: FieldMapping): FieldNames {
  return {
    prompt: mapping.prompt ?? 'prompt',
    response: mapping.response ?? 'response',
    reward: mapping.reward ?? 'reward',
    chosen: mapping.chosen ?? 'chosen',
    rejected: mapping.rejected ?? 'rejected',
    completion: mapping.completion ?? 'completion',
    label: mapping.label ?? 'label',
  };
}

export function hasField(record: SourceRecord, name: string): boolean {
  return Object.hasOwn(record.values, name);
}

export const MISSING = 'required field is missing';

export function readString(record: SourceRecord, name: string, problems: FieldProblem[]): string | null {
  if (!hasField(record, name)) {
    problems.push({ field: name, message: MISSING });
    return null;
  }
  const value = record.values[name];
  if (typeof value === 'string') return value;
  problems.push({ field: name, message: `expected a string, got ${describeValue(value)}` });
  return null;
}

// Plain decimal notation only: Number() would also take "0x1f", "Infinity" and "" (as 0).
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** An optional numeric reward: absent, JSON null or an empty cell is null. */
export function readReward(record: SourceRecord, name: string, problems: FieldProblem[]): number | null {
  if (!hasField(record, name)) return null;
  const value = record.values[name];
  if (value === null) return null;
  if (record.fromCsv && typeof value === 'string') {
    const text = value.trim();
    if (text === '') return null;
    if (!DECIMAL.test(text)) {
      problems.push({ field: name, message: `expected a number, got ${describeValue(value)}` });
      return null;
    }
    const number = Number(text);
    if (!Number.isFinite(number)) {
      problems.push({ field: name, message: `expected a finite number, got ${describeValue(value)}` });
      return null;
    }
    return number;
  }
  if (typeof value !== 'number') {
    problems.push({ field: name, message: `expected a number, got ${describeValue(value)}` });
    return null;
  }
  // JSON.parse turns an out-of-range literal such as 1e999 into Infinity.
  if (!Number.isFinite(value)) {
    problems.push({ field: name, message: `expected a finite number, got ${String(value)}` });
    return null;
  }
  return value;
}

/** A required boolean: JSON true/false; in CSV also 1/0, any letter case. */
export function readLabel(record: SourceRecord, name: string, problems: FieldProblem[]): boolean | null {
  if (!hasField(record, name)) {
    problems.push({ field: name, message: MISSING });
    return null;
  }
  const value = record.values[name];
  if (typeof value === 'boolean') return value;
  if (record.fromCsv && typeof value === 'string') {
    const text = value.trim().toLowerCase();
    if (text === 'true' || text === '1') return true;
    if (text === 'false' || text === '0') return false;
    problems.push({ field: name, message: `expected true, false, 1 or 0, got ${describeValue(value)}` });
    return null;
  }
  problems.push({ field: name, message: `expected true or false, got ${describeValue(value)}` });
  return null;
}

/** The fields a format does not read, kept with the record; null when there are none. */
export function metadataOf(record: SourceRecord, used: readonly string[]): Record<string, unknown> | null {
  const rest = Object.entries(record.values).filter(([key]) => !used.includes(key));
  // fromEntries defines own properties, so a "__proto__" key stays data rather than a prototype.
  return rest.length === 0 ? null : Object.fromEntries(rest);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
