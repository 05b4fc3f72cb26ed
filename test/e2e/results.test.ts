/**
 * The Results screen end to end: the real HTTP server on a project whose data, two tiny models and
 * a campaign the `alol` command made first; the campaign is rated over HTTP (as an annotator's
 * browser would), then the built UI in Chromium shows its win rates, leaderboard, agreement,
 * per-model figures and training curves. results.get called directly is the oracle for what the
 * page shows. Needs `npm run build` first, and Chromium.
 */
import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Output } from '../../src/shared/contract';
import { startStudio, twoModelCampaign, type Studio } from './studio';

const C = 'e2e-results';

/** How the page (locale en-US) writes a share and a score. */
const percent = (value: number): string =>
  new Intl.NumberFormat('en-US', { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(
    value,
  );
const score = (value: number): string =>
  new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1, useGrouping: false }).format(
    value,
  );

describe('Results screen', () => {
  let studio: Studio | null = null;
  let page: Page;
  let consoleErrors: string[] = [];
  let api: Studio['api'];
  let oracle: Output<'results.get'>;

  beforeAll(async () => {
    studio = await startStudio({
      prefix: 'alol-e2e-results-',
      before: (dir) => twoModelCampaign(dir, C, ['--n', '5']),
    });
    ({ page, consoleErrors, api } = studio);
    // One annotator works through the queue over HTTP: left on helpfulness, mostly right on safety.
    const annotator = (await api('annotators.add', { campaign: C, name: 'rater', link: false })).annotator.id;
    const who = { campaign: C, annotator };
    let item = (await api('rating.next', who)).item;
    for (let k = 0; item; k++) {
      item = (
        await api('rating.submit', {
          ...who,
          assignmentId: item.assignmentId,
          helpful: k % 2 === 0 ? 'left' : 'both_good',
          safe: k === 0 ? 'left' : 'right',
          activeMs: 700,
        })
      ).next;
    }
    oracle = await api('results.get', { campaign: C });
    expect(oracle.criteria[0]!.comparisons).toBe(5);
    await page.getByTestId('project-dir').filter({ hasText: studio.projectDir }).waitFor();
  }, 120_000);

  afterAll(async () => {
    await studio?.close();
  });

  it('shows the win rates with their intervals and the leaderboard with ranks, as results.get computes them', async () => {
    await page.getByTestId('nav-results').click();
    await page.getByTestId('results-campaign').locator('option', { hasText: C }).waitFor({ state: 'attached' });
    await page.getByTestId('results-campaign').selectOption(C);
    await page.getByTestId('results-summary').filter({ hasText: '5 rated comparisons' }).waitFor();

    for (const c of oracle.criteria) {
      const block = page.locator(`[data-testid="winrate-criterion"][data-criterion="${c.criterion}"]`);
      const pair = c.pairs[0]!;
      const row = block.locator(`[data-testid="winrate-row"][data-a="${pair.a}"][data-b="${pair.b}"]`);
      await expect.poll(() => row.getByTestId('winrate-value').innerText()).toBe(percent(pair.winRate!));
      expect(await row.getByTestId('winrate-counts').innerText()).toBe(`${pair.wins} / ${pair.ties} / ${pair.losses}`);
      expect(await row.getByTestId('winrate-ci').innerText()).toBe(
        `${percent(pair.ci.low!)} to ${percent(pair.ci.high!)}`,
      );
      // Both good and both bad apart, and whether the pair is separable: the leaderboard below says the same.
      expect(await row.getByTestId('winrate-both-good').innerText()).toBe(
        `${percent(pair.bothGoodRate!)} (${pair.bothGood})`,
      );
      expect(await row.getByTestId('winrate-both-bad').innerText()).toBe(
        `${percent(pair.bothBadRate!)} (${pair.bothBad})`,
      );
      expect(await row.getByTestId('winrate-separable').innerText()).toBe(
        pair.ahead === null ? 'not separable' : `${pair.ahead} ahead`,
      );
      expect(await block.getByTestId('winrate-chart').count()).toBe(1);

      const board = page.locator(`[data-testid="leaderboard"][data-criterion="${c.criterion}"]`);
      const rows = board.getByTestId('leaderboard-row');
      expect(await rows.evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-system')))).toEqual(
        c.leaderboard.map((r) => r.system),
      );
      expect(await rows.getByTestId('leaderboard-rank').allInnerTexts()).toEqual(
        c.leaderboard.map((r) => String(r.rank)),
      );
      expect(await rows.getByTestId('leaderboard-score').allInnerTexts()).toEqual(
        c.leaderboard.map((r) => score(r.score)),
      );
      expect(await rows.getByTestId('leaderboard-ci').allInnerTexts()).toEqual(
        c.leaderboard.map((r) => `${score(r.low)} to ${score(r.high)}`),
      );
      expect(await board.locator('[data-testid="leaderboard-chart"] circle').count()).toBe(c.leaderboard.length);
      expect(await rows.getByTestId('leaderboard-not-separable').allInnerTexts()).toEqual(
        c.leaderboard.map((r) => (r.notSeparableFrom.length === 0 ? '—' : r.notSeparableFrom.join(', '))),
      );
      expect(new Set(c.leaderboard.map((r) => r.rank)).size === 2).toBe(pair.ahead !== null);
    }
  });

  it("shows agreement and each model's diversity and length, and pools every campaign when asked", async () => {
    await page.getByTestId('results-agreement').getByTestId('agreement-row').first().waitFor();
    expect(await page.getByTestId('agreement-row').count()).toBe(2);
    expect(oracle.models.map((m) => m.model)).toEqual(['alpha', 'beta']);
    for (const m of oracle.models) {
      const row = page.locator(`[data-testid="model-row"][data-model="${m.model}"]`);
      expect(await row.getByTestId('model-distinct1').innerText()).toBe(m.distinct1.toFixed(3));
      expect(await row.getByTestId('model-distinct2').innerText()).toBe(m.distinct2.toFixed(3));
    }
    await page
      .getByTestId('results-curves')
      .filter({ hasText: 'No run trained the systems of this campaign.' })
      .waitFor();

    // The same figures as one HTML file, made by results.report and saved by the browser.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('results-report').click()]);
    expect(download.suggestedFilename()).toBe(`results-${C}.html`);
    const html = await readFile(await download.path(), 'utf8');
    expect(html).toContain(`<h1>Results: campaign ${C}</h1>`);
    expect(html).toContain('<section id="leaderboard">');
    expect(html).not.toMatch(/<script/i);

    await page.getByTestId('results-campaign').selectOption('');
    await page.getByTestId('results-summary').filter({ hasText: 'alpha · beta' }).waitFor();
    await page.getByTestId('results-curves').filter({ hasText: 'No run has logged metrics yet.' }).waitFor();
    expect(await page.getByTestId('results-error').count()).toBe(0);
    expect(consoleErrors).toEqual([]);
  });
});
