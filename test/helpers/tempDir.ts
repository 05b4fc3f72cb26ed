import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';

/** A fresh folder per test, removed afterwards. */
export function useTempDir(prefix = 'alol-test-'): () => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
}

/**
 * One folder for a whole file or describe block (a story whose tests build on each other): made
 * before its first hook that uses it, removed after its last. Call it before the beforeAll that
 * needs the folder, so that its own afterAll (closing a backend on it) runs before the removal.
 */
export function useSuiteTempDir(prefix = 'alol-test-'): () => string {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    if (!dir) throw new Error('useSuiteTempDir: the folder is made in beforeAll; ask for it from a hook or a test');
    return dir;
  };
}
