/** What every `alol` command is made of: flags, the contract call, a job waited for, output. */
import type { ParseArgsConfig } from 'node:util';
import type { Backend } from '../app/backend';
import { jobResult, type Job, type JobKind, type JobResult } from '../../shared/contract';
import { ProgressBar } from './format';

export class UsageError extends Error {}

export type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

export const common: Options = {
  project: { type: 'string' },
  backend: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
};

export interface Command {
  options: Options;
  /** Help of its own, beyond the usage summary. */
  help?: () => string;
  run(backend: Backend, values: Values, positionals: string[]): Promise<void>;
}

export function text(values: Values, flag: string): string | undefined {
  const value = values[flag];
  return typeof value === 'string' ? value : undefined;
}

export function required(values: Values, flag: string, command: string): string {
  const value = text(values, flag);
  if (value === undefined) throw new UsageError(`${command}: --${flag} is required`);
  return value;
}

export function integer(values: Values, flag: string): number | undefined {
  const value = text(values, flag);
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${flag}: expected a whole number, got "${value}"`);
  return n;
}

export function decimal(values: Values, flag: string): number | undefined {
  const value = text(values, flag);
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`--${flag}: expected a number, got "${value}"`);
  return n;
}

/** Drops undefined entries, so schema defaults apply to what was not given. */
export function defined<T extends Record<string, unknown>>(record: T): Partial<T> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export { call } from '../app/calls';

/**
 * Starts a job through the contract and follows it to its end, with a progress bar on a terminal;
 * returns its result as its kind's schema reads it, or throws the job's error.
 */
export async function followJob<K extends JobKind>(
  backend: Backend,
  json: boolean,
  kind: K,
  start: () => Promise<{ jobId: number }>,
): Promise<JobResult<K>> {
  const bar = json ? null : new ProgressBar(process.stderr);
  const finished = new Map<number, Job>();
  let wanted: number | null = null;
  let wake: (() => void) | null = null;
  const off = backend.bus.subscribe((event) => {
    if (event.name === 'jobs.progress' && event.payload.jobId === wanted) bar?.update(event.payload);
    if (event.name === 'jobs.finished') {
      finished.set(event.payload.id, event.payload);
      wake?.();
    }
  });
  try {
    const { jobId } = await start();
    wanted = jobId;
    let job: Job | undefined;
    while ((job = finished.get(jobId)) === undefined) await new Promise<void>((r) => (wake = r));
    bar?.end();
    return jobResult(job, kind);
  } finally {
    off();
  }
}

export function print(json: boolean, value: unknown, human: () => string): void {
  console.log(json ? JSON.stringify(value, null, 2) : human());
}
