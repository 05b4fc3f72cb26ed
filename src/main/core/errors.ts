import { AppError, type AppErrorShape } from '../../shared/contract';

/** Any thrown value as it crosses a boundary. Unknown errors keep their message; their stack goes to stderr. */
export function errorShape(error: unknown): AppErrorShape {
  if (error instanceof AppError) return error.toShape();
  if (error instanceof Error && error.name === 'AbortError') return { code: 'cancelled', message: 'cancelled' };
  console.error(error);
  return { code: 'internal', message: error instanceof Error ? error.message : String(error) };
}
