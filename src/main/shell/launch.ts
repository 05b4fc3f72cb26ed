/**
 * `npm start`: the Electron window where the Electron binary can run, otherwise the same studio
 * served on http://127.0.0.1 and opened in the default browser. Arguments pass through
 * (--project, --port, --host, --backend, --no-open).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { electronStatus } from './electronBinary';
import { serveFromArgs } from '../http/serveFromArgs';

const args = process.argv.slice(2);
const wantsBrowser = args.includes('--browser') || process.env.ALOL_SHELL === 'browser';
const status = wantsBrowser
  ? { usable: false, binary: null, reason: 'the browser UI was asked for (--browser or ALOL_SHELL=browser)' }
  : electronStatus({ download: true });

async function serveInBrowser(reason: string): Promise<void> {
  console.log(`Electron not used: ${reason}.`);
  console.log('Serving the studio in your browser instead.');
  try {
    await serveFromArgs(['--seed-demo', ...args.filter((a) => a !== '--browser')]);
    process.exit(0);
  } catch (error) {
    console.error(`alol studio: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}

if (status.usable && status.binary) {
  const startedAt = Date.now();
  const child = spawn(status.binary, [fileURLToPath(new URL('./index.js', import.meta.url)), '--seed-demo', ...args], {
    stdio: 'inherit',
    // The Electron shell runs the backend under this same plain Node, where better-sqlite3 was built.
    env: { ...process.env, ALOL_NODE: process.execPath },
  });
  child.on('exit', (code, signal) => {
    if (code !== 0 && Date.now() - startedAt < 10_000) {
      void serveInBrowser(`Electron exited at start (${signal ?? `exit code ${code}`})`);
    } else process.exit(code ?? 1);
  });
} else {
  await serveInBrowser(status.reason);
}
