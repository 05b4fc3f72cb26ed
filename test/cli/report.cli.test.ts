/** `alol report`: the built command writes the results of a rated campaign as one HTML file. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { call, openBackend } from '../helpers/backend';
import { campaignProject } from '../helpers/campaign';
import { alol } from '../helpers/cli';
import { useTempDir } from '../helpers/tempDir';

const tempDir = useTempDir();

describe('alol report', () => {
  it('writes the win rates and leaderboard of a rated campaign as a self-contained HTML file', async () => {
    const project = tempDir();
    const backend = openBackend(project);
    let winRate: number | null | undefined;
    try {
      await campaignProject(backend, { name: 'cli-c', n: 4 });
      const annotator = (await call(backend, 'annotators.add', { campaign: 'cli-c', name: 'ann', link: false }))
        .annotator.id;
      const who = { campaign: 'cli-c', annotator };
      let item = (await call(backend, 'rating.next', who)).item;
      for (let k = 0; item; k++)
        item = (
          await call(backend, 'rating.submit', {
            ...who,
            assignmentId: item.assignmentId,
            helpful: k % 3 === 0 ? 'both_good' : 'left',
            safe: 'right',
            activeMs: 500,
          })
        ).next;
      winRate = (await call(backend, 'results.get', { campaign: 'cli-c', reps: 50 })).criteria[0]!.pairs[0]!.winRate;
    } finally {
      backend.close();
    }
    expect(winRate).toBeTypeOf('number');

    const out = join(tempDir(), 'report.html');
    const run = alol(['report', '--out', out, '--campaign', 'cli-c', '--reps', '50', '--project', project, '--json']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.json()).toMatchObject({
      path: out,
      campaigns: ['cli-c'],
      systems: ['sys-alpha', 'sys-beta'],
      comparisons: 4,
    });
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('sys-alpha');
    expect(html).toContain(`${(winRate! * 100).toFixed(1)}%`);
    expect(html).toContain('<svg ');
    expect(html).not.toMatch(/<script/i);

    expect(alol(['report', '--project', project]).status).toBe(2);
    const missing = alol(['report', '--out', out, '--campaign', 'nope', '--project', project]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('no campaign named "nope"');
    // Every campaign pooled, in words.
    const pooled = alol(['report', '--out', out, '--reps', '20', '--project', project]);
    expect(pooled.status).toBe(0);
    expect(pooled.stdout).toMatch(/Report written to .*report\.html: 2 systems, 4 rated comparisons/);
  }, 120_000);
});
