/** Where an export writes: checked before anything is written, so a wrong path is a sentence, not an ENOENT. */
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { AppError } from '../../shared/contract';

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
  if (statSync(file, { throwIfNoEntry: false })?.isDirectory()) throw new AppError('invalid_input', `${file} is a folder: give a file name`);
}
