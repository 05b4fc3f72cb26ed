/**
 * The experiment end to end in its quick form (one seed, a tiny model, a few steps): every job in a
 * real job process through the backend's dispatch, every row in the table with finite figures.
 * Whether A-LoL beats NLL is the full run's question (bench/experiment.ts), far too slow for a test.
 */
import { describe, expect, it } from 'vitest';
import { EXPERIMENT_ALGOS, EXPERIMENT_PRESETS, formatExperimentTable, runExperiment } from '../../src/main/alol/experiment';
import { METRIC_NAMES } from '../../src/main/report/index';
import { builtFile } from '../helpers/built';
import { useTempDir } from '../helpers/tempDir';

const tempDir = useTempDir('alol-experiment-');

describe('runExperiment (quick)', () => {
  it('trains pi_ref and every algorithm from it, decodes the test prompts and tabulates every row', { timeout: 300_000 }, async () => {
    const lines: string[] = [];
    const quick = EXPERIMENT_PRESETS.quick;
    const results = await runExperiment({ ...quick, projectDir: tempDir(), jobEntry: builtFile('main/job.js'), onLog: (l) => lines.push(l) });

    const labels = results.rows.map((r) => r.label);
    expect(labels).toEqual(['data', 'reference', ...EXPERIMENT_ALGOS]);
    expect(EXPERIMENT_ALGOS).toEqual(expect.arrayContaining(['nll', 'wbc', 'dpo', 'a_lol', 'a_lol_ref_free', 'a_lol_seq', 'a_lol_kl']));
    for (const row of results.rows) {
      expect(row.perSeed).toHaveLength(1);
      // Every test prompt decoded once (the data row: every offline response of those prompts).
      const prompts = new Set(row.generations[0]!.map((g) => g.prompt));
      expect(prompts.size, row.label).toBe(quick.testPrompts);
      if (row.kind !== 'data') expect(row.generations[0], row.label).toHaveLength(quick.testPrompts!);
      for (const metric of METRIC_NAMES) {
        expect(Number.isFinite(row.summary[metric].mean), `${row.label} ${metric}`).toBe(true);
        // One seed: the spread is undefined, not zero.
        expect(row.summary[metric].sd).toBeNull();
      }
      for (const metric of ['reward', 'helpfulness', 'safety', 'distinct1', 'distinct2', 'distinct3'] as const) {
        expect(row.summary[metric].mean).toBeGreaterThanOrEqual(0);
        expect(row.summary[metric].mean).toBeLessThanOrEqual(1);
      }
    }
    // The steps each run took: pi_ref's budget, the algorithms' (A-LoL variants: budget x positive fraction).
    expect(results.rows.find((r) => r.kind === 'reference')?.steps).toEqual([quick.budget.refSteps]);
    for (const row of results.rows.filter((r) => r.kind === 'algo')) {
      const [steps] = row.steps;
      if (row.label.startsWith('a_lol')) expect(steps).toBeLessThanOrEqual(quick.budget.steps);
      else expect(steps).toBe(quick.budget.steps);
    }
    // The data row is the offline responses themselves: 8 per test prompt, their stored rewards' mean.
    expect(results.rows[0]!.generations[0]).toHaveLength(8 * quick.testPrompts!);
    expect(results.versusNll.map((v) => v.label)).toEqual(EXPERIMENT_ALGOS.filter((a) => a !== 'nll'));

    const table = formatExperimentTable(results);
    const lines0 = table.split('\n');
    for (const name of ['data (test split)', 'reference (pi_ref)', ...EXPERIMENT_ALGOS]) {
      expect(lines0.some((l) => l.startsWith(`${name} `)), name).toBe(true);
    }
    expect(table).not.toMatch(/NaN|Infinity|undefined/);
    expect(lines.some((l) => /pi_ref \(nll, 4 steps\): done/.test(l))).toBe(true);
  });
});
