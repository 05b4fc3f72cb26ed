import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { builtFile } from './built';

const bin = fileURLToPath(new URL('../../bin/alol.js', import.meta.url));

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
  json: () => unknown;
}

/** Runs the real `alol` command (bin/alol.js -> out/main/cli.js) in a child process. */
export function alol(args: string[], env: NodeJS.ProcessEnv = {}): CliRun {
  builtFile('main/cli.js');
  const run = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  return {
    status: run.status,
    stdout: run.stdout,
    stderr: run.stderr,
    json: () => JSON.parse(run.stdout) as unknown,
  };
}

/**
 * The same as a background process (stdin closed), for tests that run several `alol` commands at
 * once beside a served studio; resolves when it exits.
 */
export function alolAsync(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  builtFile('main/cli.js');
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) =>
    child.once('close', (status) => resolve({ status, stdout, stderr, json: () => JSON.parse(stdout) as unknown })),
  );
}
