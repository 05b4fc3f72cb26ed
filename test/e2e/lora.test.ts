/**
 * LoRA and the prompt format in the studio, end to end: the real HTTP server (out/main/server.js) on
 * a fresh project whose demo data, GPT-2 model and Llama model the `alol` command made first, the
 * built UI (out/renderer) in Chromium at 1280 px. Through the run form: the "Adapters (LoRA)" toggle
 * with rank, alpha, dropout and target checkboxes validated by the contract and the start model's
 * family (GPT-2's fused q, k, v check together, it has no gate; a Llama takes each), the "Prompt
 * format" select (chat refused for a model without a chat template), then a LoRA run on GPT-2
 * started and finished. The Runs list, the run's page and the Models screen show it as base +
 * adapter (which base, r, alpha, targets, the adapter's folder), and every Models row's Export
 * button stays inside its row. The same calls made over HTTP are the oracle for what the page shows.
 */
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, startStudio, type Studio } from './studio';

/** A training job loads the model, then trains: give it room. */
const RUN_TIMEOUT = 180_000;

describe('LoRA in the studio', () => {
  let studio: Studio | null = null;
  let page: Page;
  let consoleErrors: string[] = [];
  let api: Studio['api'];
  let runId = 0;

  const target = (form: Locator, name: string): Locator =>
    form.locator(`[data-testid="run-lora-target"][data-target="${name}"]`);
  async function checkedTargets(form: Locator): Promise<string[]> {
    return form
      .locator('[data-testid="run-lora-target"]')
      .evaluateAll((nodes) =>
        nodes.filter((n) => (n as HTMLInputElement).checked).map((n) => n.getAttribute('data-target') ?? ''),
      );
  }

  beforeAll(async () => {
    studio = await startStudio({
      prefix: 'alol-e2e-lora-',
      before: (dir) => {
        cli(dir, ['demo', 'data', '--name', 'demo', '--prompts', '20']);
        const shape = ['--layers', '1', '--dim', '32', '--heads', '2', '--context', '128', '--vocab', '300'];
        cli(dir, ['model', 'new', '--name', 'base', '--data', 'demo', ...shape]);
        cli(dir, ['model', 'new', '--name', 'llama', '--arch', 'llama', '--data', 'demo', ...shape]);
      },
    });
    ({ page, consoleErrors, api } = studio);
    await page.getByTestId('project-dir').filter({ hasText: studio.projectDir }).waitFor();
  });

  afterAll(async () => {
    await studio?.close();
  });

  it(
    'the run form takes LoRA settings and a prompt format, checked by the contract and the model family',
    async () => {
      await page.getByTestId('nav-runs').click();
      const form = page.getByTestId('run-form');
      // With no runs yet the form is open already.
      await page.getByTestId('runs-empty').waitFor();
      if (!(await form.isVisible())) await page.getByTestId('runs-new').click();
      await expect.poll(() => form.getByTestId('run-init').inputValue()).toBe('base');

      // Off by default: full fine-tuning, and A-LoL offers another reference.
      await form.getByTestId('run-algo').selectOption('a_lol');
      expect(await form.getByTestId('run-lora').isChecked()).toBe(false);
      expect(await form.getByTestId('run-lora-hint').innerText()).toMatch(/full fine-tuning/);
      expect(await form.getByTestId('run-ref').count()).toBe(1);
      expect(await form.getByTestId('run-lora-r').count()).toBe(0);

      await form.getByTestId('run-lora').check();
      // The frozen start model is the reference: no other to choose.
      expect(await form.getByTestId('run-ref').count()).toBe(0);
      expect(await form.getByTestId('run-lora-hint').innerText()).toMatch(/base stays frozen and is the reference/);
      // PEFT's defaults; GPT-2's default targets are its c_attn: q, k and v.
      expect(Number(await form.getByTestId('run-lora-r').inputValue())).toBe(8);
      expect(Number(await form.getByTestId('run-lora-alpha').inputValue())).toBe(8);
      expect(Number(await form.getByTestId('run-lora-dropout').inputValue())).toBe(0);
      expect(await checkedTargets(form)).toEqual(['q', 'k', 'v']);
      expect(await target(form, 'gate').isDisabled()).toBe(true);
      expect(await form.getByTestId('run-lora-targets').innerText()).toMatch(/attn\.c_attn[\s\S]*mlp\.c_proj/);
      // q, k and v are one fused c_attn on GPT-2: they go off and on together.
      await target(form, 'k').uncheck();
      expect(await checkedTargets(form)).toEqual([]);
      expect(await form.locator('#run-lora-targets-hint').innerText()).toBe('choose at least one projection');
      expect(await form.getByTestId('run-submit').isDisabled()).toBe(true);
      await target(form, 'v').check();
      await target(form, 'down').check();
      expect(await checkedTargets(form)).toEqual(['q', 'k', 'v', 'down']);

      // The contract's bounds, in the form's words.
      await form.getByTestId('run-lora-r').fill('0');
      expect(await form.locator('#run-lora-r-hint').innerText()).toBe('at least 1');
      expect(await form.getByTestId('run-submit').isDisabled()).toBe(true);
      await form.getByTestId('run-lora-dropout').fill('1');
      expect(await form.locator('#run-lora-dropout-hint').innerText()).toBe('less than 1');
      await form.getByTestId('run-lora-dropout').fill('0');
      await form.getByTestId('run-lora-r').fill('4');
      await form.getByTestId('run-lora-alpha').fill('16');

      // A Llama start model: each projection on its own, gate too, PEFT's q,v by default.
      await form.getByTestId('run-init').selectOption('llama');
      expect(await checkedTargets(form)).toEqual(['q', 'v']);
      expect(await target(form, 'gate').isDisabled()).toBe(false);
      await target(form, 'k').check();
      expect(await checkedTargets(form)).toEqual(['q', 'k', 'v']);
      await target(form, 'q').uncheck();
      expect(await checkedTargets(form)).toEqual(['k', 'v']);
      expect(await form.getByTestId('run-lora-targets').innerText()).toMatch(/self_attn\.q_proj[\s\S]*mlp\.gate_proj/);
      await form.getByTestId('run-init').selectOption('base');
      expect(await checkedTargets(form)).toEqual(['q', 'k', 'v']);
      await target(form, 'down').check();

      // The prompt format: the model's default, or chat, refused for a model without a chat template.
      const format = form.getByTestId('run-format');
      expect(await format.inputValue()).toBe('');
      expect(await format.locator('option').first().innerText()).toBe('default: raw for base');
      await format.selectOption('chat');
      expect(await form.locator('#run-format-hint').innerText()).toBe('base has no chat template: use raw');
      expect(await form.getByTestId('run-submit').isDisabled()).toBe(true);
      await format.selectOption('raw');

      await form.getByTestId('run-algo').selectOption('nll');
      await form.getByTestId('run-steps').fill('2');
      await form.getByTestId('run-batch').fill('2');
      await form.getByTestId('run-out').fill('base-lora');
      expect(await form.getByTestId('run-submit').isDisabled()).toBe(false);
      await form.getByTestId('run-submit').click();

      await expect.poll(async () => (await api('runs.list', {})).length).toBe(1);
      const [run] = await api('runs.list', {});
      runId = run!.id;
      expect(run!.config.lora).toEqual({ r: 4, alpha: 16, dropout: 0, targets: ['q', 'k', 'v', 'down'] });
      expect(run!.config.format).toBe('raw');
      await expect
        .poll(async () => (await api('runs.get', { runId })).status, { timeout: RUN_TIMEOUT, interval: 500 })
        .toBe('succeeded');
    },
    RUN_TIMEOUT,
  );

  it('the Runs list and the run’s page show base + adapter', async () => {
    const run = await api('runs.get', { runId });
    const adapter = (run.summary?.lora as { adapter: string }).adapter;
    expect(adapter).toMatch(/^runs\/.+\/adapter$/);

    await page.getByTestId('nav-runs').click();
    // Starting a run opened its page: back to the list.
    if (await page.getByTestId('runs-back').isVisible()) await page.getByTestId('runs-back').click();
    const row = page.locator(`[data-testid="run-row"][data-run="${runId}"]`);
    await row.waitFor();
    expect((await row.getByTestId('run-row-models').innerText()).replace(/\s+/g, ' ').trim()).toBe(
      'base + LoRA r=4 → base-lora',
    );
    await row.getByTestId('run-open').click();
    await page.getByTestId('run-page').waitFor();
    const value = (key: string) =>
      page.locator(`[data-testid="run-config-row"][data-key="${key}"] [data-testid="run-config-value"]`).innerText();
    expect((await value('lora')).trim()).toBe(
      `base + LoRA r=4, alpha 16, dropout 0 on q,k,v,down · adapter ${adapter}`,
    );
    expect((await value('format')).trim()).toMatch(/^raw/);
  });

  it('the Models screen shows base + adapter, and every Export button inside its row at 1280 px', async () => {
    await page.getByTestId('nav-models').click();
    const trained = page.locator('[data-testid="model-row"][data-model="base-lora"]');
    await trained.waitFor();
    const listed = await api('models.list', {});
    const model = listed.find((m) => m.name === 'base-lora')!;
    expect(model.adapter).toMatchObject({ base: 'base', r: 4, alpha: 16, targets: ['q', 'k', 'v', 'down'] });
    const adapterLine = trained.getByTestId('model-adapter');
    expect((await adapterLine.innerText()).replace(/\s+/g, ' ').trim()).toBe(
      'base + adapter: LoRA r=4, alpha 16 on q,k,v,down',
    );
    expect(await adapterLine.getAttribute('title')).toBe(`PEFT adapter folder: ${model.adapter!.folder}`);
    expect(
      await page.locator('[data-testid="model-row"][data-model="base"] [data-testid="model-adapter"]').count(),
    ).toBe(0);

    // The table fits its card with nothing to scroll, and each Export button lies inside its own row.
    const table = page.getByTestId('models-table');
    const scroll = await table.evaluate((t) => {
      const wrapper = t.parentElement!;
      return { scrollWidth: wrapper.scrollWidth, clientWidth: wrapper.clientWidth };
    });
    expect(scroll.scrollWidth).toBeLessThanOrEqual(scroll.clientWidth);
    const wrapperBox = (await table.locator('xpath=..').boundingBox())!;
    for (const name of ['base', 'base-lora', 'llama']) {
      const row = page.locator(`[data-testid="model-row"][data-model="${name}"]`);
      const rowBox = (await row.boundingBox())!;
      const box = (await row.getByTestId('model-export-toggle').boundingBox())!;
      expect(box.x, name).toBeGreaterThanOrEqual(rowBox.x);
      expect(box.x + box.width, name).toBeLessThanOrEqual(
        Math.min(rowBox.x + rowBox.width, wrapperBox.x + wrapperBox.width),
      );
      expect(box.y, name).toBeGreaterThanOrEqual(rowBox.y);
      expect(box.y + box.height, name).toBeLessThanOrEqual(rowBox.y + rowBox.height);
    }
    await page.screenshot({ path: '/tmp/models.png' });
    expect(consoleErrors).toEqual([]);
  });
});
