/**
 * The Data screen end to end: the real HTTP server (out/main/server.js) on a fresh project folder,
 * the built UI (out/renderer) in Chromium, driven through its file input like a person would.
 * Assertions read visible text. Needs `npm run build` first, and Chromium (apt-get install chromium).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStudio, type Studio } from './studio';

const TRIPLES = 120;

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
  return (
    pairs
      .map(([question = '', chosen = '', rejected = '']) =>
        JSON.stringify({ chosen: turn(question, chosen), rejected: turn(question, rejected) }),
      )
      .join('\n') + '\n'
  );
}

function brokenFile(): string {
  return (
    [
      JSON.stringify({ prompt: 'Fine prompt', response: 'Fine response', reward: 0.5 }),
      JSON.stringify({ prompt: 'Second prompt', response: 'Second response', reward: 'lots' }),
      JSON.stringify({ prompt: 'Third prompt', response: 'Third response', reward: 1 }),
    ].join('\n') + '\n'
  );
}

describe('Data screen', () => {
  let studio: Studio | null = null;
  let projectDir = '';
  let page: Page;
  let consoleErrors: string[] = [];

  beforeAll(async () => {
    studio = await startStudio({
      prefix: 'alol-e2e-',
      before: async (dir) => {
        await writeFile(join(dir, 'helpful-triples.jsonl'), triplesFile());
        await writeFile(join(dir, 'hh-sample.jsonl'), hhFile());
        await writeFile(join(dir, 'broken.jsonl'), brokenFile());
      },
      page: { viewport: { width: 1280, height: 900 } },
    });
    ({ projectDir, page, consoleErrors } = studio);
  });

  afterAll(async () => {
    await studio?.close();
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
    expect(['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu']).toContain(chosen);
    await page.getByTestId('backend').locator('summary').click();
    await page.getByTestId('backend-candidates').waitFor();
    await page.getByTestId('datasets-empty').waitFor();

    // The token now lives in localStorage: a reload still reaches the backend.
    await page.reload();
    await page.getByTestId('project-dir').filter({ hasText: projectDir }).waitFor();
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
    expect(await dialog.getByTestId('item-response').innerText()).toBe(
      'The answer is 102.\n\nBecause 51 and 51 make 102.',
    );
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
    expect((await datasetRow('helpful-triples').getByTestId('dataset-examples').innerText()).trim()).toBe(
      String(TRIPLES),
    );

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

    const issue = page
      .getByTestId('import-issue')
      .filter({ has: page.getByTestId('issue-field').filter({ hasText: 'reward' }) });
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
