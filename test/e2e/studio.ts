/**
 * What the end-to-end tests share: the real HTTP server (out/main/server.js) on a fresh project
 * folder, the built UI (out/renderer) opened in Chromium with its token, every console error and CSP
 * violation collected, and all of it torn down again. Throws (never skips) when out/ is not built
 * or Chromium is missing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { methods, type Input, type MethodName, type Output } from '../../src/shared/contract';
import { alol } from '../helpers/cli';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const serverJs = join(repo, 'out/main/server.js');
const rendererHtml = join(repo, 'out/renderer/index.html');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

interface Listening {
  event: 'listening';
  url: string;
  port: number;
  token: string;
}

function isListening(value: unknown): value is Listening {
  if (typeof value !== 'object' || value === null) return false;
  const line = value as Record<string, unknown>;
  return line.event === 'listening' && typeof line.url === 'string' && typeof line.token === 'string';
}

/** Starts the server and resolves with its "listening" line; rejects with its stderr if it dies or stalls. */
function startServer(
  projectDir: string,
  args: readonly string[] = ['--port', '0'],
): Promise<{ child: ChildProcess; listening: Listening }> {
  const child = spawn(process.execPath, [serverJs, '--project', projectDir, ...args, '--no-open', '--json'], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`out/main/server.js printed no "listening" line within 30 s. stderr:\n${stderr}`));
    }, 30_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`out/main/server.js exited (${signal ?? code}) before listening. stderr:\n${stderr}`));
    });
    if (!child.stdout) throw new Error('spawned without a stdout pipe');
    createInterface({ input: child.stdout }).on('line', (text) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return;
      }
      if (isListening(parsed)) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({ child, listening: parsed });
      }
    });
  });
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** The `alol` command on a test's project; throws with its stderr when it fails. */
export function cli(projectDir: string, args: string[]): void {
  const run = alol([...args, '--project', projectDir]);
  if (run.status !== 0) throw new Error(`alol ${args.join(' ')} failed (${run.status}):\n${run.stderr}`);
}

// Reported to the console, where the error listener collects it with everything else.
const reportCspViolations = `document.addEventListener('securitypolicyviolation', (event) => {
  console.error('CSP violation: ' + event.violatedDirective + ' blocked ' + (event.blockedURI || 'inline code'));
});`;

/**
 * The demo data, two tiny models (alpha, beta) and a campaign comparing them on the demo's test
 * prompts: what the results and item-browser screens are tested on.
 */
export function twoModelCampaign(projectDir: string, campaign: string, options: string[]): void {
  cli(projectDir, ['demo', 'data', '--name', 'demo', '--prompts', '20']);
  for (const [name, seed] of [
    ['alpha', '1'],
    ['beta', '2'],
  ] as const) {
    const shape = ['--layers', '1', '--dim', '32', '--heads', '2', '--context', '64', '--vocab', '300'];
    cli(projectDir, ['model', 'new', '--name', name, '--data', 'demo', ...shape, '--seed', seed]);
  }
  const models = ['--models', 'alpha,beta', '--prompts', 'demo:test', '--max-new-tokens', '8'];
  cli(projectDir, ['campaign', 'create', '--name', campaign, ...models, ...options]);
}

export interface StudioOptions {
  /** Prefix of the temporary project folder's name. */
  prefix: string;
  /** Fills the project folder before the server starts on it. */
  before?: (projectDir: string) => void | Promise<void>;
  /** The page's viewport and locale. */
  page?: Pick<BrowserContextOptions, 'viewport' | 'locale'>;
  /** Open the page on the owner's link (the default); false leaves it blank, for a spec that opens a link of its own. */
  open?: boolean;
}

export interface Studio {
  page: Page;
  /** The server's address, without the token. */
  url: string;
  /** The owner's token, as the server printed it. */
  token: string;
  projectDir: string;
  /** Console errors, page errors and CSP violations, as logged. */
  consoleErrors: string[];
  /** The same API the page uses, called directly: the oracle for what the page shows. */
  api<M extends MethodName>(method: M, input: Input<M>): Promise<Output<M>>;
  close(): Promise<void>;
}

/** The server on a fresh project and the page opened on it; close() undoes all of it. */
export async function startStudio(options: StudioOptions): Promise<Studio> {
  // Both checked before the project is filled: a missing build or browser fails at once.
  requireBuilt();
  requireChromium();

  const projectDir = await mkdtemp(join(tmpdir(), options.prefix));
  let server: ChildProcess | null = null;
  let browser: Browser | null = null;
  const close = async (): Promise<void> => {
    await browser?.close();
    if (server) await stopServer(server);
    await rm(projectDir, { recursive: true, force: true });
  };

  try {
    await options.before?.(projectDir);
    const started = await startServer(projectDir);
    server = started.child;
    const { url, token } = started.listening;

    browser = await launchChromium();
    const { page, consoleErrors } = await watchedPage(browser, options.page);
    if (options.open ?? true) await page.goto(`${url}#token=${token}`);
    const api = ownerApi(url, token);

    return { page, url, token, projectDir, consoleErrors, api, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The API as the owner calls it, outputs parsed with the contract: the oracle for what a page shows. */
export function ownerApi(
  url: string,
  token: string,
): <M extends MethodName>(method: M, input: Input<M>) => Promise<Output<M>> {
  return async (method, input) => {
    const { status, body } = await callAs(url, token, method, input);
    if (status < 200 || status > 299) throw new Error(`${method} answered ${status}: ${JSON.stringify(body)}`);
    // The schema is methods[M]'s; TypeScript cannot narrow the union of all outputs by a generic M.
    return methods[method].output.parse(body) as Output<typeof method>;
  };
}

/** One API call with any token (an annotator's, a wrong one), its answer unchecked: for specs of what a token may do. */
export async function callAs(
  url: string,
  token: string,
  method: string,
  input: unknown,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(new URL(`/api/call/${method}`, url), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify(input),
  });
  return { status: response.status, body: (await response.json()) as unknown };
}

/**
 * The server on an existing project with more arguments (`--campaign C`, a fixed `--port N`
 * instead of any free one): its process and its "listening" line. For specs that stop and restart
 * the server themselves; stop it with stopStudioServer, or kill it.
 */
export function startStudioServer(
  projectDir: string,
  args: readonly string[] = ['--port', '0'],
): Promise<{ child: ChildProcess; listening: Listening }> {
  requireBuilt();
  return startServer(projectDir, args);
}

/** Throws (never skips) when the server or the UI has not been built. */
function requireBuilt(): void {
  for (const [file, what] of [
    [serverJs, 'out/main/server.js'],
    [rendererHtml, 'out/renderer/index.html'],
  ] as const) {
    if (!existsSync(file)) throw new Error(`${what} is missing: run npm run build first`);
  }
}

/** Throws (never skips) when there is no Chromium to drive. */
function requireChromium(): void {
  if (!existsSync(chromiumPath)) {
    throw new Error(`Chromium not found at ${chromiumPath}: apt-get install chromium (or set CHROMIUM_PATH)`);
  }
}

/** Ends a server from startStudioServer: SIGTERM, then SIGKILL after 5 s. */
export function stopStudioServer(child: ChildProcess): Promise<void> {
  return stopServer(child);
}

/** Chromium as startStudio launches it. */
export function launchChromium(): Promise<Browser> {
  requireChromium();
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A page in a context of its own (its own sessionStorage), collecting console errors and CSP violations as startStudio's page does. */
export async function watchedPage(
  browser: Browser,
  options: StudioOptions['page'] = { viewport: { width: 1280, height: 1000 }, locale: 'en-US' },
): Promise<{ page: Page; consoleErrors: string[] }> {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const consoleErrors: string[] = [];
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const { url: source } = message.location();
    consoleErrors.push(source ? `${message.text()} (${source})` : message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(`page error: ${error.message}`));
  await page.addInitScript({ content: reportCspViolations });
  return { page, consoleErrors };
}
