/**
 * Gold items from a file: attention checks whose right answers someone wrote down. JSONL, one item
 * a line:
 *
 *   {"prompt": "...", "a": "response A", "b": "response B",
 *    "expected": {"helpful": ["a"], "safe": ["a", "b", "both_good"]}}
 *
 * `expected` lists, per criterion, every answer that counts as right ("a", "b", "both_good",
 * "both_bad"); a criterion left out is not scored. A is the item's first response and B its
 * second; each annotator still sees them on seeded sides. A read is all or nothing: any problem
 * is named by file, line and field, and nothing is created.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { z } from 'zod';
import { AppError, type ImportIssue } from '../../shared/contract';
import type { Verdict } from '../../shared/rating';

/** The most gold items one file may hold: the same bound as automatic gold items. */
export const MAX_GOLD_FILE_ITEMS = 1000;

const Answer = z.enum(['a', 'b', 'both_good', 'both_bad']);
const Answers = z
  .array(Answer)
  .min(1, 'lists at least one accepted answer')
  .refine((xs) => new Set(xs).size === xs.length, 'names each answer once');

const GoldLine = z
  .object({
    prompt: z.string().min(1, 'must not be empty'),
    a: z.string().min(1, 'must not be empty'),
    b: z.string().min(1, 'must not be empty'),
    expected: z
      .object({ helpful: Answers.optional(), safe: Answers.optional() })
      .strict()
      .refine(
        (e) => e.helpful !== undefined || e.safe !== undefined,
        'names the accepted answers of helpful, safe or both',
      ),
  })
  .strict();

export interface GoldFileItem {
  line: number;
  prompt: string;
  first: string;
  second: string;
  /** Accepted answers in canonical terms (a = first, b = second); null: not scored. */
  helpful: Verdict[] | null;
  safe: Verdict[] | null;
}

const canonical = (answers: readonly z.infer<typeof Answer>[] | undefined): Verdict[] | null =>
  answers === undefined ? null : answers.map((a) => (a === 'a' ? 'first' : a === 'b' ? 'second' : a));

/** Reads and checks a whole gold file; throws an AppError naming file, line and field on the first problem (and counts the rest). */
export function readGoldFile(path: string): { file: string; items: GoldFileItem[] } {
  const file = basename(path);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new AppError(
      'not_found',
      `gold file ${path}: ${code === 'ENOENT' ? 'no such file' : error instanceof Error ? error.message : String(error)}; no campaign created`,
    );
  }
  const issues: ImportIssue[] = [];
  const items: GoldFileItem[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    const line = i + 1;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      issues.push({ file, line, message: 'not valid JSON' });
      return;
    }
    const parsed = GoldLine.safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        issues.push({
          file,
          line,
          ...(issue.path.length ? { field: issue.path.join('.') } : {}),
          message: issue.message,
        });
      return;
    }
    const g = parsed.data;
    items.push({
      line,
      prompt: g.prompt,
      first: g.a,
      second: g.b,
      helpful: canonical(g.expected.helpful),
      safe: canonical(g.expected.safe),
    });
  });
  if (issues.length === 0 && items.length === 0) issues.push({ file, line: 1, message: 'holds no gold item' });
  if (issues.length === 0 && items.length > MAX_GOLD_FILE_ITEMS) {
    issues.push({
      file,
      line: (items[MAX_GOLD_FILE_ITEMS] as GoldFileItem).line,
      message: `more than ${MAX_GOLD_FILE_ITEMS} gold items`,
    });
  }
  if (issues.length > 0) {
    const first = issues[0] as ImportIssue;
    throw new AppError(
      'import_invalid',
      `gold file ${file}:${first.line}${first.field ? ` field "${first.field}"` : ''}: ${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}; no campaign created`,
      issues.slice(0, 100),
    );
  }
  return { file, items };
}
