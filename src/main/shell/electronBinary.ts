/**
 * Whether the Electron binary can run here, and why not. The electron package downloads its
 * binary on first use; on a machine without that download the studio runs in the browser instead.
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';

export interface ElectronStatus {
  usable: boolean;
  binary: string | null;
  version: string | null;
  reason: string;
}

const resolvePackage = createRequire(import.meta.url);

function electronPackageDir(): string | null {
  try {
    return dirname(resolvePackage.resolve('electron/package.json'));
  } catch {
    return null;
  }
}

export function electronStatus(options: { download?: boolean } = {}): ElectronStatus {
  const dir = electronPackageDir();
  if (!dir) return { usable: false, binary: null, version: null, reason: 'the electron package is not installed' };
  const version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  const located = () => {
    const pathFile = join(dir, 'path.txt');
    if (!existsSync(pathFile)) return null;
    const binary = join(dir, 'dist', readFileSync(pathFile, 'utf8').trim());
    return existsSync(binary) ? binary : null;
  };
  let binary = located();
  if (!binary && options.download) {
    // The electron package's own installer; it fails at once where its host is unreachable.
    const result = spawnSync(process.execPath, [join(dir, 'install.js')], { timeout: 300_000, encoding: 'utf8' });
    binary = located();
    if (!binary) {
      const why = (result.stderr || result.stdout || '').split('\n').find((line) => line.trim() !== '') ?? 'no output';
      return {
        usable: false,
        binary: null,
        version,
        reason: `the Electron ${version} binary is not downloaded and its download failed (${why.trim()})`,
      };
    }
  }
  if (!binary)
    return { usable: false, binary: null, version, reason: `the Electron ${version} binary is not downloaded` };
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    return { usable: false, binary, version, reason: 'no display (DISPLAY and WAYLAND_DISPLAY are unset)' };
  }
  return { usable: true, binary, version, reason: `Electron ${version} at ${binary}` };
}
