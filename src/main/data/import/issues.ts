/**
 * Collecting import issues: each says where (file, line, field) and what is wrong in words a user
 * understands, and the list is capped so a thoroughly broken file cannot flood the caller.
 */
import type { ImportIssue } from '../../../shared/contract';

/** A problem found in one record, before it is placed in a file and line. */
export interface FieldProblem {
  field?: string;
  message: string;
}

export class IssueLog {
  readonly issues: ImportIssue[] = [];
  private stopped = false;

  constructor(
    private readonly file: string,
    private readonly limit: number,
  ) {}

  /** True once the cap was passed: reading should stop, as nothing more would be reported. */
  get full(): boolean {
    return this.stopped;
  }

  get count(): number {
    return this.issues.length;
  }

  add(line: number, field: string | undefined, text: string): void {
    if (this.stopped) return;
    if (this.issues.length >= this.limit) {
      this.stopped = true;
      this.issues.push({
        file: this.file,
        line,
        message: `more than ${this.limit} issues; checking stopped at line ${line}, so further issues were omitted`,
      });
      return;
    }
    const where = line > 0 ? (field === undefined ? `line ${line}: ` : `line ${line}, field "${field}": `) : '';
    this.issues.push({ file: this.file, line, ...(field === undefined ? {} : { field }), message: where + text });
  }

  addProblems(line: number, problems: readonly FieldProblem[]): void {
    for (const problem of problems) this.add(line, problem.field, problem.message);
  }
}

const MAX_QUOTED = 40;

/** How a value reads in a message: its JSON type and, for scalars, the value itself (shortened). */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value))
    return value.length === 0 ? 'an empty list' : `a list of ${value.length} item${value.length === 1 ? '' : 's'}`;
  switch (typeof value) {
    case 'string': {
      if (value === '') return 'an empty string';
      const shown = value.length > MAX_QUOTED ? `${value.slice(0, MAX_QUOTED)}…` : value;
      return `string ${JSON.stringify(shown)}`;
    }
    case 'number':
      return `number ${String(value)}`;
    case 'boolean':
      return `boolean ${String(value)}`;
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

/** A list of names for a message: "a", "b" and "c"; a long list is cut short. */
export function quoteList(names: readonly string[], max = 20): string {
  const shown = names.slice(0, max).map((n) => JSON.stringify(n));
  if (names.length > max) shown.push(`${names.length - max} more`);
  if (shown.length <= 1) return shown.join('');
  return `${shown.slice(0, -1).join(', ')} and ${shown[shown.length - 1] ?? ''}`;
}

const MiB = 1024 * 1024;
const KiB = 1024;

export function formatBytes(bytes: number): string {
  const exact = bytes.toLocaleString('en-US');
  if (bytes >= MiB) {
    const size = bytes % MiB === 0 ? String(bytes / MiB) : (bytes / MiB).toFixed(1);
    return `${size} MiB (${exact} bytes)`;
  }
  if (bytes >= KiB) {
    const size = bytes % KiB === 0 ? String(bytes / KiB) : (bytes / KiB).toFixed(1);
    return `${size} KiB (${exact} bytes)`;
  }
  return `${exact} bytes`;
}
