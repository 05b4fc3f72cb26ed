/**
 * The Models screen end to end: the real HTTP server (out/main/server.js) on a fresh project whose
 * dataset the `alol` command imported first, the built UI (out/renderer) in Chromium. A tiny model
 * is created, listed, tokenized, generated from, exported, and imported back, all through the UI;
 * the same calls made directly over HTTP are the oracle for what the UI shows. Needs
 * `npm run build` first, and Chromium (apt-get install chromium).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tensorBackendNames, Generation, methods, type Job } from '../../src/shared/contract';
import { cli, startStudio, type Studio } from './studio';

const TRIPLES = 300;
const TINY = { layers: 1, dim: 32, heads: 2, context: 64, vocab: 300 } as const;
const PROMPT = 'Question 7: what is 7 plus 7?';
const MAX_NEW_TOKENS = 8;
/** Creating a model trains a tokenizer and starts a tensor backend in a job process: give it room. */
const JOB_TIMEOUT = 120_000;

/** Short (prompt, response, reward) triples: enough text for a 300-token tokenizer to learn merges. */
function triplesFile(): string {
  const animals = ['cat', 'dog', 'horse', 'sparrow', 'otter', 'lizard'];
  const lines: string[] = [];
  for (let i = 1; i <= TRIPLES; i++) {
    const animal = animals[i % animals.length] ?? 'cat';
    lines.push(
      JSON.stringify({
        prompt: `Question ${i}: what is ${i} plus ${i}?`,
        response: `The answer is ${2 * i}. A ${animal} would count it on its paws.`,
        reward: (i % 10) / 10,
      }),
    );
  }
  return lines.join('\n') + '\n';
}

/** GPT-2's parameter count, LM head tied to the token embeddings (as in a Hugging Face checkpoint). */
function gpt2Parameters(shape: { vocab: number; context: number; dim: number; layers: number }): number {
  const { vocab, context, dim: d, layers } = shape;
  return vocab * d + context * d + layers * (12 * d * d + 13 * d) + 2 * d;
}

/** A `model new --arch llama` model's count: tied embeddings, no biases, per layer q, k, v, o, gate, up, down and two norms, then the final norm. */
function llamaParameters(s: {
  vocab: number;
  dim: number;
  layers: number;
  heads: number;
  kvHeads: number;
  ffn: number;
}): number {
  const kv = s.kvHeads * (s.dim / s.heads);
  return s.vocab * s.dim + s.layers * (2 * s.dim * s.dim + 2 * s.dim * kv + 3 * s.dim * s.ffn + 2 * s.dim) + s.dim;
}

/** How the page (locale en-US) writes a parameter count at a glance: three significant digits and a unit. */
function compactCount(value: number): string {
  const three = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 3 });
  for (const [size, unit] of [
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'k'],
  ] as const) {
    if (Number(value.toPrecision(3)) >= size) return `${three.format(value / size)}${unit}`;
  }
  return value.toLocaleString('en-US');
}

describe('Models screen', () => {
  let studio: Studio | null = null;
  let projectDir = '';
  let exportDir = '';
  let page: Page;
  let consoleErrors: string[] = [];
  let api: Studio['api'];

  /** Asks the backend until the job has ended, and returns how it ended. */
  async function finishedJob(jobId: number): Promise<Job> {
    await expect
      .poll(async () => (await api('jobs.get', { jobId })).status, {
        message: `job ${jobId} still running`,
        timeout: JOB_TIMEOUT,
        interval: 250,
      })
      .not.toBe('running');
    return api('jobs.get', { jobId });
  }

  function modelRow(name: string) {
    return page.locator(`[data-testid="model-row"][data-model="${name}"]`);
  }

  beforeAll(async () => {
    exportDir = await mkdtemp(join(tmpdir(), 'alol-e2e-export-'));
    studio = await startStudio({
      prefix: 'alol-e2e-models-',
      before: async (dir) => {
        const dataFile = join(dir, 'demo.jsonl');
        await writeFile(dataFile, triplesFile());
        // The dataset arrives through the command line, before the page opens, as a person might do it.
        cli(dir, ['import', dataFile, '--name', 'demo']);
      },
    });
    ({ projectDir, page, consoleErrors, api } = studio);
    await page.getByTestId('project-dir').filter({ hasText: projectDir }).waitFor();
  });

  afterAll(async () => {
    await studio?.close();
    if (exportDir) await rm(exportDir, { recursive: true, force: true });
  });

  it('opens on no models, with the tensor backend the studio runs them on and why', async () => {
    await page.getByTestId('nav-models').click();
    await page.getByTestId('models-empty').waitFor();
    await page.getByTestId('try-empty').waitFor();

    const info = await api('app.info', {});
    const chosen = (await page.getByTestId('models-backend-chosen').innerText()).trim();
    expect(tensorBackendNames).toContain(chosen);
    expect(chosen).toBe(info.tensorBackend.chosen);
    expect(await page.getByTestId('models-backend-reason').innerText()).toContain(info.tensorBackend.reason);
  });

  it('offers the contract defaults and refuses a shape the contract refuses', async () => {
    const form = page.getByTestId('create-form');
    await expect.poll(() => page.getByTestId('create-dataset').inputValue()).toBe('demo');
    const defaults = methods['models.create'].input.parse({ name: 'x', dataset: 'demo' });
    for (const key of ['layers', 'dim', 'heads', 'context', 'vocab', 'seed'] as const) {
      expect(Number(await form.getByTestId(`create-${key}`).inputValue())).toBe(defaults[key]);
    }

    await form.getByTestId('create-name').fill('tiny');
    await form.getByTestId('create-heads').fill('3');
    await form.locator('#create-dim-hint').filter({ hasText: 'dim must be a multiple of heads' }).waitFor();
    expect(await form.getByTestId('create-dim').getAttribute('aria-invalid')).toBe('true');
    expect(await form.getByTestId('create-submit').isDisabled()).toBe(true);

    await form.getByTestId('create-vocab').fill('100');
    await form.locator('#create-vocab-hint').filter({ hasText: 'at least 260' }).waitFor();
  });

  it(
    'creates a tiny model from the imported dataset and lists it with its parameter count',
    async () => {
      const form = page.getByTestId('create-form');
      await form.getByTestId('create-name').fill('tiny');
      for (const [key, value] of Object.entries(TINY)) await form.getByTestId(`create-${key}`).fill(String(value));
      expect(await form.getByTestId('create-dim').getAttribute('aria-invalid')).toBe('false');

      const request = page.waitForRequest((r) => r.url().endsWith('/api/call/models.create'));
      await form.getByTestId('create-submit').click();
      expect((await request).postDataJSON()).toEqual({ name: 'tiny', dataset: 'demo', arch: 'gpt2', seed: 0, ...TINY });

      await page.getByTestId('create-result').filter({ hasText: 'tiny' }).waitFor({ timeout: JOB_TIMEOUT });
      const row = modelRow('tiny');
      await row.waitFor();

      const [model] = await api('models.list', {});
      if (!model) throw new Error('models.list is empty after the UI created a model');
      expect(model.name).toBe('tiny');
      expect(model.shape).toMatchObject({ layers: 1, dim: 32, heads: 2, context: 64 });
      expect(model.shape.vocab).toBeLessThanOrEqual(TINY.vocab);
      expect(model.parameters).toBe(gpt2Parameters(model.shape));

      const parameters = row.getByTestId('model-parameters');
      expect((await parameters.innerText()).trim()).toBe(compactCount(model.parameters));
      expect(await parameters.getAttribute('title')).toBe(`${model.parameters.toLocaleString('en-US')} parameters`);
      expect((await row.getByTestId('model-origin').innerText()).trim()).toBe('created');
      expect(model.shape).toMatchObject({ family: 'gpt2', kvHeads: 2, ffn: 128 });
      expect((await row.getByTestId('model-family').innerText()).trim()).toBe('GPT-2');
      expect((await row.getByTestId('model-dtype').innerText()).trim()).toBe('F32');
      expect((await row.getByTestId('model-context').innerText()).trim()).toBe('64');
      expect((await row.getByTestId('model-chat-template').innerText()).trim()).toBe('no');
      const shape = await row.getByTestId('model-shape').innerText();
      expect(shape).toContain('1 × 32');
      expect(shape).toContain('2 heads, context 64');
      expect(await row.getByTestId('model-tokenizer').innerText()).toBe(model.tokenizer);
      expect(await row.getByTestId('model-source').innerText()).toContain('demo');
    },
    JOB_TIMEOUT + 30_000,
  );

  it(
    'creates a Llama model with grouped-query attention and lists its family, dtype and shape',
    async () => {
      const form = page.getByTestId('create-form');
      expect(await form.getByTestId('create-kvHeads').count()).toBe(0);
      await form.getByTestId('create-arch').selectOption('llama');
      await form.getByTestId('create-name').fill('tiny llama');
      await form.getByTestId('create-heads').fill('4');
      // kvHeads must divide heads: the contract's refusal shows under the field.
      await form.getByTestId('create-kvHeads').fill('3');
      await form.locator('#create-kvHeads-hint').filter({ hasText: 'heads must be a multiple of kvHeads' }).waitFor();
      expect(await form.getByTestId('create-submit').isDisabled()).toBe(true);
      await form.getByTestId('create-kvHeads').fill('2');
      await form.getByTestId('create-estimate').filter({ hasText: 'parameters' }).waitFor();

      const request = page.waitForRequest((r) => r.url().endsWith('/api/call/models.create'));
      await form.getByTestId('create-submit').click();
      expect((await request).postDataJSON()).toEqual({
        name: 'tiny llama',
        dataset: 'demo',
        arch: 'llama',
        seed: 0,
        ...TINY,
        heads: 4,
        kvHeads: 2,
      });
      await page.getByTestId('create-result').filter({ hasText: 'tiny llama' }).waitFor({ timeout: JOB_TIMEOUT });
      const row = modelRow('tiny llama');
      await row.waitFor();
      const model = (await api('models.list', {})).find((m) => m.name === 'tiny llama');
      if (!model) throw new Error('models.list lacks the Llama model the UI created');
      expect(model.shape).toMatchObject({ family: 'llama', layers: 1, dim: 32, heads: 4, kvHeads: 2, ffn: 88 });
      expect(model.parameters).toBe(llamaParameters(model.shape));
      expect((await row.getByTestId('model-parameters').innerText()).trim()).toBe(compactCount(model.parameters));
      expect((await row.getByTestId('model-family').innerText()).trim()).toBe('Llama');
      expect((await row.getByTestId('model-dtype').innerText()).trim()).toBe('F32');
      expect((await row.getByTestId('model-context').innerText()).trim()).toBe('64');
      expect((await row.getByTestId('model-chat-template').innerText()).trim()).toBe('no');
      expect(await row.getByTestId('model-shape').innerText()).toContain('4 heads (2 kv), context 64');
      // Back to GPT-2 for what follows; the Llama fields go with it.
      await form.getByTestId('create-arch').selectOption('gpt2');
      await form.getByTestId('create-heads').fill(String(TINY.heads));
      expect(await form.getByTestId('create-kvHeads').count()).toBe(0);
    },
    JOB_TIMEOUT + 30_000,
  );

  it('counts and lists the tokens of a prompt as it is typed', async () => {
    const form = page.getByTestId('try-form');
    expect(await form.getByTestId('try-model').inputValue()).toBe('tiny');
    await form.getByTestId('try-prompt').click();
    await page.keyboard.type(PROMPT);

    const expected = await api('models.tokenize', { model: 'tiny', text: PROMPT });
    expect(expected.ids.length).toBeGreaterThan(0);
    await form
      .getByTestId('token-count')
      .filter({ hasText: new RegExp(`^${expected.ids.length}$`) })
      .waitFor();
    await expect.poll(() => form.getByTestId('token').count()).toBe(expected.ids.length);
    const first = (await form.getByTestId('token').first().innerText()).replace(/\s+/g, '');
    expect(first).toBe(`${(expected.tokens[0] ?? '').replace(/ /g, '·')}${expected.ids[0]}`);

    // Emptied, the count follows.
    await form.getByTestId('try-prompt').fill('');
    await form.getByTestId('token-count').filter({ hasText: /^0$/ }).waitFor();
    await form.getByTestId('try-prompt').fill(PROMPT);
    await form
      .getByTestId('token-count')
      .filter({ hasText: new RegExp(`^${expected.ids.length}$`) })
      .waitFor();
  });

  it(
    'generates greedily and shows the response, whitespace kept, and why it stopped',
    async () => {
      const form = page.getByTestId('try-form');
      expect(await form.getByTestId('try-greedy').isChecked()).toBe(true);
      expect(await form.getByTestId('try-temperature').isDisabled()).toBe(true);
      await form.getByTestId('try-maxNewTokens').fill(String(MAX_NEW_TOKENS));

      const request = page.waitForRequest((r) => r.url().endsWith('/api/call/models.generate'));
      await form.getByTestId('try-submit').click();
      const sent = methods['models.generate'].input.parse((await request).postDataJSON());
      expect(sent).toMatchObject({
        model: 'tiny',
        prompts: [PROMPT],
        settings: { greedy: true, maxNewTokens: MAX_NEW_TOKENS },
      });

      const generation = page.getByTestId('generation');
      await generation.waitFor({ timeout: JOB_TIMEOUT });

      // Greedy decoding is deterministic: the same request over HTTP must give the same text.
      const { jobId } = await api('models.generate', {
        model: 'tiny',
        prompts: [PROMPT],
        settings: { greedy: true, maxNewTokens: MAX_NEW_TOKENS },
      });
      const job = await finishedJob(jobId);
      expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
      const [expected] = Generation.array().parse(job.result?.generations);
      if (!expected) throw new Error('the generate job returned no generation');

      const reason = (await generation.getByTestId('finish-reason').innerText()).trim();
      expect(reason).toBe(expected.finishReason);
      expect(expected.ids.length).toBeLessThanOrEqual(MAX_NEW_TOKENS);
      if (reason === 'length') expect(expected.ids.length).toBe(MAX_NEW_TOKENS);
      const response = generation.getByTestId('generation-response');
      expect(await response.textContent()).toBe(expected.response);
      expect(await generation.getByTestId('generation-prompt').textContent()).toBe(PROMPT);
      expect(
        await response.evaluate((element) => element.ownerDocument.defaultView?.getComputedStyle(element).whiteSpace),
      ).toBe('pre-wrap');
      expect(await generation.getByTestId('generation-tokens').innerText()).toContain(String(expected.ids.length));
    },
    JOB_TIMEOUT * 2 + 30_000,
  );

  it('exports the model as a Hugging Face folder, and refuses to overwrite one', async () => {
    const destination = join(exportDir, 'tiny-hf');
    const row = modelRow('tiny');
    await row.getByTestId('model-export-toggle').click();
    const form = page.getByTestId('export-form');
    await form.waitFor();
    // The form takes the keyboard at once: typing goes to the destination field.
    await page.keyboard.type(destination);
    expect(await form.getByTestId('export-path').inputValue()).toBe(destination);
    await page.keyboard.press('Enter');

    await form.getByTestId('export-result').waitFor();
    expect(await form.getByTestId('export-folder').innerText()).toBe(destination);
    const files = (await form.getByTestId('export-file').allInnerTexts()).map((file) => file.trim());
    for (const file of ['config.json', 'model.safetensors', 'tokenizer.json']) {
      expect(files).toContain(file);
      expect(existsSync(join(destination, file)), `${file} in ${destination}`).toBe(true);
    }

    await form.getByTestId('export-submit').click();
    await form.getByTestId('export-error').filter({ hasText: 'already holds a model' }).waitFor();

    // Escape closes the form and gives the keyboard back to the row's button.
    await form.getByTestId('export-path').press('Escape');
    await form.waitFor({ state: 'detached' });
    expect(await row.getByTestId('model-export-toggle').evaluate((button) => button.matches(':focus'))).toBe(true);
  });

  it(
    'imports the exported folder back as a second model',
    async () => {
      const form = page.getByTestId('model-import-form');
      await form.getByTestId('model-import-path').fill('relative/tiny-hf');
      await form.getByTestId('model-import-name').fill('tiny copy');
      await form.locator('#model-import-path-hint').filter({ hasText: 'absolute' }).waitFor();
      expect(await form.getByTestId('model-import-submit').isDisabled()).toBe(true);

      await form.getByTestId('model-import-path').fill(join(exportDir, 'tiny-hf'));
      await form.getByTestId('model-import-submit').click();
      await page.getByTestId('model-import-result').filter({ hasText: 'tiny copy' }).waitFor({ timeout: JOB_TIMEOUT });

      const copy = modelRow('tiny copy');
      await copy.waitFor();
      expect((await copy.getByTestId('model-origin').innerText()).trim()).toBe('imported');
      const models = await api('models.list', {});
      const [original, imported] = ['tiny', 'tiny copy'].map((name) => models.find((model) => model.name === name));
      expect(imported?.parameters).toBe(original?.parameters);
      expect((await copy.getByTestId('model-parameters').innerText()).trim()).toBe(
        compactCount(imported?.parameters ?? -1),
      );

      // A folder that holds no model fails the job, shown like a failed dataset import.
      await form.getByTestId('model-import-path').fill(exportDir);
      await form.getByTestId('model-import-name').fill('nothing');
      await form.getByTestId('model-import-submit').click();
      await page.getByTestId('model-import-error').waitFor({ timeout: JOB_TIMEOUT });
      expect(await page.getByTestId('model-import-error-message').innerText()).not.toBe('');
      expect(await modelRow('nothing').count()).toBe(0);
    },
    JOB_TIMEOUT * 2 + 30_000,
  );

  it('logged no console errors and no CSP violations but the one refused export it provoked', () => {
    // Chromium logs every HTTP error answer; the export over an existing model is refused with 409 on purpose.
    const provoked =
      /^Failed to load resource: the server responded with a status of 409 \(Conflict\) \(http:\/\/127\.0\.0\.1:\d+\/api\/call\/models\.export\)$/;
    expect(consoleErrors.filter((line) => provoked.test(line))).toHaveLength(1);
    expect(consoleErrors.filter((line) => !provoked.test(line))).toEqual([]);
  });
});
