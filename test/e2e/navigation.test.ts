/**
 * Moving around the studio in Chromium: screens have hash routes (a reload keeps the screen, Back
 * returns), a second tab at the bare address needs no token, Enter still submits on the Rate screen
 * after a mouse click in the nav, and the annotator dialog's links follow how the server is bound
 * (loopback: how to serve the network; 0.0.0.0: one working link per network address). The real
 * server on a project with a ready campaign of two tiny models. Needs `npm run build` and Chromium.
 */
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBackend } from '../helpers/backend';
import { campaignProject } from '../helpers/campaign';
import {
  launchChromium,
  ownerApi,
  startStudio,
  startStudioServer,
  stopStudioServer,
  watchedPage,
  type Studio,
} from './studio';

const C = 'nav-campaign';

describe('Navigation, tabs and links', () => {
  let studio: Studio;
  let page: Page;

  beforeAll(async () => {
    studio = await startStudio({
      prefix: 'alol-e2e-nav-',
      before: async (dir) => {
        const backend = openBackend(dir);
        try {
          await campaignProject(backend, { name: C, overlap: 1, gold: 0 });
        } finally {
          backend.close();
        }
      },
    });
    page = studio.page;
    await page.getByTestId('project-dir').filter({ hasText: studio.projectDir }).waitFor();
  }, 180_000);

  afterAll(async () => {
    await studio?.close();
  });

  const hash = () => new URL(page.url()).hash;

  it('gives each screen a route: the token leaves the address, a reload keeps the screen, Back returns', async () => {
    expect(hash()).toBe('#/data');
    expect(page.url()).not.toContain(studio.token);

    await page.getByTestId('nav-campaigns').click();
    await page.getByTestId('campaign-row').filter({ hasText: C }).waitFor();
    expect(hash()).toBe('#/campaigns');
    await page.getByTestId('campaign-row').filter({ hasText: C }).getByTestId('campaign-open').click();
    await page.getByTestId('campaign-title').filter({ hasText: C }).waitFor();
    expect(hash()).toBe(`#/campaigns/${C}`);

    await page.reload();
    await page.getByTestId('campaign-title').filter({ hasText: C }).waitFor();
    expect(await page.getByTestId('nav-campaigns').getAttribute('aria-current')).toBe('page');

    await page.getByTestId('rate-as-name').fill('nav-rater');
    await page.getByTestId('rate-as').click();
    await page.getByTestId('rating-annotator').filter({ hasText: 'nav-rater' }).waitFor();
    expect(hash()).toMatch(new RegExp(`^#/rate/${C}/\\d+$`));
    const rateRoute = hash();

    await page.reload();
    await page.getByTestId('rating-annotator').filter({ hasText: 'nav-rater' }).waitFor();
    expect(hash()).toBe(rateRoute);

    await page.goBack();
    await page.getByTestId('campaign-title').filter({ hasText: C }).waitFor();
    expect(hash()).toBe(`#/campaigns/${C}`);
    await page.goBack();
    await page.getByTestId('campaigns-table').waitFor();
    expect(await page.getByTestId('campaign-title').count()).toBe(0);
    expect(hash()).toBe('#/campaigns');
    await page.goForward();
    await page.getByTestId('campaign-title').filter({ hasText: C }).waitFor();
  });

  it('opens a second tab at the bare address without a token, on the screen its route names', async () => {
    const second = await page.context().newPage();
    try {
      await second.goto(studio.url);
      await second.getByTestId('project-dir').filter({ hasText: studio.projectDir }).waitFor();
      expect(await second.getByTestId('no-token').count()).toBe(0);
      expect(new URL(second.url()).hash).toBe('#/data');
      await second.goto(`${studio.url}#/campaigns/${C}`);
      await second.getByTestId('campaign-title').filter({ hasText: C }).waitFor();
    } finally {
      await second.close();
    }
    // Another browser (no token kept) still needs the link.
    const browser = await launchChromium();
    try {
      const { page: stranger } = await watchedPage(browser);
      await stranger.goto(studio.url);
      await stranger.getByTestId('no-token').waitFor();
    } finally {
      await browser.close();
    }
  });

  // Rates as the annotator the first test chose on the campaign page (the tests are one story).
  it('submits with Enter on the Rate screen after a mouse click in the nav', async () => {
    await page.getByTestId('nav-rate').click();
    const item = page.getByTestId('rating-item');
    await item.waitFor();
    // The guidelines open on a first visit; they are put away like an annotator would.
    if (await page.getByTestId('rating-guidelines').isVisible()) {
      await page.keyboard.press('g');
      await page.getByTestId('rating-guidelines').waitFor({ state: 'detached' });
    }
    const session = await studio.api('campaigns.get', { campaign: C });
    const before = session.ratings;

    await page.getByTestId('nav-campaigns').click();
    await page.getByTestId('campaign-title').waitFor();
    await page.getByTestId('nav-rate').click();
    await item.waitFor();
    const first = await item.getAttribute('data-assignment');
    await page.keyboard.press('1');
    await page.keyboard.press('w');
    expect(await page.getByTestId('answer-helpful-left').getAttribute('aria-pressed')).toBe('true');
    expect(await page.getByTestId('answer-safe-right').getAttribute('aria-pressed')).toBe('true');
    await page.keyboard.press('Enter');
    await page.locator(`[data-testid="rating-item"]:not([data-assignment="${first}"])`).waitFor();
    expect((await studio.api('campaigns.get', { campaign: C })).ratings).toBe(before + 1);
    expect(hash()).toMatch(new RegExp(`^#/rate/${C}/\\d+$`));
  });

  it('tells how to serve the network when bound to loopback', async () => {
    await page.getByTestId('nav-campaigns').click();
    await page.getByTestId('campaign-title').filter({ hasText: C }).waitFor();
    await page.getByTestId('annotator-name').fill('loop-annotator');
    await page.getByTestId('annotator-add').click();
    await page.getByTestId('annotator-link-panel').waitFor();
    expect(await page.getByTestId('annotator-link').count()).toBe(1);
    expect(await page.getByTestId('annotator-link').inputValue()).toMatch(new RegExp(`^${studio.url}#rate=[\\w-]+$`));
    const hint = await page.getByTestId('annotator-link-loopback').innerText();
    expect(hint).toContain(`alol serve --campaign "${C}" --host 0.0.0.0`);
    await page.getByTestId('annotator-link-dismiss').click();
  });

  it('shows one link per network address when bound to 0.0.0.0, and each opens the rating screen', async () => {
    let server: ChildProcess | null = null;
    const browser = await launchChromium();
    try {
      const started = await startStudioServer(studio.projectDir, ['--port', '0', '--host', '0.0.0.0']);
      server = started.child;
      const { lanUrls } = started.listening as typeof started.listening & { lanUrls: string[] };
      expect(lanUrls.length, 'this machine has a non-loopback IPv4 address').toBeGreaterThan(0);
      const info = await ownerApi(lanUrls[0] as string, started.listening.token)('app.info', {});
      expect(info.server).toEqual({ host: '0.0.0.0', port: started.listening.port, network: true, urls: lanUrls });

      const { page: owner, consoleErrors } = await watchedPage(browser);
      await owner.goto(`${lanUrls[0]}#token=${started.listening.token}`);
      await owner.getByTestId('nav-campaigns').click();
      await owner.getByTestId('campaign-row').filter({ hasText: C }).getByTestId('campaign-open').click();
      await owner.getByTestId('annotator-name').fill('lan-annotator');
      await owner.getByTestId('annotator-add').click();
      await owner.getByTestId('annotator-link-network').waitFor();
      const inputs = owner.getByTestId('annotator-link');
      const links: string[] = [];
      for (let i = 0; i < (await inputs.count()); i += 1) links.push(await inputs.nth(i).inputValue());
      expect(links.map((l) => l.replace(/#rate=.*$/, ''))).toEqual(lanUrls);
      for (const link of links) {
        const { page: annotator } = await watchedPage(browser);
        await annotator.goto(link);
        await annotator.getByTestId('rating-annotator').filter({ hasText: 'lan-annotator' }).waitFor();
        await annotator.context().close();
      }
      expect(consoleErrors).toEqual([]);
    } finally {
      await browser.close();
      if (server) await stopStudioServer(server);
    }
  });

  it('downloads a campaign export and a model in the browser, byte for byte what the backend holds', async () => {
    await page.getByTestId('nav-campaigns').click();
    await page.getByTestId('campaign-title').filter({ hasText: C }).waitFor();
    const downloads = page.getByTestId('ratings-export-downloads');
    await downloads.waitFor();
    const [rows] = await Promise.all([page.waitForEvent('download'), downloads.locator('[data-file="rows"]').click()]);
    expect(rows.suggestedFilename()).toBe(`${C}-raw.jsonl`);
    const saved = await readFile(await rows.path(), 'utf8');
    const expected = await studio.api('ratings.download', { campaign: C, format: 'raw' });
    expect(saved).toBe(expected.content);
    // The rating given in the Enter test is in it, as the raw export of the same campaign writes it.
    expect(saved.trim().split('\n')).toHaveLength(1);
    const [card] = await Promise.all([page.waitForEvent('download'), downloads.locator('[data-file="card"]').click()]);
    expect(card.suggestedFilename()).toBe(`${C}-raw.card.md`);
    expect(await readFile(await card.path(), 'utf8')).toContain(C);
    await page
      .getByTestId('ratings-export-saved')
      .filter({ hasText: `${C}-raw.jsonl, ${C}-raw.card.md` })
      .waitFor();

    // A derived file follows the chosen question and rule: its card says which.
    await page.getByTestId('ratings-export-format').selectOption('trl-preference');
    await page.getByTestId('ratings-export-criterion').selectOption('helpful');
    await page.getByTestId('ratings-export-rule').selectOption('weighted');
    const [prefCard] = await Promise.all([
      page.waitForEvent('download'),
      downloads.locator('[data-file="card"]').click(),
    ]);
    const prefText = await readFile(await prefCard.path(), 'utf8');
    expect(prefText).toContain('| rule | weighted: reward = 0.5 x helpful share');
    expect(prefText).toContain('| criterion | helpfulness only');
    expect(prefText).toBe(
      (
        await studio.api('ratings.download', {
          campaign: C,
          format: 'trl-preference',
          criterion: 'helpful',
          rule: 'weighted',
        })
      ).card.content,
    );
    await page.getByTestId('ratings-export-format').selectOption('raw');

    await page.getByTestId('nav-models').click();
    const row = page.locator('[data-testid="model-row"][data-model="sys-alpha"]');
    await row.getByTestId('model-export-toggle').click();
    const [weights] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('[data-testid="export-download"][data-file="model.safetensors"]').click(),
    ]);
    expect(weights.suggestedFilename()).toBe('model.safetensors');
    const model = (await studio.api('models.list', {})).find((m) => m.name === 'sys-alpha');
    if (!model) throw new Error('sys-alpha is not listed');
    expect(await readFile(await weights.path())).toEqual(
      await readFile(join(studio.projectDir, 'models', model.folder, 'model.safetensors')),
    );
  });

  it('refuses an export to a missing folder in words, not ENOENT', async () => {
    await page.getByTestId('nav-campaigns').click();
    await page.getByTestId('campaign-title').filter({ hasText: C }).waitFor();
    await page.getByTestId('ratings-export-path').fill('/no/such/folder/out.jsonl');
    await page.getByTestId('ratings-export-submit').click();
    const error = page.getByTestId('ratings-export-error');
    await error.waitFor();
    expect(await error.innerText()).toContain('folder /no/such/folder does not exist');
    expect(await error.innerText()).not.toContain('ENOENT');
    // The browser logs the refused call (400) itself: that one is expected, any other error is not.
    const refused = studio.consoleErrors.findIndex(
      (e) => e.includes('status of 400') && e.includes('/api/call/ratings.export'),
    );
    expect(refused).toBeGreaterThanOrEqual(0);
    studio.consoleErrors.splice(refused, 1);
  });

  it('logged no console errors or CSP violations', () => {
    expect(studio.consoleErrors).toEqual([]);
  });
});
