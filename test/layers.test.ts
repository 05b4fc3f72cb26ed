/**
 * Layers import only downward: shared code runs everywhere (zod and itself only), the renderer
 * reaches the backend only through src/shared, only the Electron shell and the preload import
 * electron, and inside src/main every folder imports only folders below it (the order in LAYERS),
 * with no file cycles and no import() of our own code to dodge one. Read from the sources, so a
 * stray import fails here before it ships.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
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
  return [
    ...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => m[1] ?? m[2] ?? '');
}

describe('import layers', () => {
  it('src/shared imports nothing but zod and itself', () => {
    for (const file of sources('src/shared')) {
      for (const spec of imports(file))
        expect(spec === 'zod' || spec.startsWith('./'), `${file} imports ${spec}`).toBe(true);
    }
  });

  it('the renderer reaches the backend only through src/shared', () => {
    const files = sources('src/renderer');
    // The scan sees real imports: some renderer file takes the contract from src/shared.
    expect(files.some((f) => imports(f).some((spec) => spec.includes('shared/contract')))).toBe(true);
    for (const file of files) {
      for (const spec of imports(file)) {
        expect(
          spec.startsWith('node:') || /(^|\/)(main|preload)\//.test(spec) || spec === 'electron',
          `${file} imports ${spec}`,
        ).toBe(false);
      }
    }
  });

  it('only the Electron shell and the preload import electron', () => {
    const importers = [...sources('src/main'), ...sources('src/preload')].filter((f) =>
      imports(f).includes('electron'),
    );
    expect(importers.sort()).toEqual(['src/main/shell/electronMain.ts', 'src/preload/index.ts']);
  });

  it('src/main imports only downward, folder by folder', () => {
    const files = sources('src/main');
    expect(files.length).toBeGreaterThan(100);
    let arrows = 0;
    for (const file of files) {
      const from = folderOf(file);
      expect(rank(from), `${file}: its folder ${from} is in no layer`).toBeGreaterThanOrEqual(0);
      for (const target of localImports(file)) {
        const to = folderOf(target);
        if (to === from) continue;
        arrows++;
        expect(rank(to), `${file} imports ${target}: ${to} is not below ${from}`).toBeLessThan(rank(from));
      }
    }
    expect(arrows).toBeGreaterThan(100);
  });

  it('src/main has no import cycle, and imports its own code only statically', () => {
    const files = sources('src/main');
    for (const file of files) {
      const dynamic = [...readFileSync(join(root, file), 'utf8').matchAll(/import\(\s*['"](\.[^'"]+)['"]\s*\)/g)];
      expect(
        dynamic.map((m) => m[1]),
        `${file} imports its own code dynamically`,
      ).toEqual([]);
    }
    const graph = new Map(files.map((f) => [f, localImports(f)]));
    const state = new Map<string, 'open' | 'done'>();
    const cycle: string[] = [];
    const visit = (f: string, path: string[]): boolean => {
      if (state.get(f) === 'done') return false;
      if (state.get(f) === 'open') {
        cycle.push(...path.slice(path.indexOf(f)), f);
        return true;
      }
      state.set(f, 'open');
      for (const t of graph.get(f) ?? []) if (visit(t, [...path, f])) return true;
      state.set(f, 'done');
      return false;
    };
    for (const f of files) if (visit(f, [])) break;
    expect(cycle.join(' -> ')).toBe('');
  });
});

/**
 * src/main's folders, top first: adapters (the CLI, the Electron shell, HTTP), the workflows that
 * drive the studio through its contract, the composition root, the domains, then the job plumbing
 * the domains run in, the tensor engine, and core and db at the bottom. A folder imports only
 * folders on a later line; folders on one line do not import each other.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['cli'],
  ['shell'],
  ['http'],
  ['workflows'],
  ['app'],
  ['report'],
  ['rating'],
  ['alol'],
  ['samples'],
  ['rewards'],
  ['models'],
  ['data'],
  ['stats'],
  ['jobs'],
  ['lm'],
  ['core', 'db'],
];

function rank(folder: string): number {
  const i = LAYERS.findIndex((layer) => layer.includes(folder));
  return i < 0 ? -1 : LAYERS.length - i;
}

/** The first folder under src/main ('lm' for src/main/lm/tokenizer/bpe.ts). */
function folderOf(file: string): string {
  return relative('src/main', file).split('/')[0]!;
}

/** The src/main files a file imports by relative path (type-only imports included: they bind the layers too). */
function localImports(file: string): string[] {
  const out: string[] = [];
  for (const spec of imports(file)) {
    if (!spec.startsWith('.')) continue;
    const base = normalize(join(dirname(file), spec));
    const target = [base, `${base}.ts`, join(base, 'index.ts')].find(
      (c) => c.startsWith('src/main/') && /\.ts$/.test(c) && existsSync(join(root, c)),
    );
    if (target) out.push(target);
  }
  return out;
}
