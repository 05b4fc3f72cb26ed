/**
 * A relabelling campaign end to end: the real HH-RLHF test file imported and a campaign over its
 * own pairs created with the `alol` command, rated by keyboard in Chromium through an annotator's
 * personal link (blinded: the page never names the dataset's chosen side), then the Results
 * screen's agreement with the dataset, checked against a hand computation, and an export per
 * criterion. Needs `npm run build` first, Chromium, and ../shared/data (a line says when absent).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CampaignCreate } from '../../src/shared/contract';
import type { CampaignItem, RatingItem } from '../../src/shared/rating';
import { alol } from '../helpers/cli';
import { callAs, cli, launchChromium, startStudio, watchedPage, type Studio } from './studio';

const REAL_FILE = fileURLToPath(new URL('../../../shared/data/hh-rlhf-harmless-base-test.jsonl.gz', import.meta.url));
const exists = existsSync(REAL_FILE);
const C = 'hh-relabel';

describe('the bundled HH-RLHF file', () => {
  it('is reported when absent', () => {
    if (!exists) console.warn(`NOT TESTED: ${REAL_FILE} is absent, so the relabelling browser test did not run`);
    expect(typeof exists).toBe('boolean');
  });
});

describe.runIf(exists)('Relabelling a dataset in the browser (annotator link, keyboard)', () => {
  let studio: Studio;
  let token = '';

  beforeAll(async () => {
    studio = await startStudio({
      prefix: 'alol-e2e-relabel-',
      before: (projectDir) => {
        cli(projectDir, ['import', REAL_FILE, '--name', 'hh']);
        cli(projectDir, ['campaign', 'create', '--name', C, '--pairs', 'hh', '--n', '4', '--seed', '5']);
        const added = alol(['annotator', 'add', 'rita', '--campaign', C, '--project', projectDir, '--json']);
        if (added.status !== 0) throw new Error(added.stderr);
        token = (added.json() as { token: string }).token;
      },
    });
  }, 120_000);

  afterAll(async () => {
    await studio?.close();
  });

  it("rates every pair by keyboard, blinded, and the Results screen shows agreement with the dataset's label", async () => {
    const items = (await studio.api('campaigns.items', { campaign: C, offset: 0, limit: 100 })).rows;
    expect(items.filter((i) => i.kind === 'pair')).toHaveLength(4);
    const browser = await launchChromium();
    try {
      const { page, consoleErrors } = await watchedPage(browser, {
        viewport: { width: 1280, height: 720 },
        locale: 'en-US',
      });
      const bodies: string[] = [];
      page.on('response', (response) => {
        if (!response.url().includes('/api/call/rating.')) return;
        response.text().then(
          (body) => bodies.push(body),
          () => undefined,
        );
      });
      await page.goto(`${studio.url}#rate=${token}`);
      await page.getByTestId('rating-item').waitFor();
      // A first visit opens on the guidelines; G puts them away.
      if (await page.getByTestId('rating-guidelines').isVisible()) {
        await page.keyboard.press('g');
        await page.getByTestId('rating-guidelines').waitFor({ state: 'detached' });
      }

      // Helpfulness: the dataset's chosen response on the first three items, the rejected one on
      // the fourth (3 of 4 decisive answers agree); safety: "both good" throughout.
      let rated = 0;
      let previous = -1;
      while (rated < 4) {
        const assignment = Number(await page.getByTestId('rating-item').getAttribute('data-assignment'));
        expect(assignment).not.toBe(previous);
        // The item on screen is the one this annotator holds: the API says which texts are left and right.
        const held = (await callAs(studio.url, token, 'rating.next', {})).body as { item: RatingItem };
        expect(held.item.assignmentId).toBe(assignment);
        const item = items.find(
          (i: CampaignItem) =>
            i.prompt === held.item.prompt &&
            new Set([i.first.response, i.second.response]).has(held.item.left) &&
            new Set([i.first.response, i.second.response]).has(held.item.right),
        );
        if (!item || item.datasetChosen === null)
          throw new Error('the screen shows an item that is not one of the pairs');
        const chosenText = (item.datasetChosen === 'first' ? item.first : item.second).response;
        const chosenKey = held.item.left === chosenText ? '1' : '2';
        const rejectedKey = chosenKey === '1' ? '2' : '1';
        await page.keyboard.press(rated < 3 ? chosenKey : rejectedKey);
        await page.keyboard.press('e');
        await page.keyboard.press('Enter');
        rated++;
        previous = assignment;
        if (rated < 4)
          await page.locator(`[data-testid="rating-item"]:not([data-assignment="${assignment}"])`).waitFor();
      }
      await page.getByTestId('rating-item').waitFor({ state: 'detached' });
      // Blinded: nothing the page received names the dataset's sides.
      expect(bodies.length).toBeGreaterThan(0);
      for (const body of [...bodies, await page.content()]) expect(body).not.toMatch(/data:hh|datasetChosen|"system"/);
      expect(consoleErrors).toEqual([]);
    } finally {
      await browser.close();
    }

    // Wilson 95% for 3 of 4, by hand: centre (0.75 + 1.9208/4) / (1 + 3.8416/4), half-width
    // 1.96 sqrt(0.75 x 0.25 / 4 + 3.8416 / 64) / (1 + 3.8416/4): 0.3006 to 0.9544.
    const z2 = 1.96 * 1.96;
    const centre = (0.75 + z2 / 8) / (1 + z2 / 4);
    const half = (1.96 * Math.sqrt((0.75 * 0.25) / 4 + z2 / 64)) / (1 + z2 / 4);
    expect(centre - half).toBeCloseTo(0.3006, 4);
    expect(centre + half).toBeCloseTo(0.9544, 4);

    const { page } = studio;
    await page.getByTestId('nav-results').click();
    await page.getByTestId('results-campaign').locator('option', { hasText: C }).waitFor({ state: 'attached' });
    await page.getByTestId('results-campaign').selectOption(C);
    const helpful = page.locator(
      `[data-testid="dataset-agreement-campaign"][data-campaign="${C}"] [data-testid="dataset-agreement-row"][data-criterion="helpful"]`,
    );
    await helpful.waitFor();
    expect((await helpful.getByTestId('dataset-agreement-share').innerText()).replace(/\s+/g, ' ')).toBe(
      '75.0% 30.1% to 95.4%',
    );
    expect((await helpful.getByTestId('dataset-agreement-decisive').innerText()).replace(/\s+/g, ' ')).toBe(
      '3 of 4 (1 against)',
    );
    const safe = page.locator(
      `[data-testid="dataset-agreement-campaign"][data-campaign="${C}"] [data-testid="dataset-agreement-row"][data-criterion="safe"]`,
    );
    expect((await safe.getByTestId('dataset-agreement-decisive').innerText()).replace(/\s+/g, ' ')).toBe(
      '0 of 0 (0 against)',
    );
    expect(await safe.getByTestId('dataset-agreement-share').innerText()).toBe('—');
    // The one answer against the dataset's label opens in the campaign's item browser: one item.
    await helpful.getByTestId('dataset-agreement-link-against').click();
    await page.getByTestId('items-linked').waitFor();
    await expect.poll(() => page.getByTestId('item-row').count()).toBe(1);
    // The campaign compares no model: retraining asks for the reference instead of failing, and plans once named.
    // (The console check below shows no refused plan call was made.)
    await page.getByTestId('retrain-ref').waitFor();
    expect(await page.getByTestId('retrain-names').count()).toBe(0);
    expect(await page.getByTestId('retrain-submit').isDisabled()).toBe(true);
    await page.getByTestId('campaigns-back').click();

    // Export: a TRL preference file of the helpfulness answers, with its card.
    const out = join(studio.projectDir, 'helpful.jsonl');
    const exported = await studio.api('ratings.export', {
      campaign: C,
      format: 'trl-preference',
      path: out,
      criterion: 'helpful',
    });
    expect(exported.rows).toBe(4);
    const rows = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { prompt: string; chosen: string });
    const after = (await studio.api('campaigns.items', { campaign: C, offset: 0, limit: 100 })).rows;
    const agrees = (r: { prompt: string; chosen: string }) =>
      after.some(
        (i) => i.prompt === r.prompt && (i.datasetChosen === 'first' ? i.first : i.second).response === r.chosen,
      );
    expect(rows.filter(agrees)).toHaveLength(3);
    expect(readFileSync(exported.card as string, 'utf8')).toContain(
      '| helpful | 4 | 3 | 0.750 [0.301, 0.954] | 0 | 0 |',
    );
  }, 120_000);

  it('creates a relabelling campaign with a gold file from the Campaigns screen', async () => {
    const gold = join(studio.projectDir, 'gold.jsonl');
    writeFileSync(
      gold,
      JSON.stringify({
        prompt: 'Capital of France?',
        a: 'Paris.',
        b: 'Bananas.',
        expected: { helpful: ['a'], safe: ['both_good'] },
      }) + '\n',
    );
    const { page } = studio;
    await page.getByTestId('nav-campaigns').click();
    const form = page.getByTestId('campaign-form');
    if (!(await form.isVisible())) await page.getByTestId('campaigns-new').click();
    await form.waitFor();
    await form.getByTestId('campaign-name').fill('ui-relabel');
    await form.getByTestId('campaign-kind-pairs').check();
    // Relabelling picks no models and samples nothing.
    expect(await form.getByTestId('campaign-models').count()).toBe(0);
    expect(await form.getByTestId('campaign-maxNewTokens').count()).toBe(0);
    await expect.poll(() => form.getByTestId('campaign-dataset').inputValue()).toBe('hh');
    await form.getByTestId('campaign-n').fill('3');
    await form.getByTestId('campaign-gold-file').fill('gold.jsonl');
    await form.locator('#campaign-gold-file-hint').filter({ hasText: 'absolute path' }).waitFor();
    expect(await form.getByTestId('campaign-submit').isDisabled()).toBe(true);
    await form.getByTestId('campaign-gold-file').fill(gold);

    const request = page.waitForRequest((r) => r.url().endsWith('/api/call/campaigns.create'));
    await form.getByTestId('campaign-submit').click();
    // As the contract reads it (its defaults filled in): pairs, no models or prompts.
    expect((await request).postDataJSON()).toEqual(
      CampaignCreate.parse({
        name: 'ui-relabel',
        pairs: { dataset: 'hh' },
        n: 3,
        overlap: 1,
        gold: 0,
        repeatSwapped: 0,
        seed: 0,
        goldFile: gold,
      }),
    );
    const result = page.getByTestId('campaign-create-result');
    const failed = page.getByTestId('campaign-create-error');
    await result.or(failed).waitFor({ timeout: 60_000 });
    if (await failed.isVisible()) throw new Error(`the preparation failed: ${await failed.innerText()}`);
    expect(await studio.api('campaigns.get', { campaign: 'ui-relabel' })).toMatchObject({
      status: 'ready',
      kind: 'pairs',
      items: 3,
      goldItems: 1,
      systems: ['data:hh:chosen', 'data:hh:rejected'],
    });
    expect(studio.consoleErrors).toEqual([]);
  }, 90_000);
});
