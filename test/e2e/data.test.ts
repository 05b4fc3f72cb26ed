/**
 * The Data screen end to end: the real HTTP server (out/main/server.js) on a fresh project folder,
 * the built UI (out/renderer) in Chromium, driven through its file input like a person would.
 * Assertions read visible text. Needs `npm run build` first, and Chromium (apt-get install chromium).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const serverJs = join(repo, 'out/main/server.js');
const rendererHtml = join(repo, 'out/renderer/index.html');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const TRIPLES = 120;

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
function startServer(projectDir: string): Promise<{ child: ChildProcess; listening: Listening }> {
  const child = spawn(process.execPath, [serverJs, '--project', projectDir, '--port', '0', '--no-open', '--json'], {
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

function triplesFile(): string {
  const lines: string[] = [];
  for (let i = 1; i <= TRIPLES; i++) {
    lines.push(
      JSON.stringify({
        prompt: `Question ${i}: what is ${i} plus ${i}?`,
        response: `The answer is ${2 * i}.\n\nBecause ${i} and ${i} make ${2 * i}.`,
        reward: i / TRIPLES,
      }),
    );
  }
  return lines.join('\n') + '\n';
}

function hhFile(): string {
  const turn = (question: string, answer: string): string => `\n\nHuman: ${question}\n\nAssistant: ${answer}`;
  const pairs = [
    ['What is the capital of France?', 'Paris is the capital of France.', 'I would rather not say.'],
    ['How do I boil an egg?', 'Put it in boiling water for about nine minutes.', 'Eggs cannot be boiled.'],
    ['Name a prime number.', 'Seven is a prime number.', 'Nine.'],
  ];
  return pairs
    .map(([question = '', chosen = '', rejected = '']) =>
      JSON.stringify({ chosen: turn(question, chosen), rejected: turn(question, rejected) }),
    )
    .join('\n') + '\n';
}

function brokenFile(): string {
  return [
    JSON.stringify({ prompt: 'Fine prompt', response: 'Fine response', reward: 0.5 }),
    JSON.stringify({ prompt: 'Second prompt', response: 'Second response', reward: 'lots' }),
    JSON.stringify({ prompt: 'Third prompt', response: 'Third response', reward: 1 }),
  ].join('\n') + '\n';
}

// Reported to the console, where the error listener below collects it with everything else.
const reportCspViolations = `document.addEventListener('securitypolicyviolation', (event) => {
  console.error('CSP violation: ' + event.violatedDirective + ' blocked ' + (event.blockedURI || 'inline code'));
});`;

describe('Data screen', () => {
  let projectDir = '';
  let server: ChildProcess | null = null;
  let browser: Browser | null = null;
  let page: Page;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    for (const [file, what] of [
      [serverJs, 'out/main/server.js'],
      [rendererHtml, 'out/renderer/index.html'],
    ] as const) {
      if (!existsSync(file)) throw new Error(`${what} is missing: run npm run build first`);
    }
    if (!existsSync(chromiumPath)) {
      throw new Error(`Chromium not found at ${chromiumPath}: apt-get install chromium (or set CHROMIUM_PATH)`);
    }

    projectDir = await mkdtemp(join(tmpdir(), 'alol-e2e-'));
    await writeFile(join(projectDir, 'helpful-triples.jsonl'), triplesFile());
    await writeFile(join(projectDir, 'hh-sample.jsonl'), hhFile());
    await writeFile(join(projectDir, 'broken.jsonl'), brokenFile());

    const started = await startServer(projectDir);
    server = started.child;

    browser = await chromium.launch({
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
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(15_000);
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const { url } = message.location();
      consoleErrors.push(url ? `${message.text()} (${url})` : message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(`page error: ${error.message}`));
    await page.addInitScript({ content: reportCspViolations });
    await page.goto(`${started.listening.url}#token=${started.listening.token}`);
  });

  afterAll(async () => {
    await browser?.close();
    if (server) await stopServer(server);
    if (projectDir) await rm(projectDir, { recursive: true, force: true });
  });

  async function importFile(fileName: string, format?: string): Promise<void> {
    await page.getByTestId('import-file').setInputFiles(join(projectDir, fileName));
    if (format) await page.getByTestId('import-format').selectOption(format);
    await page.getByTestId('import-submit').click();
  }

  function datasetRow(name: string) {
    return page.locator(`[data-testid="dataset-row"][data-dataset="${name}"]`);
  }

  it('takes the token out of the address bar, survives a reload, shows the project folder and tensor backend', async () => {
    expect(page.url()).not.toContain('token');
    await page.getByTestId('project-dir').filter({ hasText: projectDir }).waitFor();
    const chosen = (await page.getByTestId('backend-chosen').innerText()).trim();
    expect(['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).toContain(chosen);
    await page.getByTestId('backend').locator('summary').click();
    await page.getByTestId('backend-candidates').waitFor();
    await page.getByTestId('datasets-empty').waitFor();

    // The token now lives in sessionStorage: a reload still reaches the backend.
    await page.reload();
    await page.getByTestId('project-dir').filter({ hasText: projectDir }).waitFor();
  });

  it('shows a placeholder line on the screens of later steps', async () => {
    await page.getByTestId('nav-rate').click();
    await page.getByTestId('later').filter({ hasText: 'later step' }).waitFor();
    await page.getByTestId('nav-data').click();
    await page.getByTestId('import-form').waitFor();
  });

  it('imports (prompt, response, reward) triples and lists their counts', async () => {
    await page.getByTestId('import-file').setInputFiles(join(projectDir, 'helpful-triples.jsonl'));
    await page.getByTestId('import-file-name').filter({ hasText: 'helpful-triples.jsonl' }).waitFor();
    expect(await page.getByTestId('import-name').inputValue()).toBe('helpful-triples');
    await page.getByTestId('import-submit').click();

    await page.getByTestId('import-summary').filter({ hasText: 'helpful-triples' }).waitFor();
    expect(await page.getByTestId('import-summary').innerText()).toContain(`${TRIPLES} examples`);

    const row = datasetRow('helpful-triples');
    await row.waitFor();
    expect((await row.getByTestId('dataset-examples').innerText()).trim()).toBe(String(TRIPLES));
    expect((await row.getByTestId('dataset-pairs').innerText()).trim()).toBe('0');
  });

  it('pages through the examples and opens one in full', async () => {
    await datasetRow('helpful-triples').getByTestId('dataset-open').click();
    const range = page.getByTestId('page-range');
    await range.filter({ hasText: `1–50 of ${TRIPLES}` }).waitFor();
    expect(await page.getByTestId('example-row').count()).toBe(50);
    expect(await page.getByTestId('example-row').first().innerText()).toContain('Question 1:');

    await page.getByTestId('page-next').click();
    await range.filter({ hasText: `51–100 of ${TRIPLES}` }).waitFor();
    expect(await page.getByTestId('example-row').first().innerText()).toContain('Question 51:');

    await page.getByTestId('page-next').click();
    await range.filter({ hasText: `101–120 of ${TRIPLES}` }).waitFor();
    expect(await page.getByTestId('example-row').count()).toBe(20);
    expect(await page.getByTestId('page-next').isDisabled()).toBe(true);

    await page.getByTestId('page-previous').click();
    await range.filter({ hasText: `51–100 of ${TRIPLES}` }).waitFor();

    await page.getByTestId('example-open').first().click();
    const dialog = page.getByTestId('item-dialog');
    await dialog.waitFor();
    expect(await dialog.getByTestId('item-prompt').innerText()).toBe('Question 51: what is 51 plus 51?');
    // Only white-space: pre-wrap keeps the blank line between the two sentences.
    expect(await dialog.getByTestId('item-response').innerText()).toBe('The answer is 102.\n\nBecause 51 and 51 make 102.');
    expect(await dialog.getByTestId('item-reward').innerText()).toContain('0.425');
    await dialog.getByTestId('item-close').click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByTestId('browser-close').click();
  });

  it('imports HH-RLHF pairs and opens one side by side', async () => {
    await importFile('hh-sample.jsonl', 'hh-rlhf');
    await page.getByTestId('import-summary').filter({ hasText: 'hh-sample' }).waitFor();

    const row = datasetRow('hh-sample');
    await row.waitFor();
    expect((await row.getByTestId('dataset-pairs').innerText()).trim()).toBe('3');
    // The first dataset is still there, unchanged.
    expect((await datasetRow('helpful-triples').getByTestId('dataset-examples').innerText()).trim()).toBe(String(TRIPLES));

    await row.getByTestId('dataset-open').click();
    await page.getByTestId('browser-title').filter({ hasText: 'hh-sample' }).waitFor();
    await page.getByTestId('tab-pairs').click();
    await page.getByTestId('page-range').filter({ hasText: '1–3 of 3' }).waitFor();
    expect(await page.getByTestId('pair-row').count()).toBe(3);

    await page.getByTestId('pair-row').filter({ hasText: 'capital of France' }).getByTestId('pair-open').click();
    const dialog = page.getByTestId('item-dialog');
    await dialog.waitFor();
    expect(await dialog.getByTestId('item-prompt').innerText()).toContain('What is the capital of France?');
    const chosen = await dialog.getByTestId('item-chosen').innerText();
    const rejected = await dialog.getByTestId('item-rejected').innerText();
    expect(chosen).toContain('Paris is the capital of France.');
    expect(chosen).not.toContain('I would rather not say.');
    expect(rejected).toContain('I would rather not say.');
    expect(rejected).not.toContain('Paris');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await page.getByTestId('browser-close').click();
  });

  it('names the line and field of a malformed file and leaves the datasets as they were', async () => {
    const rowsBefore = await page.getByTestId('dataset-row').allInnerTexts();
    expect(rowsBefore).toHaveLength(2);

    const listed = page.waitForResponse((response) => response.url().endsWith('/api/call/datasets.list'));
    await importFile('broken.jsonl');
    const error = page.getByTestId('import-error');
    await error.waitFor();

    const issue = page.getByTestId('import-issue').filter({ has: page.getByTestId('issue-field').filter({ hasText: 'reward' }) });
    await issue.first().waitFor();
    expect((await issue.first().getByTestId('issue-line').innerText()).trim()).toBe('2');

    // The list is fetched again after every import; it must come back the same.
    const after = (await (await listed).json()) as Array<{ name: string }>;
    expect(after.map((dataset) => dataset.name).sort()).toEqual(['helpful-triples', 'hh-sample']);
    expect(await page.getByTestId('dataset-row').allInnerTexts()).toEqual(rowsBefore);

    // The form keeps the file and name, ready to retry.
    expect(await page.getByTestId('import-name').inputValue()).toBe('broken');
    expect(await page.getByTestId('import-submit').isEnabled()).toBe(true);
  });

  it('logged no console errors and no CSP violations', () => {
    expect(consoleErrors).toEqual([]);
  });
});
