/**
 * The Samples and Campaigns screens end to end: the real HTTP server (out/main/server.js) on a
 * fresh project whose demo dataset and two tiny untrained models (different seeds) the `alol`
 * command made first, the built UI (out/renderer) in Chromium. Through the UI: a model is sampled
 * on a split and its responses listed; a campaign comparing the two models is created from the
 * form and followed until it is ready; an annotator gets a personal link (which the server then
 * accepts), "Rate as" a new name switches to the Rate screen; ratings given through the API by two
 * annotators show up on the campaign page as progress and agreement figures. The same calls made
 * directly over HTTP are the oracle for what the page shows. Needs `npm run build` first, and
 * Chromium (apt-get install chromium).
 */
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CampaignCreate, SampleRequest } from '../../src/shared/contract';
import type { AgreementSummary } from '../../src/shared/rating';
import { callAs, cli, startStudio, type Studio } from './studio';

/** Sampling and campaign preparation load the models in a job process: give them room. */
const JOB_TIMEOUT = 120_000;
const TINY = ['--layers', '1', '--dim', '32', '--heads', '2', '--context', '64', '--vocab', '300'];

/** How the page (locale en-US) writes an agreement figure: "0.47", "-0.10". */
function figure(value: number | null): string {
  return value === null
    ? '—'
    : new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(value);
}

describe('Samples and Campaigns screens', () => {
  let studio: Studio | null = null;
  let page: Page;
  let consoleErrors: string[] = [];
  let api: Studio['api'];
  let url = '';

  function campaignRow(name: string): Locator {
    return page.locator(`[data-testid="campaign-row"][data-campaign="${name}"]`);
  }

  beforeAll(async () => {
    studio = await startStudio({
      prefix: 'alol-e2e-campaigns-',
      before: (dir) => {
        cli(dir, ['demo', 'data', '--name', 'demo', '--prompts', '20']);
        cli(dir, ['model', 'new', '--name', 'sys-alpha', '--data', 'demo', '--seed', '1', ...TINY]);
        cli(dir, ['model', 'new', '--name', 'sys-beta', '--data', 'demo', '--seed', '2', ...TINY]);
      },
    });
    ({ page, consoleErrors, api, url } = studio);
    await page.getByTestId('project-dir').filter({ hasText: studio.projectDir }).waitFor();
  });

  afterAll(async () => {
    await studio?.close();
  });

  it(
    'samples a model on a split from the Samples screen and lists what it wrote',
    async () => {
      await page.getByTestId('nav-samples').click();
      await page.getByTestId('samples-empty').waitFor();
      const form = page.getByTestId('sample-form');
      await expect.poll(() => form.getByTestId('sample-model-choice').inputValue()).toBe('sys-alpha');
      await expect.poll(() => form.getByTestId('sample-dataset').inputValue()).toBe('demo');
      await form.getByTestId('sample-model-choice').selectOption('sys-beta');
      await form.getByTestId('sample-split').fill('validation');
      await form.getByTestId('sample-maxNewTokens').fill('64');
      // The reply needs room beside the prompt in the model's context of 64.
      await form.locator('#sample-maxNewTokens-hint').filter({ hasText: 'context of 64' }).waitFor();
      expect(await form.getByTestId('sample-submit').isDisabled()).toBe(true);
      await form.getByTestId('sample-maxNewTokens').fill('6');
      await form.getByTestId('sample-sampling').check();
      await form.getByTestId('sample-seed').fill('7');

      const request = page.waitForRequest((r) => r.url().endsWith('/api/call/samples.create'));
      await form.getByTestId('sample-submit').click();
      expect((await request).postDataJSON()).toEqual(
        SampleRequest.parse({
          model: 'sys-beta',
          prompts: { dataset: 'demo', split: 'validation' },
          n: 1,
          settings: { maxNewTokens: 6, greedy: false, seed: 7 },
        }),
      );

      const result = page.getByTestId('sample-result');
      const failed = page.getByTestId('sample-error');
      await result.or(failed).waitFor({ timeout: JOB_TIMEOUT });
      if (await failed.isVisible()) throw new Error(`the sampling failed: ${await failed.innerText()}`);
      const stored = await api('samples.list', { model: 'sys-beta', limit: 10 });
      // The demo's validation split has 100 prompts; one response each.
      expect(stored.total).toBe(100);
      expect(await result.innerText()).toContain('100 responses of sys-beta to 100 prompts');

      // The list turned to the model just sampled: its first page, 25 rows.
      expect(await page.getByTestId('samples-model').inputValue()).toBe('sys-beta');
      await page.getByTestId('page-range').filter({ hasText: '1–25 of 100 samples' }).waitFor();
      await expect.poll(() => page.getByTestId('sample-row').count()).toBe(25);
      const first = stored.rows[0];
      if (!first) throw new Error('no samples stored');
      const row = page.locator(`[data-testid="sample-row"][data-sample="${first.id}"]`);
      expect(await row.getByTestId('sample-model').innerText()).toBe('sys-beta');

      // A row opens in full.
      await row.getByTestId('sample-open').click();
      const dialog = page.getByTestId('sample-dialog');
      await dialog.waitFor();
      expect(await dialog.getByTestId('sample-prompt').innerText()).toBe(first.prompt);
      await dialog.getByTestId('sample-close').click();
      await dialog.waitFor({ state: 'detached' });

      // The other model has none.
      await page.getByTestId('samples-model').selectOption('sys-alpha');
      await page.getByTestId('samples-empty').filter({ hasText: 'No samples of sys-alpha' }).waitFor();
      await page.getByTestId('samples-model').selectOption('');
      await page.getByTestId('page-range').filter({ hasText: 'of 100 samples' }).waitFor();
    },
    JOB_TIMEOUT + 30_000,
  );

  it(
    'creates a campaign from the form and follows its preparation until it is ready',
    async () => {
      await page.getByTestId('nav-campaigns').click();
      await page.getByTestId('campaigns-empty').waitFor();
      // With no campaigns the form is open at once.
      const form = page.getByTestId('campaign-form');
      await form.waitFor();
      await form.getByTestId('campaign-name').fill('ui-campaign');

      // One model is not a comparison.
      await form.locator('[data-testid="campaign-model"][data-model="sys-alpha"]').check();
      await form.locator('#campaign-models-hint').filter({ hasText: 'pick 2 or more models' }).waitFor();
      expect(await form.getByTestId('campaign-submit').isDisabled()).toBe(true);
      await form.locator('[data-testid="campaign-model"][data-model="sys-beta"]').check();
      await form.locator('#campaign-models-hint').filter({ hasText: '2 models' }).waitFor();

      await expect.poll(() => form.getByTestId('campaign-dataset').inputValue()).toBe('demo');
      await form.getByTestId('campaign-split').fill('test');
      await form.getByTestId('campaign-n').fill('0');
      await form.locator('#campaign-n-hint').filter({ hasText: 'at least 1' }).waitFor();
      expect(await form.getByTestId('campaign-submit').isDisabled()).toBe(true);
      await form.getByTestId('campaign-n').fill('4');
      await form.getByTestId('campaign-overlap').fill('2');
      await form.getByTestId('campaign-gold').fill('1');
      await form.getByTestId('campaign-seed').fill('5');
      await form.getByTestId('campaign-maxNewTokens').fill('8');
      await form.getByTestId('campaign-guidelines').fill('# Read both\n\nPick the **more helpful** one.');

      const request = page.waitForRequest((r) => r.url().endsWith('/api/call/campaigns.create'));
      await form.getByTestId('campaign-submit').click();
      expect((await request).postDataJSON()).toEqual(
        CampaignCreate.parse({
          name: 'ui-campaign',
          models: ['sys-alpha', 'sys-beta'],
          prompts: { dataset: 'demo', split: 'test' },
          n: 4,
          overlap: 2,
          gold: 1,
          repeatSwapped: 0,
          seed: 5,
          guidelines: '# Read both\n\nPick the **more helpful** one.',
          settings: { maxNewTokens: 8 },
        }),
      );

      const result = page.getByTestId('campaign-create-result');
      const failed = page.getByTestId('campaign-create-error');
      await result.or(failed).waitFor({ timeout: JOB_TIMEOUT });
      if (await failed.isVisible()) throw new Error(`the preparation failed: ${await failed.innerText()}`);
      expect(await result.innerText()).toContain('ui-campaign is ready: 5 items from 4 prompts');
      const summary = await api('campaigns.get', { campaign: 'ui-campaign' });
      expect(summary.status).toBe('ready');
      expect(summary.target).toBe(8);

      // Listed as ready, with its systems and no ratings yet.
      const row = campaignRow('ui-campaign');
      await row.locator('[data-testid="campaign-row-status"][data-status="ready"]').waitFor();
      expect(await row.getByTestId('campaign-row-systems').innerText()).toBe('sys-alpha, sys-beta');
      expect((await row.getByTestId('campaign-row-progress').innerText()).replace(/\s+/g, ' ').trim()).toBe('0 / 8');
    },
    JOB_TIMEOUT + 30_000,
  );

  it('adds an annotator whose personal link the server accepts, and "Rate as" switches to the Rate screen', async () => {
    await page.getByTestId('campaign-create-open').click();
    const campaignPage = page.getByTestId('campaign-page');
    await campaignPage.waitFor();
    await page.locator('[data-testid="campaign-status"][data-status="ready"]').waitFor();
    expect(await page.getByTestId('campaign-target').innerText()).toBe('8');
    await page.getByTestId('annotators-empty').waitFor();

    await page.getByTestId('annotator-name').fill('alice');
    await page.getByTestId('annotator-add').click();
    const panel = page.getByTestId('annotator-link-panel');
    await panel.waitFor();
    expect(await panel.getByTestId('annotator-link-name').innerText()).toBe('alice');
    expect(await panel.innerText()).toContain('Shown this once');
    const link = await panel.getByTestId('annotator-link').inputValue();
    const match = /^(.+)\/#rate=([A-Za-z0-9_-]+)$/.exec(link);
    expect(match?.[1]).toBe(new URL(url).origin);
    const token = match?.[2] ?? '';

    // The token opens alice's rating session, and nothing else.
    const session = await callAs(url, token, 'rating.session', {});
    expect(session.status).toBe(200);
    const body = session.body as { annotator: { name: string }; campaign: string; guidelines: string };
    expect(body.annotator.name).toBe('alice');
    expect(body.campaign).toBe('ui-campaign');
    expect(body.guidelines).toContain('Pick the **more helpful** one.');

    // Copy puts the link on the clipboard: the page is on 127.0.0.1 (a secure context) and the
    // permission is granted, so the fallback (select it for Ctrl+C) must not be what happens here.
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(url).origin });
    await panel.getByTestId('annotator-link-copy').click();
    await panel.getByTestId('annotator-link-copied').filter({ hasText: 'Copied' }).waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(link);

    // alice is listed, with her link.
    const alice = page.locator('[data-testid="annotator-row"][data-annotator="alice"]');
    await alice.waitFor();
    expect(await alice.innerText()).toContain('personal link');

    // "Rate as" a new name: they join without a link, and the Rate screen opens for them.
    const joined = page.waitForResponse(
      (r) => r.url().endsWith('/api/call/annotators.add') && r.request().postDataJSON()?.name === 'carol',
    );
    await page.getByTestId('rate-as-name').fill('carol');
    await page.getByTestId('rate-as').click();
    expect((await joined).request().postDataJSON()).toEqual({ campaign: 'ui-campaign', name: 'carol', link: false });
    await page.locator('[data-testid="nav-rate"][aria-current="page"]').waitFor();
    const members = (await api('campaigns.get', { campaign: 'ui-campaign' })).annotators;
    expect(members.map((a) => [a.name, a.hasLink])).toEqual([
      ['alice', true],
      ['carol', false],
    ]);

    // Back on the Campaigns screen, the campaign's page is still open.
    await page.getByTestId('nav-campaigns').click();
    await page.getByTestId('campaign-page').waitFor();
    await page.locator('[data-testid="annotator-row"][data-annotator="carol"]').waitFor();
  });

  it('shows ratings given meanwhile as progress and agreement figures, without a reload', async () => {
    const { annotator: bob } = await api('annotators.add', { campaign: 'ui-campaign', name: 'bob', link: false });
    const alice = (await api('campaigns.get', { campaign: 'ui-campaign' })).annotators.find((a) => a.name === 'alice');
    if (!alice) throw new Error('alice is not in the campaign');

    /** Rates everything open to one annotator: helpful by `pick`, safe always left. */
    async function rateAll(annotator: number, pick: (index: number) => 'left' | 'right'): Promise<number> {
      let { item } = await api('rating.next', { campaign: 'ui-campaign', annotator });
      let index = 0;
      while (item) {
        ({ next: item } = await api('rating.submit', {
          campaign: 'ui-campaign',
          annotator,
          assignmentId: item.assignmentId,
          helpful: pick(index),
          safe: 'left',
          activeMs: 1500,
        }));
        index += 1;
      }
      return index;
    }
    // The Rate screen may hold an item for carol already: counts come from the API, not from here.
    expect(await rateAll(alice.id, () => 'left')).toBeGreaterThan(0);
    expect(await rateAll(bob.id, (i) => (i % 2 === 0 ? 'left' : 'right'))).toBeGreaterThan(0);
    const summary = await api('campaigns.get', { campaign: 'ui-campaign' });
    expect(summary.done).toBeGreaterThanOrEqual(6);

    // The page asks again every few seconds: the figures arrive without a click.
    await page
      .getByTestId('campaign-done')
      .filter({ hasText: new RegExp(`^${summary.done}$`) })
      .waitFor({ timeout: 20_000 });
    expect(summary.annotators.map((a) => a.name).sort()).toEqual(['alice', 'bob', 'carol']);
    for (const annotator of summary.annotators) {
      const row = page.locator(`[data-testid="annotator-row"][data-annotator="${annotator.name}"]`);
      await expect
        .poll(() => row.getByTestId('annotator-done').innerText(), { message: annotator.name })
        .toBe(String(annotator.done));
      expect(await row.getByTestId('annotator-time').innerText()).toBe(
        annotator.medianActiveMs === null ? '—' : '1.5 s',
      );
    }
    expect((await page.getByTestId('campaign-revealing').count()) > 0).toBe(summary.revealing > 0);

    const agreement: AgreementSummary[] = await api('campaigns.agreement', { campaign: 'ui-campaign' });
    const helpful = agreement.find((a) => a.criterion === 'helpful');
    if (!helpful) throw new Error('no helpfulness agreement');
    expect(helpful.items).toBeGreaterThanOrEqual(2);
    expect(helpful.raw.estimate).not.toBeNull();
    const section = page.locator('[data-testid="agreement-criterion"][data-criterion="helpful"]');
    await section.filter({ hasText: `${helpful.items} overlap items` }).waitFor({ timeout: 20_000 });
    for (const key of ['raw', 'cohen', 'fleiss', 'alpha'] as const) {
      const measure = section.locator(`[data-testid="agreement-measure"][data-measure="${key}"]`);
      const { estimate, low, high } = helpful[key];
      await expect
        .poll(() => measure.getByTestId('agreement-estimate').innerText(), { message: key })
        .toBe(figure(estimate));
      expect(await measure.getByTestId('agreement-interval').innerText(), key).toBe(
        low === null || high === null ? '—' : `${figure(low)} to ${figure(high)}`,
      );
    }
    // alice always chose the left side.
    const aliceFigures = section.locator('[data-testid="agreement-annotator"][data-annotator="alice"]');
    expect(await aliceFigures.getByTestId('agreement-annotator-left').innerText()).toBe('100%');
    const aliceStats = helpful.annotators.find((a) => a.annotator === 'alice');
    if (!aliceStats) throw new Error('alice has no helpfulness agreement figures');
    expect(await aliceFigures.getByTestId('agreement-annotator-agreement').innerText()).toBe(
      aliceStats.agreement === null
        ? '—'
        : new Intl.NumberFormat('en-US', { style: 'percent', maximumFractionDigits: 0 }).format(aliceStats.agreement),
    );

    // The list has it too.
    await page.getByTestId('campaigns-back').click();
    const row = campaignRow('ui-campaign');
    await row.waitFor();
    expect((await row.getByTestId('campaign-row-progress').innerText()).replace(/\s+/g, ' ').trim()).toBe(
      `${summary.done} / 8`,
    );
    expect(await row.getByTestId('campaign-row-annotators').innerText()).toBe('3');
  }, 60_000);

  it('logged no console errors and no CSP violations', () => {
    expect(consoleErrors).toEqual([]);
  });
});
