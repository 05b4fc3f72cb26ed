/**
 * Replacing files so that a kill or a failure leaves the old contents or the new, never a mix.
 * Each file is written in full under a hidden temporary name in its own folder (`.NAME.<hex>.tmp`)
 * and fsynced; only then is it renamed over its target, and a rename within one folder is atomic
 * (POSIX rename, NTFS MoveFileEx). Killed while writing, a folder keeps its old files plus at most
 * a stray `.tmp` file, which nothing reads.
 *
 * A set of files is renamed in the order given, so callers put their commit record last. If a
 * rename fails (a folder in the way, a file held open on Windows), the files of the set already
 * renamed are put back from hard links taken just before, so the old set stays whole. A kill in
 * the instant between two renames cannot be undone that way: callers that write sets store one id
 * in every file of the set, so a reader can tell a torn set from a whole one.
 *
 * A killed write leaves its temporary file (as large as the file it was writing); the next write
 * of the same target removes it. So one target has one writer at a time: a second writer's
 * clean-up would remove the first's temporary file, whose rename then fails (cleanly).
 */
import { closeSync, fsyncSync, linkSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { storageFailure } from './storageErrors';

export interface PendingFile {
  path: string;
  /** Writes the whole content to an open file; it may throw, and then nothing is replaced. */
  write: (fd: number) => void;
  /**
   * Called with the temporary file once it is written in full and fsynced, before any file of the
   * set is renamed: a later file's write may use it (a manifest recording this file's hash).
   */
  written?: (tempPath: string) => void;
}

export interface AtomicWriteOptions {
  /**
   * Called after each temporary file is written ('written') and after each rename ('renamed'), with
   * the target's path: the moments a kill leaves something different behind (tests kill there).
   */
  onStage?: (stage: 'written' | 'renamed', path: string) => void;
}

/** fs.writeSync takes at most 2 GiB at a time and may write less than asked. */
const CHUNK = 1 << 30;

export function writeFully(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.byteLength) {
    done += writeSync(fd, bytes, done, Math.min(CHUNK, bytes.byteLength - done));
  }
}

function hiddenSibling(path: string, suffix: 'tmp' | 'old'): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.${suffix}`);
}

/** Removes what killed writes of `path` left: hiddenSibling names, and nothing else. */
function removeLeftovers(path: string): void {
  const prefix = `.${basename(path)}.`;
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return; // no folder yet: opening the temporary file will say so
  }
  for (const name of names) {
    if (name.startsWith(prefix) && /^[0-9a-f]{12}\.(tmp|old)$/.test(name.slice(prefix.length)))
      rmSync(join(dirname(path), name), { force: true });
  }
}

function writeTemp(file: PendingFile): string {
  const temp = hiddenSibling(file.path, 'tmp');
  const fd = openSync(temp, 'wx');
  let ok = false;
  let closed = false;
  try {
    file.write(fd);
    fsyncSync(fd);
    closeSync(fd);
    closed = true;
    file.written?.(temp);
    ok = true;
  } finally {
    if (!closed) closeSync(fd);
    if (!ok) rmSync(temp, { force: true });
  }
  return temp;
}

/** What undoing a rename needs: a hard link to the old file, or the knowledge that there was none. */
type Backup = { kind: 'link'; path: string } | { kind: 'absent' } | { kind: 'unavailable'; reason: string };

function takeBackup(path: string): Backup {
  const link = hiddenSibling(path, 'old');
  try {
    linkSync(path, link);
    return { kind: 'link', path: link };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'absent' };
    // Some file systems (FAT, some network shares) have no hard links: the write goes on, but a
    // failed rename later can no longer put this file back.
    return { kind: 'unavailable', reason: (error as Error).message };
  }
}

function syncFolder(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Windows cannot open a folder to fsync it (NTFS journals the rename itself), and some file
    // systems refuse fsync on folders. The data is already on disk and renamed; failing the whole
    // write over the folder entry's flush would be worse than going on.
  }
}

/** Replaces every file in `files`, in that order; see the file comment for what a failure leaves. */
export function writeFilesAtomically(files: readonly PendingFile[], options: AtomicWriteOptions = {}): void {
  for (const file of files) removeLeftovers(file.path);
  const temps: string[] = [];
  try {
    for (const file of files) {
      temps.push(writeTemp(file));
      options.onStage?.('written', file.path);
    }
  } catch (error) {
    for (const temp of temps) rmSync(temp, { force: true });
    // A full disk or a read-only folder, in words naming the file; the old files are untouched.
    throw storageFailure(error, files[temps.length]?.path) ?? error;
  }

  // The last file never needs putting back: if its rename fails, nothing after it was renamed.
  const backups = files.slice(0, -1).map((file) => takeBackup(file.path));
  let renamed = 0;
  try {
    for (; renamed < files.length; renamed++) {
      renameSync(temps[renamed]!, files[renamed]!.path);
      options.onStage?.('renamed', files[renamed]!.path);
    }
  } catch (error) {
    for (const temp of temps.slice(renamed)) rmSync(temp, { force: true });
    const failed = files[renamed]!.path;
    const notRestored: string[] = [];
    for (let i = renamed - 1; i >= 0; i--) {
      const path = files[i]!.path;
      const backup = backups[i]!;
      try {
        if (backup.kind === 'link') renameSync(backup.path, path);
        else if (backup.kind === 'absent') rmSync(path, { force: true });
        else notRestored.push(`${path} (${backup.reason})`);
      } catch (undoError) {
        notRestored.push(`${path} (${(undoError as Error).message})`);
      }
    }
    for (const backup of backups) if (backup.kind === 'link') rmSync(backup.path, { force: true });
    let message = `could not replace ${failed}: ${(error as Error).message}`;
    if (renamed > 0 && notRestored.length === 0) message += '; the files replaced before it were put back';
    if (notRestored.length > 0) message += `; already replaced and not put back: ${notRestored.join(', ')}`;
    throw new Error(message, { cause: error });
  }
  for (const backup of backups) if (backup.kind === 'link') rmSync(backup.path, { force: true });
  for (const dir of new Set(files.map((file) => dirname(file.path)))) syncFolder(dir);
}
