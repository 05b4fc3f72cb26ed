/**
 * Which Node runs the backend process the Electron shell forks. A packaged app has no system Node
 * (and must not need one): there the shell forks its own binary as Node (ELECTRON_RUN_AS_NODE=1),
 * with better-sqlite3 rebuilt for Electron by electron-builder, and the backend's job processes
 * inherit the same. In development (`npm start`) native modules are built for the system Node, so
 * the backend runs there: ALOL_NODE (set by launch.ts to the Node that started it), else `node`.
 *
 *   backendRuntime({ packaged: true, execPath: '/opt/A-LoL Studio/alol-studio', env })
 *   // { execPath: '/opt/A-LoL Studio/alol-studio', env: { ...env, ELECTRON_RUN_AS_NODE: '1' } }
 */
export interface BackendRuntime {
  execPath: string;
  env: NodeJS.ProcessEnv;
}

export function backendRuntime(o: { packaged: boolean; execPath: string; env: NodeJS.ProcessEnv }): BackendRuntime {
  if (o.packaged) return { execPath: o.execPath, env: { ...o.env, ELECTRON_RUN_AS_NODE: '1' } };
  const env = { ...o.env };
  delete env.ELECTRON_RUN_AS_NODE;
  return { execPath: o.env.ALOL_NODE ?? 'node', env };
}

/** Links the page may hand to the system browser: http(s) and mailto, as the markdown view makes them. */
export function isExternalLink(url: string): boolean {
  try {
    return ['http:', 'https:', 'mailto:'].includes(new URL(url).protocol);
  } catch {
    return false;
  }
}
