/**
 * A write the disk refused, in words: a full disk (or quota, or a file-size limit) and a read-only
 * folder, from Node's file calls (ENOSPC, EDQUOT, EFBIG, EROFS) and from SQLite (SQLITE_FULL,
 * SQLITE_READONLY and its variants). The message names the file or project, the cause and what
 * it means: what was being written is not stored, what was stored before is intact, and the same
 * action works again once the cause is cleared. Other errors are not storage failures (null).
 */
import { statfsSync } from 'node:fs';
import { dirname, isAbsolute } from 'node:path';
import { AppError } from '../../shared/contract';

export type StorageFailureCode = 'disk_full' | 'read_only';

const FULL: Record<string, string> = {
  ENOSPC: 'the disk is full (ENOSPC: no space left on device)',
  EDQUOT: 'the disk quota is used up (EDQUOT)',
  EFBIG: 'the file grew past the size this system allows (EFBIG)',
  SQLITE_FULL: 'the disk is full (SQLITE_FULL: database or disk is full)',
};

function cause(code: string, where: string | undefined): { kind: StorageFailureCode; words: string } | null {
  const full = FULL[code];
  if (full) return { kind: 'disk_full', words: full };
  // SQLite reports a shared-memory file or a write it could not grow as an I/O error, without
  // errno: the file system, asked, says whether it is full.
  if (code.startsWith('SQLITE_IOERR') && where !== undefined && noSpaceLeft(where))
    return { kind: 'disk_full', words: `the disk is full (${code} with no space left on the device)` };
  if (code === 'EROFS') return { kind: 'read_only', words: 'the folder is on a read-only file system (EROFS)' };
  if (code.startsWith('SQLITE_READONLY'))
    return { kind: 'read_only', words: `the project folder or its database is read-only (${code})` };
  return null;
}

/**
 * The storage failure in `error` (its cause chain too) as an AppError naming `where`, else the path
 * a file error carries, else the project database; null when it is no storage failure.
 */
export function storageFailure(error: unknown, where?: string): AppError | null {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof AppError) return isStorageFailure(e) ? e : null;
    const code = (e as NodeJS.ErrnoException).code;
    const found = typeof code === 'string' ? cause(code, where) : null;
    if (!found) continue;
    // Node's file errors carry the path they were about; SQLite's carry none.
    const path = (e as NodeJS.ErrnoException).path;
    const what = where ?? (typeof path === 'string' && path !== '' ? path : "the project's database (studio.db)");
    const fix = found.kind === 'disk_full' ? 'free some space' : 'make the folder writable again';
    return new AppError(
      found.kind,
      `${what}: ${found.words}. Nothing was written, and what was saved before is intact; ${fix}, then try again`,
    );
  }
  return null;
}

function noSpaceLeft(where: string): boolean {
  if (!isAbsolute(where)) return false;
  try {
    return statfsSync(dirname(where)).bavail === 0;
  } catch {
    return false;
  }
}

export function isStorageFailure(error: AppError): boolean {
  return error.code === 'disk_full' || error.code === 'read_only';
}
