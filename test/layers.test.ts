/**
 * Layers import only downward: shared code runs everywhere (zod and itself only), the renderer
 * reaches the backend only through src/shared, and only the Electron shell and the preload import
 * electron. Read from the sources, so a stray import fails here before it ships.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(ts|svelte)$/.test(e.name))
    .map((e) => relative(root, join(e.parentPath, e.name)));
}

function imports(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map(
    (m) => m[1] ?? m[2] ?? '',
  );
}

describe('import layers', () => {
  it('src/shared imports nothing but zod and itself', () => {
    for (const file of sources('src/shared')) {
      for (const spec of imports(file)) expect(spec === 'zod' || spec.startsWith('./'), `${file} imports ${spec}`).toBe(true);
    }
  });

  it('the renderer reaches the backend only through src/shared', () => {
    const files = sources('src/renderer');
    // The scan sees real imports: some renderer file takes the contract from src/shared.
    expect(files.some((f) => imports(f).some((spec) => spec.includes('shared/contract')))).toBe(true);
    for (const file of files) {
      for (const spec of imports(file)) {
        expect(spec.startsWith('node:') || /(^|\/)(main|preload)\//.test(spec) || spec === 'electron', `${file} imports ${spec}`).toBe(false);
      }
    }
  });

  it('only the Electron shell and the preload import electron', () => {
    const importers = [...sources('src/main'), ...sources('src/preload')].filter((f) => imports(f).includes('electron'));
    expect(importers.sort()).toEqual(['src/main/shell/electronMain.ts', 'src/preload/index.ts']);
  });
});
