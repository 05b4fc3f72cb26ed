/**
 * A studio project is a folder: studio.db beside folders for models, exports and uploads.
 * Which folder: --project, then ALOL_PROJECT, then the app-data folder (Electron's userData in the
 * app; the XDG data folder headless).
 */
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export interface ProjectPaths {
  dir: string;
  db: string;
  models: string;
  exports: string;
  uploads: string;
}

export function defaultProjectDir(env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.XDG_DATA_HOME && env.XDG_DATA_HOME.startsWith('/') ? env.XDG_DATA_HOME : join(homedir(), '.local', 'share');
  return join(base, 'alol-studio');
}

export function resolveProjectDir(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  appData?: string,
): string {
  // An empty ALOL_PROJECT counts as unset, as shells make it easy to export one.
  return resolve(flag ?? (env.ALOL_PROJECT || undefined) ?? appData ?? defaultProjectDir(env));
}

export function projectPaths(dir: string): ProjectPaths {
  return {
    dir,
    db: join(dir, 'studio.db'),
    models: join(dir, 'models'),
    exports: join(dir, 'exports'),
    uploads: join(dir, 'uploads'),
  };
}

export function ensureProject(dir: string): ProjectPaths {
  const paths = projectPaths(dir);
  for (const folder of [paths.dir, paths.models, paths.exports, paths.uploads]) mkdirSync(folder, { recursive: true });
  return paths;
}
