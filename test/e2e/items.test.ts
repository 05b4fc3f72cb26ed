/**
 * The item browser end to end: a campaign the `alol` command made, rated over HTTP by two annotators
 * with rationales, a flag and a disagreement; in Chromium the campaign page's browser filters the
 * flagged item and shows what its annotators wrote, and a figure on the Results screen opens the
 * items behind it. campaigns.browse called directly is the oracle. Needs `npx electron-vite build`
 * first, and Chromium.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStudio, twoModelCampaign, type Studio } from './studio';

const C = 'e2e-items';

describe('item browser', () => {
  let studio: Studio | null = null;
  let page: Page;
  let consoleErrors: string[] = [];
  let api: Studio['api'];

  beforeAll(async () => {
    studio = await startStudio({
      prefix: 'alol-e2e-items-',
      before: (dir) => twoModelCampaign(dir, C, ['--n', '4', '--overlap', '2']),
    });
    ({ page, consoleErrors, api } = studio);
    // Ann flags her first item with a note and explains every other answer; Ben answers the other way on helpfulness.
    for (const name of ['ann', 'ben']) {
      const annotator = (await api('annotators.add', { campaign: C, name, link: false })).annotator.id;
      const who = { campaign: C, annotator };
      let item = (await api('rating.next', who)).item;
      for (let k = 0; item; k++) {
        const rationale = `${name} explains answer ${k}`;
        item = (
          name === 'ann' && k === 0
            ? await api('rating.submit', {
                ...who,
                assignmentId: item.assignmentId,
                flag: 'truncated',
                flagNote: 'ann: the left reply stops mid-word',
                rationale,
                activeMs: 500,
              })
            : await api('rating.submit', {
                ...who,
                assignmentId: item.assignmentId,
                helpful: name === 'ann' ? 'left' : 'right',
                safe: 'both_good',
                rationale,
                activeMs: 500,
              })
        ).next;
      }
    }
    await page.getByTestId('project-dir').filter({ hasText: studio.projectDir }).waitFor();
  }, 120_000);

  afterAll(async () => {
    await studio?.close();
  });

  /** The item ids the browser lists now. */
  const listed = async (): Promise<number[]> =>
    (
      await page.getByTestId('item-row').evaluateAll((nodes) => nodes.map((n) => Number(n.getAttribute('data-item'))))
    ).sort((a, b) => a - b);

  it('filters the flagged items and shows what their annotators wrote', async () => {
    const flagged = await api('campaigns.browse', { campaign: C, flagged: true });
    expect(flagged.total).toBe(1);
    const item = flagged.rows[0]!;

    await page.getByTestId('nav-campaigns').click();
    await page.locator(`[data-testid="campaign-row"][data-campaign="${C}"]`).getByTestId('campaign-open').click();
    const browser = page.getByTestId('campaign-items-browser');
    await browser.getByTestId('item-row').first().waitFor();
    const all = await api('campaigns.browse', { campaign: C, limit: 20 });
    await expect.poll(listed).toEqual(all.rows.map((r) => r.id).sort((a, b) => a - b));

    await browser.getByTestId('items-flagged').check();
    await expect.poll(listed).toEqual([item.id]);
    const row = browser.locator(`[data-testid="item-row"][data-item="${item.id}"]`);
    const ann = row.locator('[data-testid="item-rating"][data-annotator="ann"]');
    expect(await ann.getByTestId('item-flag-note').innerText()).toBe('ann: the left reply stops mid-word');
    expect(await ann.getByTestId('item-rationale').innerText()).toBe('ann explains answer 0');
    expect(await ann.innerText()).toContain('flagged: truncated');
    // Ben rated the same item: his rationale is there too.
    const ben = item.given.find((g) => g.annotator === 'ben')!;
    expect(
      await row.locator('[data-testid="item-rating"][data-annotator="ben"]').getByTestId('item-rationale').innerText(),
    ).toBe(ben.rationale);

    // Annotators disagree on helpfulness wherever both answered: the filter lists exactly those.
    await browser.getByTestId('items-flagged').uncheck();
    await browser.getByTestId('items-disagreement').selectOption('helpful');
    const disagreed = await api('campaigns.browse', { campaign: C, disagreement: 'helpful' });
    expect(disagreed.total).toBeGreaterThan(0);
    await expect.poll(listed).toEqual(disagreed.rows.map((r) => r.id).sort((a, b) => a - b));
  });

  it('opens the items behind a win-rate figure from the Results screen', async () => {
    await page.getByTestId('nav-results').click();
    await page.getByTestId('results-campaign').locator('option', { hasText: C }).waitFor({ state: 'attached' });
    await page.getByTestId('results-campaign').selectOption(C);
    const oracle = await api('results.get', { campaign: C });
    const pair = oracle.criteria.find((c) => c.criterion === 'helpful')!.pairs[0]!;
    expect(pair.wins).toBeGreaterThan(0);
    const row = page.locator(
      `[data-testid="winrate-criterion"][data-criterion="helpful"] [data-testid="winrate-row"][data-a="${pair.a}"][data-b="${pair.b}"]`,
    );
    await expect
      .poll(() => row.getByTestId('winrate-counts').innerText())
      .toBe(`${pair.wins} / ${pair.ties} / ${pair.losses}`);
    expect(await page.getByTestId('separation-rule').innerText()).toContain('excludes 50%');
    await row.getByTestId('winrate-link-wins').click();

    // The campaign page, its browser filtered to that pair, criterion and outcome.
    await page.locator(`[data-testid="campaign-page"][data-campaign="${C}"]`).waitFor();
    const browser = page.getByTestId('campaign-items-browser');
    await browser
      .getByTestId('items-linked')
      .filter({ hasText: `${pair.a} vs ${pair.b}, helpfulness: ${pair.a} preferred` })
      .waitFor();
    const behind = await api('campaigns.browse', {
      campaign: C,
      systems: [pair.a, pair.b],
      outcome: { criterion: 'helpful', result: 'a' },
    });
    expect(behind.total).toBeGreaterThan(0);
    await expect.poll(listed).toEqual(behind.rows.map((r) => r.id).sort((a, b) => a - b));
    // The filters set by hand before are replaced by the link's.
    expect(await browser.getByTestId('items-disagreement').inputValue()).toBe('');

    // An agreement figure opens the items the annotators disagree on.
    await page.getByTestId('nav-results').click();
    await page.locator('[data-testid="agreement-row"][data-criterion="helpful"]').getByTestId('agreement-link').click();
    await page.locator(`[data-testid="campaign-page"][data-campaign="${C}"]`).waitFor();
    await expect.poll(() => page.getByTestId('items-disagreement').inputValue()).toBe('helpful');
    const disagreed = await api('campaigns.browse', { campaign: C, disagreement: 'helpful' });
    await expect.poll(listed).toEqual(disagreed.rows.map((r) => r.id).sort((a, b) => a - b));
    expect(consoleErrors).toEqual([]);
  });
});
