/**
 * The Format select of the sample and campaign forms, end to end: the real HTTP server on a project
 * with the demo data, a tiny Llama with Meta's Llama 3 tokenizer and chat template ("chatty",
 * scripted to reply " Five" then <|eot_id|>, test/helpers/chatLlama.ts) and a GPT-2 model without
 * a template ("plain"), the built UI in Chromium. The default the select shows follows the model;
 * Chat for a model without a template is refused in the form; a sample job run from the form is
 * stored in chat and stops at <|eot_id|>; a campaign made in raw shows its format on its page.
 * Needs `npm run build` first, and Chromium.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tokenizer } from '../../src/main/lm/tokenizer/index';
import { LLAMA3_TOKENIZER, writeChatLlama } from '../helpers/chatLlama';
import { cli, startStudio, type Studio } from './studio';

const JOB_TIMEOUT = 120_000;

describe('the Format select', () => {
  let studio: Studio | null = null;
  let page: Page;
  let api: Studio['api'];
  let consoleErrors: string[] = [];

  beforeAll(async () => {
    const word = (await Tokenizer.load(LLAMA3_TOKENIZER)).encode(' Five')[0]!;
    studio = await startStudio({
      prefix: 'alol-e2e-format-',
      before: (dir) => {
        cli(dir, ['demo', 'data', '--name', 'demo', '--prompts', '10']);
        const folder = join(dir, 'hf-chatty');
        writeChatLlama(folder, { scripted: { word } });
        cli(dir, ['model', 'import', folder, '--name', 'chatty']);
        cli(
          dir,
          ['model', 'new', '--name', 'plain', '--data', 'demo', '--layers', '1', '--dim', '16'].concat([
            '--heads',
            '2',
            '--context',
            '64',
            '--vocab',
            '300',
          ]),
        );
      },
    });
    ({ page, api, consoleErrors } = studio);
    await page.getByTestId('project-dir').filter({ hasText: studio.projectDir }).waitFor();
  }, JOB_TIMEOUT);

  afterAll(async () => {
    await studio?.close();
  });

  it(
    'samples in the default format of the model, and refuses Chat for a model without a template',
    async () => {
      await page.getByTestId('nav-samples').click();
      const form = page.getByTestId('sample-form');
      const format = form.getByTestId('sample-format');
      const submit = form.getByTestId('sample-submit');
      await form.getByTestId('sample-model-choice').selectOption('plain');
      await format
        .locator('option[value="default"]')
        .filter({ hasText: 'raw (the model has no chat template)' })
        .waitFor({ state: 'attached' });
      await format.selectOption('chat');
      await form.locator('#sample-format-hint').filter({ hasText: 'plain has no chat template' }).waitFor();
      expect(await submit.isDisabled()).toBe(true);
      await form.getByTestId('sample-model-choice').selectOption('chatty');
      await format.selectOption('default');
      await format
        .locator('option[value="default"]')
        .filter({ hasText: "chat (the model's template)" })
        .waitFor({ state: 'attached' });
      await form.getByTestId('sample-split').fill('test');
      await form.getByTestId('sample-maxNewTokens').fill('6');
      expect(await submit.isDisabled()).toBe(false);
      await submit.click();

      const result = page.getByTestId('sample-result');
      const failed = page.getByTestId('sample-error');
      await result.or(failed).waitFor({ timeout: JOB_TIMEOUT });
      if (await failed.isVisible()) throw new Error(`the sampling failed: ${await failed.innerText()}`);
      expect(await result.innerText()).toContain('prompts in the chat format');
      const stored = await api('samples.list', { model: 'chatty', limit: 100 });
      expect(stored.total).toBeGreaterThan(0);
      expect(stored.rows.every((s) => s.format === 'chat' && s.finishReason === 'eos' && s.response === ' Five')).toBe(
        true,
      );
    },
    JOB_TIMEOUT + 30_000,
  );

  it(
    'makes a campaign in the format chosen and shows it on the campaign page',
    async () => {
      await page.getByTestId('nav-campaigns').click();
      const form = page.getByTestId('campaign-form');
      await form.waitFor();
      await form.getByTestId('campaign-name').fill('raw-pairs');
      await form.locator('[data-testid="campaign-model"][data-model="chatty"]').check();
      await form.locator('[data-testid="campaign-model"][data-model="plain"]').check();
      await form.getByTestId('campaign-format').selectOption('chat');
      await form.locator('#campaign-format-hint').filter({ hasText: 'plain has no chat template' }).waitFor();
      expect(await form.getByTestId('campaign-submit').isDisabled()).toBe(true);
      await form.getByTestId('campaign-format').selectOption('raw');
      await form.getByTestId('campaign-n').fill('2');
      await form.getByTestId('campaign-gold').fill('0');
      await form.getByTestId('campaign-maxNewTokens').fill('4');
      const request = page.waitForRequest((r) => r.url().endsWith('/api/call/campaigns.create'));
      await form.getByTestId('campaign-submit').click();
      expect((await request).postDataJSON()).toMatchObject({ models: ['chatty', 'plain'], format: 'raw' });

      const result = page.getByTestId('campaign-create-result');
      const failed = page.getByTestId('campaign-create-error');
      await result.or(failed).waitFor({ timeout: JOB_TIMEOUT });
      if (await failed.isVisible()) throw new Error(`the preparation failed: ${await failed.innerText()}`);
      expect((await api('campaigns.get', { campaign: 'raw-pairs' })).format).toBe('raw');
      await page
        .locator('[data-testid="campaign-row"][data-campaign="raw-pairs"]')
        .getByTestId('campaign-open')
        .click();
      await page.getByTestId('campaign-format-used').filter({ hasText: 'raw (the HH text as it is)' }).waitFor();
    },
    JOB_TIMEOUT + 30_000,
  );

  it('logged no console errors and no CSP violations', () => {
    expect(consoleErrors).toEqual([]);
  });
});
