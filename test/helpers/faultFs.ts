/**
 * A small file system of its own for storage-fault tests: a tmpfs of a few MB that a test fills to
 * the last block (a full disk) and makes read-only, as root. No fake: the processes under test get
 * ENOSPC and EROFS from the kernel. Mounting needs root (the tests and CI run as root in a
 * container); without it these tests fail, saying so, rather than skip.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, statSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';

function sh(command: string, args: string[]): void {
  const run = spawnSync(command, args, { encoding: 'utf8' });
  if (run.status !== 0)
    throw new Error(
      `${command} ${args.join(' ')} failed (${run.status}): ${run.stderr.trim()}. ` +
        'The storage-fault tests mount a small tmpfs and need root (CAP_SYS_ADMIN) for it',
    );
}

export interface FaultFs {
  dir: string;
  /** Writes a filler file until the disk is full (ENOSPC): nothing more fits, to the block. */
  fill(): void;
  /** Gives `bytes` of the filler back: that much room, and no more. */
  leave(bytes: number): void;
  /** Removes the filler: the disk has room again. */
  free(): void;
  /** Makes `path` (a folder inside) read-only under its open files: a read-only bind mount over itself. */
  readOnly(path: string): void;
  /** Undoes readOnly. */
  writable(path: string): void;
  /** The whole file system read-only or writable (refused by the kernel while files are open for writing). */
  remount(mode: 'ro' | 'rw'): void;
  unmount(): void;
}

export function mountTmpfs(dir: string, sizeMb: number): FaultFs {
  mkdirSync(dir, { recursive: true });
  sh('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir]);
  const filler = join(dir, 'filler');
  const bound: string[] = [];
  return {
    dir,
    fill() {
      const fd = openSync(filler, 'a');
      const block = Buffer.alloc(64 * 1024, 7);
      try {
        for (let size = block.length; size >= 1;) {
          try {
            writeSync(fd, block, 0, size);
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
            size = Math.floor(size / 2);
          }
        }
      } finally {
        closeSync(fd);
      }
    },
    leave(bytes) {
      truncateSync(filler, Math.max(0, statSync(filler).size - bytes));
    },
    free() {
      rmSync(filler, { force: true });
    },
    readOnly(path) {
      sh('mount', ['--bind', path, path]);
      bound.push(path);
      sh('mount', ['-o', 'remount,bind,ro', path]);
    },
    writable(path) {
      sh('umount', [path]);
      bound.splice(bound.indexOf(path), 1);
    },
    remount(mode) {
      sh('mount', ['-o', `remount,${mode}`, dir]);
    },
    unmount() {
      for (const path of bound.splice(0).reverse()) spawnSync('umount', [path]);
      spawnSync('umount', ['-l', dir]);
    },
  };
}
