/**
 * The whole loop end to end, at a tiny size: npm start's demo loop (data, a model, the reference,
 * A-LoL and NLL, their samples, a campaign), the studio opened on npm start's link, every item
 * rated by keyboard in Chromium, the ratings turned into rewards and A-LoL retrained on them from
 * the Campaigns screen, and `alol report` showing the new model. Needs `npm run build` first, and
 * Chromium.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, seedDemoProject, type DemoSizes } from '../../src/main/workflows/demoProject';
import { openBackend } from '../helpers/backend';
import { TINY_MODEL } from '../helpers/campaign';
import { alol } from '../helpers/cli';
import { startStudio, type Studio } from './studio';

const TINY: DemoSizes = {
  trainPrompts: 20,
  model: TINY_MODEL,
  refSteps: 4,
  steps: 3,
  batch: 4,
  lr: 1e-3,
  valueEpochs: 1,
  maxNewTokens: 8,
  items: 4,
};

describe('the whole loop, from the demo data to a report on the retrained model', () => {
  let studio: Studio | null = null;
  let projectDir = '';
  let page: Page;
  let consoleErrors: string[] = [];
  let url = '';
  let token = '';
  let api: Studio['api'];

  beforeAll(async () => {
    studio = await startStudio({
      prefix: 'alol-e2e-loop-',
      // npm start's demo loop, at a tiny size, before the server starts; the page opens npm start's link below.
      before: async (dir) => {
        const backend = openBackend(dir);
        try {
          expect(await seedDemoProject(backend, () => undefined, TINY)).toMatchObject({ campaign: DEMO.campaign });
        } finally {
          backend.close();
        }
      },
      open: false,
    });
    ({ projectDir, page, consoleErrors, url, token, api } = studio);
  }, 180_000);

  afterAll(async () => {
    await studio?.close();
  });

  it("opens npm start's link on the demo campaign, rating as the local annotator", async () => {
    await page.goto(`${url}#token=${token}&campaign=${DEMO.campaign}`);
    await page.getByTestId('rating-item').waitFor();
    expect((await page.getByTestId('rating-annotator').innerText()).trim()).toBe(DEMO.annotator);
    expect((await page.getByTestId('rating-campaign-name').innerText()).trim()).toBe(DEMO.campaign);
  });

  it('rates every item by keyboard: helpfulness and safety, then Enter', async () => {
    // A first visit opens on the guidelines; G puts them away.
    await page.getByTestId('rating-guidelines').waitFor();
    await page.keyboard.press('g');
    await page.getByTestId('rating-guidelines').waitFor({ state: 'detached' });
    let rated = 0;
    for (let i = 0; i < 20; i++) {
      if (await page.getByTestId('rating-done').count()) break;
      rated += 1;
      const item = page.getByTestId('rating-item');
      const assignment = await item.getAttribute('data-assignment');
      // The left response is more helpful on even items, the right on odd ones; both are safe.
      await page.keyboard.press(i % 2 === 0 ? '1' : '2');
      await page.keyboard.press('e');
      await page.keyboard.press('Enter');
      await page
        .locator(`[data-testid="rating-done"], [data-testid="rating-item"]:not([data-assignment="${assignment}"])`)
        .first()
        .waitFor();
    }
    await page.getByTestId('rating-done').waitFor();
    const summary = await api('campaigns.get', { campaign: DEMO.campaign });
    // Every decision was made here, by keyboard: one per item the page showed.
    expect(rated).toBeGreaterThan(0);
    expect(summary.annotators.find((a) => a.name === DEMO.annotator)?.done).toBe(rated);
    expect(summary).toMatchObject({ done: summary.target });
  });

  it('retrains from the Campaigns screen: rewards from the ratings, A-LoL from the reference, a follow-up campaign', async () => {
    await page.getByTestId('nav-campaigns').click();
    await page
      .locator(`[data-testid="campaign-row"][data-campaign="${DEMO.campaign}"] [data-testid="campaign-open"]`)
      .click();
    const model = `${DEMO.alol}-${DEMO.campaign}`;
    // The names are shown before anything starts; the tiny campaign is below the minimum evidence, so it needs forcing.
    await page.getByTestId('retrain-model').filter({ hasText: model }).waitFor();
    expect(await page.getByTestId('retrain-next').innerText()).toBe(`${DEMO.campaign}-next`);
    expect(await page.getByTestId('retrain-shortfalls').innerText()).toMatch(
      /only \d+ rated pairs; retraining needs at least 30/,
    );
    await page.getByTestId('retrain-steps').fill('3');
    expect(await page.getByTestId('retrain-submit').isDisabled()).toBe(true);
    await page.getByTestId('retrain-force').check();
    await page.getByTestId('retrain-submit').click();
    await page.getByTestId('retrain-done').waitFor({ timeout: 120_000 });
    expect(await page.getByTestId('retrain-done').innerText()).toContain(model);
    const rewards = await api('datasets.examples', { dataset: `${DEMO.campaign}-rewards`, limit: 100 });
    expect(rewards.rows.length).toBeGreaterThan(0);
    expect(rewards.rows.every((r) => r.rewardSource === 'human')).toBe(true);
    const next = await api('campaigns.get', { campaign: `${DEMO.campaign}-next` });
    expect(next.systems).toEqual([model, DEMO.alol]);
    // The follow-up keeps the annotator who rated here.
    expect(next.annotators.map((a) => a.name)).toEqual([DEMO.annotator]);
    expect(consoleErrors).toEqual([]);
  }, 150_000);

  it('writes a report that shows the new model beside the rated ones', async () => {
    const out = join(projectDir, 'report.html');
    const run = alol(['report', '--out', out, '--project', projectDir]);
    expect(run.status, run.stderr).toBe(0);
    const html = await readFile(out, 'utf8');
    expect(html).toContain(`${DEMO.alol}-${DEMO.campaign}`);
    expect(html).toContain(DEMO.nll);
    expect(html).toContain('<svg');
  }, 60_000);
});
