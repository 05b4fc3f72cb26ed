/**
 * The Runs screen end to end: the real HTTP server (out/main/server.js) on a fresh project whose
 * demo dataset and tiny base model the `alol` command made first, the built UI (out/renderer) in
 * Chromium. Through the UI: an nll run is started from a form built from the contract's RunConfig,
 * followed step by step, cancelled, resumed to its end, and its model found on the Models screen;
 * then an A-LoL run from that model shows its own metric charts and the value-head report. The same
 * calls made directly over HTTP are the oracle for what the page shows. Needs `npm run build`
 * first, and Chromium (apt-get install chromium).
 */
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { algos, RunConfig } from '../../src/shared/contract';
import { hyperparameters } from '../../src/shared/algorithms';
import { cli, startStudio, type Studio } from './studio';

/** A training job loads the model, maybe fits a value head, then trains: give it room. */
const RUN_TIMEOUT = 180_000;

/** How the page (locale en-US) writes a share: "80.6%". */
function percent(value: number): string {
  return new Intl.NumberFormat('en-US', { style: 'percent', maximumFractionDigits: 1 }).format(value);
}

describe('Runs screen', () => {
  let studio: Studio | null = null;
  let projectDir = '';
  let page: Page;
  let consoleErrors: string[] = [];
  let api: Studio['api'];
  /** The nll run's id, followed from its start to its end across the tests below. */
  let sftRun = 0;

  function chart(id: string): Locator {
    return page.locator(`[data-testid="run-chart"][data-chart="${id}"]`);
  }

  async function points(locator: Locator): Promise<number> {
    return Number(await locator.getAttribute('data-points'));
  }

  async function shownStep(): Promise<number> {
    return Number((await page.getByTestId('run-step').innerText()).replace(/,/g, ''));
  }

  function status(value: string): Locator {
    return page.locator(`[data-testid="run-status"][data-status="${value}"]`);
  }

  /** Opens the "New run" form unless it is open already. */
  async function openForm(): Promise<Locator> {
    const form = page.getByTestId('run-form');
    if (!(await form.isVisible())) await page.getByTestId('runs-new').click();
    await form.waitFor();
    return form;
  }

  beforeAll(async () => {
    studio = await startStudio({
      prefix: 'alol-e2e-runs-',
      // The data and the first model arrive through the command line, before the page opens.
      before: (dir) => {
        cli(dir, ['demo', 'data', '--name', 'demo', '--prompts', '20']);
        cli(dir, [
          'model',
          'new',
          '--name',
          'base',
          '--data',
          'demo',
          '--layers',
          '1',
          '--dim',
          '32',
          '--heads',
          '2',
          '--context',
          '128',
          '--vocab',
          '300',
        ]);
      },
    });
    ({ projectDir, page, consoleErrors, api } = studio);
    await page.getByTestId('project-dir').filter({ hasText: projectDir }).waitFor();
  });

  afterAll(async () => {
    await studio?.close();
  });

  it('opens on no runs, with the form built from RunConfig: its defaults, help lines and the algorithm’s own fields', async () => {
    await page.getByTestId('nav-runs').click();
    await page.getByTestId('runs-empty').waitFor();
    const form = await openForm();

    // Every algorithm of the contract, each with its line of what it does.
    const options = await form
      .getByTestId('run-algo')
      .locator('option')
      .evaluateAll((nodes) => nodes.map((node) => node.getAttribute('value')));
    expect([...options].sort()).toEqual([...algos].sort());
    expect(await form.getByTestId('run-algo').inputValue()).toBe('nll');
    const nllLine = await form.getByTestId('run-algo-summary').innerText();
    expect(nllLine).toContain('Behaviour cloning');

    // The project's dataset and model, read from datasets.list and models.list.
    await expect.poll(() => form.getByTestId('run-data').inputValue()).toBe('demo');
    await expect.poll(() => form.getByTestId('run-init').inputValue()).toBe('base');
    expect(await form.getByTestId('run-out').inputValue()).toBe('base-nll');

    // Defaults and help lines come from the schema.
    const defaults = RunConfig.parse({ algo: 'nll', data: 'demo', init: 'base', out: 'x' });
    for (const key of ['steps', 'batch', 'lr'] as const) {
      expect(Number(await form.getByTestId(`run-${key}`).inputValue()), key).toBe(defaults[key]);
      const description = RunConfig.shape[key].description ?? '';
      expect(description).not.toBe('');
      expect((await form.locator(`#run-${key}-hint`).innerText()).toLowerCase()).toContain(description.toLowerCase());
    }
    // nll has no reward, no importance weight, no value head.
    for (const key of ['reward', 'eps', 'beta', 'klBeta', 'valueEpochs'])
      expect(await form.getByTestId(`run-${key}`).count(), key).toBe(0);
    expect(await form.getByTestId('run-ref').count()).toBe(0);

    // The rest waits under "Advanced".
    expect(await form.getByTestId('run-checkpointEvery').isVisible()).toBe(false);
    await form.getByTestId('run-advanced').locator('summary').click();
    expect(Number(await form.getByTestId('run-checkpointEvery').inputValue())).toBe(defaults.checkpointEvery);
    expect(await form.getByTestId('run-schedule').inputValue()).toBe(defaults.schedule);
    expect(await form.getByTestId('run-warmup').count()).toBe(0);
    await form.getByTestId('run-schedule').selectOption('cosine');
    expect(Number(await form.getByTestId('run-warmup').inputValue())).toBe(defaults.warmup);
    await form.getByTestId('run-schedule').selectOption('constant');

    // a_lol brings its reward, clip and value-head fields; dpo its beta; each with its own line.
    await form.getByTestId('run-algo').selectOption('a_lol');
    expect(await form.getByTestId('run-algo-summary').innerText()).not.toBe(nllLine);
    expect(await form.getByTestId('run-out').inputValue()).toBe('base-a_lol');
    // The hyperparameters' defaults are the algorithm table's (an nll config has none).
    expect(defaults).not.toHaveProperty('eps');
    expect(Number(await form.getByTestId('run-eps').inputValue())).toBe(hyperparameters.eps.default);
    expect(await form.getByTestId('run-klBeta').count()).toBe(0);
    expect(await form.getByTestId('run-reward').inputValue()).toBe(defaults.reward);
    expect(Number(await form.getByTestId('run-valueEpochs').inputValue())).toBe(defaults.valueEpochs);
    await form.getByTestId('run-ref').waitFor();
    await form.getByTestId('run-algo').selectOption('dpo');
    expect(Number(await form.getByTestId('run-beta').inputValue())).toBe(hyperparameters.beta.default);
    expect(await form.getByTestId('run-eps').count()).toBe(0);
    // dpo takes the pairs themselves: no choice of their responses.
    expect(await form.getByTestId('run-pairs').count()).toBe(0);

    // The demo data holds pairs too: a single-response run may train on their responses instead,
    // each with its own reward; the pairs' label, not the examples' column.
    await form.getByTestId('run-algo').selectOption('a_lol');
    expect(await form.getByTestId('run-pairs').inputValue()).toBe('');
    await form.getByTestId('run-pairs').selectOption('both');
    await form.locator('#run-reward-hint').filter({ hasText: 'pairs carry no reward column' }).waitFor();
    expect(await form.getByTestId('run-submit').isDisabled()).toBe(true);
    await form.getByTestId('run-reward').fill('label');
    await form
      .locator('#run-reward-hint')
      .filter({ hasText: /label \(with pairs: chosen 1, rejected 0\)/ })
      .waitFor();
    await expect.poll(() => form.getByTestId('run-submit').isDisabled()).toBe(false);
    await form.getByTestId('run-value-settings').filter({ hasText: 'the pairs’ labels' }).waitFor();
    await form.getByTestId('run-pairs').selectOption('');
    await form.locator('#run-reward-hint').filter({ hasText: 'label is a pair’s own label' }).waitFor();
    await form.getByTestId('run-reward').fill(defaults.reward);
    await form.getByTestId('run-algo').selectOption('nll');

    // A value the contract refuses is named, and the form cannot be sent.
    await form.getByTestId('run-steps').fill('0');
    await form.locator('#run-steps-hint').filter({ hasText: 'at least 1' }).waitFor();
    expect(await form.getByTestId('run-steps').getAttribute('aria-invalid')).toBe('true');
    expect(await form.getByTestId('run-submit').isDisabled()).toBe(true);
    await form.getByTestId('run-steps').fill('');
    await form.locator('#run-steps-hint').filter({ hasText: 'required' }).waitFor();
    expect(await form.getByTestId('run-submit').isDisabled()).toBe(true);
  });

  it(
    'starts an nll run, follows its step counter and loss chart as they grow, and cancels it',
    async () => {
      const form = await openForm();
      await form.getByTestId('run-algo').selectOption('nll');
      await form.getByTestId('run-steps').fill('30');
      await form.getByTestId('run-batch').fill('4');
      if (!(await form.getByTestId('run-checkpointEvery').isVisible()))
        await form.getByTestId('run-advanced').locator('summary').click();
      await form.getByTestId('run-checkpointEvery').fill('5');
      await form.getByTestId('run-out').fill('sft');

      const request = page.waitForRequest((r) => r.url().endsWith('/api/call/runs.start'));
      await form.getByTestId('run-submit').click();
      const sent: unknown = (await request).postDataJSON();
      expect(sent).toEqual(
        RunConfig.parse({
          algo: 'nll',
          data: 'demo',
          init: 'base',
          out: 'sft',
          steps: 30,
          batch: 4,
          checkpointEvery: 5,
        }),
      );
      // Only the hyperparameters the algorithm uses are sent: the contract refuses the others.
      for (const key of ['eps', 'beta', 'klBeta']) expect(sent, key).not.toHaveProperty(key);

      // The run's page opens at once.
      const runPage = page.getByTestId('run-page');
      await runPage.waitFor();
      sftRun = Number(await runPage.getAttribute('data-run'));
      expect(sftRun).toBeGreaterThan(0);
      await status('running').waitFor();
      expect(await page.getByTestId('run-cancel').isEnabled()).toBe(true);

      // Step by step: the counter and the loss chart grow while the run goes.
      const loss = chart('loss');
      await loss.waitFor({ timeout: RUN_TIMEOUT });
      const firstPoints = await points(loss);
      const firstStep = await shownStep();
      expect(firstPoints).toBeGreaterThan(0);
      await expect.poll(() => points(loss), { timeout: 30_000, interval: 10 }).toBeGreaterThan(firstPoints);
      await expect.poll(shownStep, { timeout: 30_000, interval: 10 }).toBeGreaterThan(firstStep);
      expect(await page.getByTestId('run-total').innerText()).toBe('30');
      expect(await loss.locator('path.line').getAttribute('d')).toMatch(/^M[\d.]+ [\d.]+( L[\d.]+ [\d.]+)+$/);

      await page.getByTestId('run-cancel').click();
      await status('cancelled').waitFor({ timeout: RUN_TIMEOUT });
      await page.getByTestId('run-error').filter({ hasText: 'Cancelled by the user' }).waitFor();
      await page.getByTestId('run-resume').waitFor();

      // What the page shows is what the backend holds.
      const run = await api('runs.get', { runId: sftRun });
      expect(run.status).toBe('cancelled');
      await expect.poll(shownStep).toBe(run.step);
      // The backend it computed on (one: it was not resumed) and its last checkpoint, every 5 steps.
      expect(run.tensorBackends).toHaveLength(1);
      const checkpoint = run.step >= 5 ? Math.floor(run.step / 5) * 5 : null;
      expect(run.lastCheckpoint).toBe(checkpoint);
      const shown = checkpoint === null ? 'none' : `step ${checkpoint}`;
      await expect
        .poll(() => page.getByTestId('run-backend').innerText())
        .toMatch(new RegExp(`^Computed on ${run.tensorBackends[0]!.backend}\\b.*Last checkpoint: ${shown}\\.$`));
      const logged = await api('runs.metrics', { runId: sftRun, sinceStep: 0 });
      await expect.poll(() => points(loss)).toBe(logged.filter((row) => row.metrics.loss !== undefined).length);
    },
    RUN_TIMEOUT + 60_000,
  );

  it(
    'resumes the cancelled run to its end, and lists it and its model on the Models screen',
    async () => {
      const request = page.waitForRequest((r) => r.url().endsWith('/api/call/runs.resume'));
      await page.getByTestId('run-resume').click();
      expect((await request).postDataJSON()).toEqual({ runId: sftRun });
      await status('succeeded').waitFor({ timeout: RUN_TIMEOUT });

      const run = await api('runs.get', { runId: sftRun });
      expect(run.status).toBe('succeeded');
      expect(run.step).toBe(30);
      await expect.poll(shownStep).toBe(30);
      await expect.poll(() => points(chart('loss'))).toBe(30);
      for (const id of ['grad_norm', 'learning_rate']) expect(await points(chart(id)), id).toBe(30);
      expect(await page.getByTestId('run-summary-model').innerText()).toBe('sft');
      expect(await page.getByTestId('run-advantages').count()).toBe(0);
      expect(await page.getByTestId('run-cancel').count()).toBe(0);
      expect(await page.getByTestId('run-resume').count()).toBe(0);
      const config = page.locator(
        '[data-testid="run-config-row"][data-key="checkpointEvery"] [data-testid="run-config-value"]',
      );
      expect((await config.innerText()).trim()).toBe('5');
      // lora (an object or null) reads as words, not [object Object].
      const lora = page.locator('[data-testid="run-config-row"][data-key="lora"] [data-testid="run-config-value"]');
      expect((await lora.innerText()).trim()).toMatch(/^none \(full fine-tuning\)/);

      // A trained model is the natural start of the next run: the form opens on it, by the list that follows.
      await page.getByTestId('run-new-from').click();
      await page.getByTestId('run-form').waitFor();
      await expect.poll(() => page.getByTestId('run-init').inputValue()).toBe('sft');
      const row = page.locator(`[data-testid="run-row"][data-run="${sftRun}"]`);
      await row.locator('[data-testid="run-row-status"][data-status="succeeded"]').waitFor();
      expect((await row.getByTestId('run-row-step').innerText()).replace(/\s+/g, '')).toBe('30/30');
      expect(await row.getByTestId('run-row-algo').innerText()).toBe('nll');
      expect(await row.getByTestId('run-row-data').innerText()).toBe('demo');
      expect((await row.getByTestId('run-row-models').innerText()).replace(/\s+/g, ' ')).toBe('base → sft');
      const { tensorBackends } = await api('runs.get', { runId: sftRun });
      expect(await row.getByTestId('run-row-backend').innerText()).toBe(tensorBackends[0]!.backend);

      await page.getByTestId('nav-models').click();
      const model = page.locator('[data-testid="model-row"][data-model="sft"]');
      await model.waitFor();
      expect((await model.getByTestId('model-origin').innerText()).trim()).toBe('trained');
      await page.getByTestId('nav-runs').click();
    },
    RUN_TIMEOUT + 30_000,
  );

  it('refuses a model name that is taken, in the form or, when the form could not know, from the backend', async () => {
    const form = await openForm();
    await form.getByTestId('run-out').fill('sft');
    await form.locator('#run-out-hint').filter({ hasText: 'exists already' }).waitFor();
    expect(await form.getByTestId('run-submit').isDisabled()).toBe(true);

    // Made by the command line while the page is open: only the backend knows.
    cli(projectDir, [
      'model',
      'new',
      '--name',
      'taken',
      '--data',
      'demo',
      '--layers',
      '1',
      '--dim',
      '32',
      '--heads',
      '2',
      '--context',
      '128',
      '--vocab',
      '300',
    ]);
    await form.getByTestId('run-out').fill('taken');
    await form.getByTestId('run-submit').click();
    await page.getByTestId('run-start-error').filter({ hasText: 'exists already' }).waitFor();
    expect(await page.getByTestId('run-page').count()).toBe(0);
    expect((await api('runs.list', {})).length).toBe(1);
  });

  it(
    'runs a_lol from the trained model with the demo reward, and shows its A-LoL charts and value-head report',
    async () => {
      const form = await openForm();
      await form.getByTestId('run-algo').selectOption('a_lol');
      await form.getByTestId('run-init').selectOption('sft');
      await form.getByTestId('run-out').fill('alol');
      await form.getByTestId('run-reward').fill('demo');
      await form.getByTestId('run-valueEpochs').fill('2');
      await form.getByTestId('run-maxNewTokens').fill('16');
      await form.getByTestId('run-steps').fill('8');
      await form.getByTestId('run-batch').fill('4');

      const request = page.waitForRequest((r) => r.url().endsWith('/api/call/runs.start'));
      await form.getByTestId('run-submit').click();
      expect((await request).postDataJSON()).toEqual(
        RunConfig.parse({
          algo: 'a_lol',
          data: 'demo',
          init: 'sft',
          out: 'alol',
          reward: 'demo',
          valueEpochs: 2,
          maxNewTokens: 16,
          steps: 8,
          batch: 4,
          // Still set from the nll run: the form keeps its settings for the next run.
          checkpointEvery: 5,
        }),
      );

      const runPage = page.getByTestId('run-page');
      await runPage.waitFor();
      const runId = Number(await runPage.getAttribute('data-run'));
      expect(runId).not.toBe(sftRun);
      await status('succeeded').waitFor({ timeout: RUN_TIMEOUT });

      const run = await api('runs.get', { runId });
      expect(run.status).toBe('succeeded');
      // A-LoL takes the budget times the positive fraction.
      expect(run.totalSteps).toBeGreaterThan(0);
      expect(run.totalSteps).toBeLessThanOrEqual(8);
      await expect.poll(shownStep).toBe(run.step);
      expect(await page.getByTestId('run-total').innerText()).toBe(String(run.totalSteps));

      // The algorithm's own charts, each with every step.
      for (const id of [
        'loss',
        'alol/weight_mean',
        'alol/clipped',
        'alol/positive_fraction',
        'grad_norm',
        'learning_rate',
      ]) {
        await expect.poll(() => points(chart(id)), { message: id }).toBe(run.step);
      }
      expect(await chart('alol/clipped').locator('path.line').count()).toBe(2);
      expect(await chart('rewards/accuracies').count()).toBe(0);

      // The value-head report, as the run's summary has it.
      const advantages = (run.summary?.advantages ?? {}) as Record<string, unknown>;
      const report = page.getByTestId('run-advantages');
      await report.waitFor();
      expect(typeof advantages.positiveFraction).toBe('number');
      expect(await report.getByTestId('run-positive-fraction').innerText()).toBe(
        percent(Number(advantages.positiveFraction)),
      );
      expect(await report.getByTestId('run-value-targets').innerText()).toContain('demo');
      expect(await report.locator('[data-testid="run-value-fit"][data-key="bestEpoch"]').count()).toBe(1);
      expect(await page.getByTestId('run-summary-model').innerText()).toBe('alol');

      await page.getByTestId('runs-back').click();
      const row = page.locator(`[data-testid="run-row"][data-run="${runId}"]`);
      await row.locator('[data-testid="run-row-status"][data-status="succeeded"]').waitFor();
      expect((await row.getByTestId('run-row-models').innerText()).replace(/\s+/g, ' ')).toBe('sft → alol');
    },
    RUN_TIMEOUT + 60_000,
  );

  it('logged no console errors and no CSP violations but the one refused start it provoked', () => {
    // Chromium logs every HTTP error answer; the start over a taken name is refused with 409 on purpose.
    const provoked =
      /^Failed to load resource: the server responded with a status of 409 \(Conflict\) \(http:\/\/127\.0\.0\.1:\d+\/api\/call\/runs\.start\)$/;
    expect(consoleErrors.filter((line) => provoked.test(line))).toHaveLength(1);
    expect(consoleErrors.filter((line) => !provoked.test(line))).toEqual([]);
  });
});
