/** results.report: the contract's HTML report of results.get's figures, one self-contained file. */
import { describe, expect, it } from 'vitest';
import { call, useBackends } from '../helpers/backend';
import { campaignProject } from '../helpers/campaign';
import { useTempDir } from '../helpers/tempDir';
import { version } from '../../src/main/core/version';

const tempDir = useTempDir();
const openBackend = useBackends();

describe('results.report', () => {
  it('returns the report of a rated campaign as self-contained HTML, with what it covers', async () => {
    const backend = openBackend(tempDir());
    await campaignProject(backend, { name: 'pilot c', n: 4 });
    const annotator = (await call(backend, 'annotators.add', { campaign: 'pilot c', name: 'ann', link: false }))
      .annotator.id;
    const who = { campaign: 'pilot c', annotator };
    let item = (await call(backend, 'rating.next', who)).item;
    for (let k = 0; item; k++)
      item = (
        await call(backend, 'rating.submit', {
          ...who,
          assignmentId: item.assignmentId,
          helpful: k % 2 === 0 ? 'left' : 'both_bad',
          safe: 'right',
          activeMs: 500,
        })
      ).next;

    const request = { campaign: 'pilot c', reps: 50 };
    const results = await call(backend, 'results.get', request);
    const report = await call(backend, 'results.report', request);
    expect(report).toMatchObject({
      filename: 'results-pilot-c.html',
      campaigns: ['pilot c'],
      systems: ['sys-alpha', 'sys-beta'],
      comparisons: 4,
      models: results.models.length,
      runs: 0,
    });
    const { html } = report;
    expect(html.startsWith('<!doctype html>')).toBe(true);
    for (const section of ['win-rates', 'leaderboard', 'agreement', 'models', 'training'])
      expect(html).toContain(`<section id="${section}">`);
    expect(html).toContain('<h1>Results: campaign pilot c</h1>');
    expect(html).toContain(`A-LoL Studio ${version}`);
    expect(html).toContain(`${(results.criteria[0]!.pairs[0]!.winRate! * 100).toFixed(1)}%`);
    expect(html).toContain('<svg ');
    expect(html).toContain("default-src 'none'");
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\s(src|href)=["']?https?:/i);

    // Every campaign pooled; a campaign that is not there is the same error as results.get's.
    expect((await call(backend, 'results.report', { reps: 20 })).filename).toBe('results-all-campaigns.html');
    const missing = await backend.dispatch('results.report', { campaign: 'nope' });
    expect(missing).toMatchObject({ ok: false, error: { code: 'not_found' } });
  }, 120_000);
});
