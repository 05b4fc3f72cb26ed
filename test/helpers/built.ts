import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Paths of the built app; tests that run it fail loudly when it has not been built. */
export function builtFile(relative: string): string {
  const path = fileURLToPath(new URL(`../../out/${relative}`, import.meta.url));
  if (!existsSync(path)) throw new Error(`${path} is missing: run npm run build (npm test builds first)`);
  return path;
}
