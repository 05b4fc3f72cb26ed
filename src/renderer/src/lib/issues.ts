/**
 * The contract's complaints about a form's number fields, in words for the form: "at least 1"
 * rather than zod's "Too small: expected number to be >=1". Messages the contract wrote itself
 * (such as "dim must be a multiple of heads") pass through unchanged.
 */
import type { z } from 'zod';
import { count } from './format';

export function fieldIssues<K extends string>(
  error: z.ZodError,
  keys: readonly K[],
  values: Record<K, unknown>,
): Partial<Record<K, string>> {
  const problems: Partial<Record<K, string>> = {};
  for (const issue of error.issues) {
    const key = keys.find((k) => k === issue.path[0]);
    if (key === undefined || problems[key] !== undefined) continue;
    problems[key] = values[key] === null ? 'required' : phrase(issue);
  }
  return problems;
}

function phrase(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'too_small':
      return `${issue.inclusive === false ? 'more than' : 'at least'} ${count(Number(issue.minimum))}`;
    case 'too_big':
      return `${issue.inclusive === false ? 'less than' : 'at most'} ${count(Number(issue.maximum))}`;
    case 'invalid_type':
      return issue.expected === 'int' ? 'a whole number' : 'a number';
    default:
      return issue.message;
  }
}
