/**
 * Paths named in calls, checked before anything is read or written, so a wrong path is a sentence
 * naming it, not an ENOENT from deep inside a job. The contract's absolutePath has already refused
 * relative paths; these refuse what exists (or not) on disk, and the project's own storage as a
 * place to write into.
 */
import { statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { AppError } from '../../shared/contract';
import type { ProjectPaths } from './project';

/** Refuses a file path whose folder is missing or is not a folder. */
export function existingFolder(file: string): void {
  const folder = dirname(file);
  let isFolder: boolean;
  try {
    isFolder = statSync(folder).isDirectory();
  } catch {
    throw new AppError('invalid_input', `folder ${folder} does not exist: make it first, or choose another path`);
  }
  if (!isFolder) throw new AppError('invalid_input', `${folder} is a file, not a folder: choose another path`);
  if (statSync(file, { throwIfNoEntry: false })?.isDirectory())
    throw new AppError('invalid_input', `${file} is a folder: give a file name`);
}

/** Refuses a folder to write into whose parent is missing (a mistyped path would otherwise be made, folder by folder), or that is a file. */
export function newOrExistingFolder(folder: string): void {
  const stats = statSync(folder, { throwIfNoEntry: false });
  if (stats && !stats.isDirectory())
    throw new AppError('invalid_input', `${folder} is a file, not a folder: choose another path`);
  if (stats) return;
  const parent = dirname(folder);
  if (!statSync(parent, { throwIfNoEntry: false })?.isDirectory()) {
    throw new AppError(
      'invalid_input',
      `folder ${parent} does not exist: make it first, or choose another path (for ${folder})`,
    );
  }
}

/** Refuses a file to read that is missing or is a folder. */
export function existingFile(file: string, what = 'file'): void {
  const stats = statSync(file, { throwIfNoEntry: false });
  if (!stats) throw new AppError('invalid_input', `${what} ${file} does not exist`);
  if (!stats.isFile()) throw new AppError('invalid_input', `${what} ${file} is not a file`);
}

/** Refuses a folder to read that is missing or is a file. */
export function existingDirectory(folder: string, what = 'folder'): void {
  const stats = statSync(folder, { throwIfNoEntry: false });
  if (!stats) throw new AppError('invalid_input', `${what} ${folder} does not exist`);
  if (!stats.isDirectory()) throw new AppError('invalid_input', `${what} ${folder} is a file, not a folder`);
}

function within(root: string, path: string): boolean {
  const inside = relative(resolve(root), resolve(path));
  return inside === '' || (!inside.startsWith('..') && !isAbsolute(inside));
}

/**
 * Refuses a place to write that is the studio's own storage: the database (and its WAL and shared
 * memory files), the models folder and the uploads folder. An export written there would replace
 * the database under the open studio, or a stored model's files. The project's exports folder, and
 * the rest of the project folder, stay open.
 */
export function outsideStorage(path: string, paths: ProjectPaths): void {
  const target = resolve(path);
  const db = resolve(paths.db);
  if (target === db || target === `${db}-wal` || target === `${db}-shm` || target === `${db}-journal`) {
    throw new AppError('invalid_input', `${path} is the studio's database: choose another path`);
  }
  for (const [folder, what] of [
    [paths.models, 'models'],
    [paths.uploads, 'uploads'],
  ] as const) {
    if (within(folder, target))
      throw new AppError(
        'invalid_input',
        `${path} is inside the studio's ${what} folder (${folder}): choose another path`,
      );
  }
}
