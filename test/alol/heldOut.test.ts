/**
 * The value head's targets are prompts the policy never trains on: without a validation split,
 * 10% of the training prompts are carved out of training (issue: held-out value prompts stayed in
 * training), and the run says where V's targets came from and how well it fits them.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { call, importPath, jobEnd, jobOf, useBackends } from '../helpers/backend';
import { useTempDir } from '../helpers/tempDir';

const tempDir = useTempDir();
const openBackend = useBackends();

interface AdvantageReport {
  valueTargets: string;
  valueFit: { rows: number; mse: number; warning?: string };
  heldOut: { from: string; rows: number; trainItems: number };
}

describe('value head held-out prompts', () => {
  it('without a validation split, holds 10% of the prompts out of training and labels V as the data’s average reward', async () => {
    const dir = tempDir();
    const backend = openBackend(dir);
    // 40 prompts, 2 responses each, rewards in the file: no split column.
    const lines: string[] = [];
    for (let p = 0; p < 40; p++) {
      for (const [response, reward] of [
        [` yes ${p}.`, 0.9],
        [` no ${p}.`, 0.1],
      ] as const) {
        lines.push(JSON.stringify({ prompt: `\n\nHuman: question ${p}?\n\nAssistant:`, response, reward }));
      }
    }
    const file = join(dir, 'triples.jsonl');
    writeFileSync(file, `${lines.join('\n')}\n`);
    expect((await importPath(backend, file, 'triples')).status).toBe('succeeded');
    const created = await jobOf(backend, () =>
      call(backend, 'models.create', {
        name: 'base',
        dataset: 'triples',
        layers: 1,
        dim: 32,
        heads: 2,
        context: 64,
        vocab: 300,
        seed: 1,
      }),
    );
    expect(created.status).toBe('succeeded');

    const { runId, jobId } = await call(backend, 'runs.start', {
      algo: 'a_lol',
      data: 'triples',
      init: 'base',
      out: 'alol',
      reward: 'column',
      steps: 3,
      batch: 4,
      seed: 2,
      valueEpochs: 2,
    });
    await jobEnd(backend, jobId);
    const run = await call(backend, 'runs.get', { runId });
    expect(run.status).toBe('succeeded');
    const report = run.summary?.advantages as AdvantageReport;
    // round(40 * 0.1) = 4 prompts, both of their rows; the other 72 rows train.
    expect(report.heldOut).toEqual({ from: 'training prompts held out of training', rows: 8, trainItems: 72 });
    expect(report.valueFit.rows).toBe(8);
    expect(report.valueFit.warning).toMatch(/only 8 held-out targets \(fewer than 20\)/);
    expect(report.valueTargets).toMatch(
      /V estimates the data's average reward there, not the reference's expected reward/,
    );
  });
});
