import { AppError, type AppErrorShape } from '../../shared/contract';
import { storageFailure } from './storageErrors';

let processStore: string | undefined;

/** The project database this process works on, named by errorShape when the disk refuses a write to it. */
export function nameStore(file: string): void {
  processStore = file;
}

/**
 * Any thrown value as it crosses a boundary. A full disk or a read-only folder is said in words,
 * naming `where` (else the store named by nameStore). Unknown errors keep their message; their
 * stack goes to stderr.
 */
export function errorShape(error: unknown, where?: string): AppErrorShape {
  if (error instanceof AppError) return error.toShape();
  if (error instanceof Error && error.name === 'AbortError') return { code: 'cancelled', message: 'cancelled' };
  const storage = storageFailure(error, where ?? processStore);
  if (storage) return storage.toShape();
  console.error(error);
  return { code: 'internal', message: error instanceof Error ? error.message : String(error) };
}
