/**
 * The one place a call enters the backend, whatever carried it (HTTP, the backend process channel,
 * tests): the method must be in the contract, the input must parse with its schema, and the
 * output is parsed too, so nothing outside the contract leaves.
 */
import type { z } from 'zod';
import { AppError, isMethodName, methods, type AppErrorShape, type Handlers } from '../../shared/contract';
import { errorShape } from '../core/errors';

export type DispatchResult = { ok: true; value: unknown } | { ok: false; error: AppErrorShape };
export type Dispatch = (method: unknown, input: unknown) => Promise<DispatchResult>;

export function zodIssues(error: z.ZodError, where: string): AppError {
  const issues = error.issues.map((issue) => ({
    file: where,
    line: 0,
    ...(issue.path.length > 0 ? { field: issue.path.join('.') } : {}),
    message: issue.message,
  }));
  const first = issues[0];
  const detail = first ? `${first.field ? `field "${first.field}": ` : ''}${first.message}` : 'invalid';
  return new AppError('invalid_input', `${where}: ${detail}`, issues);
}

/** `store`: the project's database file, named when a call fails on a full disk or a read-only folder. */
export function createDispatch(handlers: Handlers, store?: string): Dispatch {
  return async (method, input) => {
    try {
      if (!isMethodName(method)) throw new AppError('not_found', `no such method: ${String(method).slice(0, 100)}`);
      const schema = methods[method];
      const parsed = schema.input.safeParse(input ?? {});
      if (!parsed.success) throw zodIssues(parsed.error, method);
      const handler = handlers[method] as (input: unknown) => unknown;
      const value = await handler(parsed.data);
      return { ok: true, value: schema.output.parse(value) };
    } catch (error) {
      return { ok: false, error: errorShape(error, store) };
    }
  };
}
