/**
 * A user's scoring function: a JavaScript module in the project folder exporting
 * `score(prompt, response)`, loaded on demand (see README.md for the contract). Every error names
 * the module as its reward source does: "module:scorer.mjs".
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, isAbsolute, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AppError } from '../../shared/contract';
import type { RewardFunction, RewardValue } from './rewardFunction';

export const MODULE_EXTENSIONS = ['.mjs', '.js'] as const;

/**
 * Where `module:FILE` is, checked without importing it: inside the project folder (relative to it,
 * or absolute inside it), a .mjs or .js file that exists. Refused otherwise, naming the path.
 */
export function moduleRewardPath(projectDir: string, file: string): { path: string; name: string } {
  const root = resolve(projectDir);
  const path = resolve(root, file);
  const inside = relative(root, path);
  const name = `module:${inside.split(sep).join('/')}`;
  if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) {
    throw new AppError(
      'reward_module',
      `module:${file}: a scoring module must be a file inside the project folder (${root}), and ${path} is not`,
    );
  }
  if (!(MODULE_EXTENSIONS as readonly string[]).includes(extname(path))) {
    throw new AppError('reward_module', `${name}: a scoring module must be a .mjs or .js file`);
  }
  const stats = statSync(path, { throwIfNoEntry: false });
  if (!stats) throw new AppError('reward_module', `${name}: no such file: ${path}`);
  if (!stats.isFile()) throw new AppError('reward_module', `${name}: ${path} is not a file`);
  return { path, name };
}

/**
 * The module at `file` (relative to the project folder, or absolute inside it), imported now.
 * Its name, and so its rewards' source, is "module:" + its path relative to the project, with
 * forward slashes: the project alone says which file scored what.
 */
export async function loadModuleReward(projectDir: string, file: string): Promise<RewardFunction> {
  const { path, name } = moduleRewardPath(projectDir, file);
  let source: Buffer;
  try {
    source = await readFile(path);
  } catch (error) {
    throw new AppError('reward_module', `${name}: cannot read ${path}: ${messageOf(error)}`);
  }
  // Node caches modules by URL: the content's hash in it makes an edited file load afresh.
  const url = `${pathToFileURL(path).href}?sha256=${createHash('sha256').update(source).digest('hex').slice(0, 16)}`;
  let exports: Record<string, unknown>;
  try {
    exports = (await import(/* @vite-ignore */ url)) as Record<string, unknown>;
  } catch (error) {
    throw new AppError('reward_module', `${name}: could not be loaded: ${messageOf(error)}`);
  }
  const score = findScore(exports);
  if (!score) {
    const names = Object.keys(exports).filter((k) => k !== 'default');
    throw new AppError(
      'reward_module',
      `${name}: exports no function named "score" (${names.length > 0 ? `it exports ${names.join(', ')}` : 'it exports nothing'}); ` +
        'write `export function score(prompt, response) { ... }`',
    );
  }
  return { name, score };
}

type ScoreFn = (prompt: string, response: string) => RewardValue | Promise<RewardValue>;

/** `export function score`, or a CommonJS `module.exports = { score }`, which arrives as the default export. */
function findScore(exports: Record<string, unknown>): ScoreFn | null {
  if (typeof exports.score === 'function') return exports.score as ScoreFn;
  const fallback = exports.default;
  if (
    typeof fallback === 'object' &&
    fallback !== null &&
    typeof (fallback as Record<string, unknown>).score === 'function'
  ) {
    return (fallback as Record<string, ScoreFn>).score!;
  }
  return null;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
