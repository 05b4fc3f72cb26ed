/**
 * The experiment end to end in its quick form (selection on dev over a 2-point grid, then 2 seeds
 * on frozen settings; a tiny model, a few steps): every job in a real job process through the
 * backend's dispatch. Whether A-LoL beats NLL is the full run's question (bench/experiment.ts), far
 * too slow for a test. The statistics are checked with hand-computed values.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  EXPERIMENT_PRESETS,
  formatExperimentTable,
  runExperiment,
  summarizeVerdicts,
  type SystemSummary,
} from '../../src/main/workflows/experiment';
import { readHhPairs, splitByPrompt } from '../../src/main/workflows/experimentHh';
import { meanOfSeeds, pairedDifference, twoLevelBootstrap, verdict } from '../../src/main/workflows/experimentStats';
import { builtFile } from '../helpers/built';
import { useTempDir } from '../helpers/tempDir';

const tempDir = useTempDir('alol-experiment-');

describe('experiment statistics', () => {
  it('means each seed over its prompts, then the seeds', () => {
    // Seed means 0.5 and 0.2 (three prompts vs two): (0.5 + 0.2) / 2, not the mean of all five.
    expect(
      meanOfSeeds([
        [0.2, 0.5, 0.8],
        [0.1, 0.3],
      ]),
    ).toBeCloseTo(0.35, 12);
  });

  it('pairs differences by seed and prompt, and refuses tables of different shapes', () => {
    expect(
      pairedDifference(
        [
          [1, 0.5],
          [0.25, 0],
        ],
        [
          [0.5, 0.5],
          [0, 1],
        ],
      ),
    ).toEqual([
      [0.5, 0],
      [0.25, -1],
    ]);
    expect(() => pairedDifference([[1]], [[1], [1]])).toThrow(/1 seeds against 2/);
    expect(() => pairedDifference([[1, 2]], [[1]])).toThrow(/seed 0 has 2 prompts against 1/);
  });

  it('gives a zero-width interval when nothing varies, and brackets the mean otherwise', () => {
    const flat = twoLevelBootstrap(
      [
        [0.3, 0.3],
        [0.3, 0.3, 0.3],
      ],
      { resamples: 50, seed: 1 },
    );
    expect(flat.mean).toBeCloseTo(0.3, 12);
    expect(flat.lo).toBeCloseTo(0.3, 12);
    expect(flat.hi).toBeCloseTo(0.3, 12);
    // Two seeds, each constant over prompts: only the seed level varies, so every resample's mean is
    // 0, 0.5 or 1 (both draws seed 0, one each, both seed 1), and the 95% interval spans [0, 1].
    const seeds = twoLevelBootstrap(
      [
        [0, 0, 0],
        [1, 1, 1],
      ],
      { resamples: 400, seed: 7 },
    );
    expect(seeds.mean).toBe(0.5);
    expect(seeds.lo).toBe(0);
    expect(seeds.hi).toBe(1);
    // Seeded: the same settings give the same interval.
    const table = [
      [0.1, 0.9, 0.4],
      [0.6, 0.2, 0.7],
    ];
    expect(twoLevelBootstrap(table, { resamples: 300, seed: 3 })).toEqual(
      twoLevelBootstrap(table, { resamples: 300, seed: 3 }),
    );
  });

  it('puts each system under the verdict its interval gives, and says what NLL did to pi_ref', () => {
    const row = (
      label: string,
      vsReference: [number, number, number] | null,
      vsNll: [number, number, number] | null,
    ): SystemSummary => ({
      label,
      reward: { mean: 0.5, lo: 0.4, hi: 0.6 },
      vsReference: vsReference && { mean: vsReference[0], lo: vsReference[1], hi: vsReference[2] },
      vsReferenceVerdict:
        vsReference && verdict({ mean: vsReference[0], lo: vsReference[1], hi: vsReference[2] }, 'pi_ref'),
      vsNll: vsNll && { mean: vsNll[0], lo: vsNll[1], hi: vsNll[2] },
      vsNllVerdict: vsNll && verdict({ mean: vsNll[0], lo: vsNll[1], hi: vsNll[2] }, 'NLL'),
      helpfulness: null,
      safety: null,
      words: 10,
      distinct2: 0.3,
      stepsTaken: 100,
    });
    const text = summarizeVerdicts([
      row('reference', null, null),
      row('nll', [-0.05, -0.08, -0.02], null),
      row('a_lol', [0.04, 0.01, 0.07], [0.09, 0.05, 0.12]),
      row('dpo', [-0.1, -0.2, -0.05], [-0.05, -0.1, 0.01]),
    ]);
    expect(text).toBe(
      'NLL against its own start pi_ref: −0.050 [−0.080, −0.020], worse than pi_ref. ' +
        'Against NLL (same seed, same prompt) — better: a_lol; no better, interval includes 0: dpo; worse: none. ' +
        'Against pi_ref — better: a_lol; no better, interval includes 0: none; worse: dpo.',
    );
  });

  it('says what an interval shows and no more', () => {
    expect(verdict({ mean: 0.1, lo: 0.02, hi: 0.2 }, 'NLL')).toBe('better than NLL');
    expect(verdict({ mean: -0.1, lo: -0.2, hi: -0.01 }, 'pi_ref')).toBe('worse than pi_ref');
    expect(verdict({ mean: 0.1, lo: -0.01, hi: 0.2 }, 'NLL')).toBe('no better than NLL: interval includes 0');
  });
});

const root = fileURLToPath(new URL('../..', import.meta.url));
const hhFile = join(root, '..', 'shared', 'data', 'hh-rlhf-harmless-base-test.jsonl.gz');

describe('the HH-RLHF experiment data', () => {
  it('reads every pair of the bundled file with its prompt, and holds out 20% of the prompts whole', () => {
    const { pairs, lines, skipped } = readHhPairs(hhFile);
    expect(lines).toBe(2312);
    expect(skipped).toBe(0);
    expect(pairs).toHaveLength(2312);
    for (const p of pairs) {
      expect(p.chosen.startsWith(p.prompt) && p.rejected.startsWith(p.prompt)).toBe(true);
      expect(p.prompt.endsWith('\n\nAssistant:')).toBe(true);
    }
    const prompts = new Set(pairs.map((p) => p.prompt));
    const { test, train } = splitByPrompt(pairs, 0.2, 1);
    expect(test).toHaveLength(Math.round(prompts.size * 0.2));
    expect(train.size + test.length).toBe(prompts.size);
    expect(test.filter((p) => train.has(p))).toEqual([]);
    // Seeded: the same seed gives the same split, another seed another one.
    expect(splitByPrompt(pairs, 0.2, 1).test).toEqual(test);
    expect(splitByPrompt(pairs, 0.2, 2).test).not.toEqual(test);
  });
});

describe('runExperiment (quick)', () => {
  it(
    'chooses each setting on dev, freezes it for 2 fresh seeds on test, and summarizes paired differences',
    { timeout: 300_000 },
    async () => {
      const lines: string[] = [];
      const quick = EXPERIMENT_PRESETS.quick;
      const results = await runExperiment({
        ...quick,
        projectDir: tempDir(),
        jobEntry: builtFile('main/job.js'),
        onLog: (l) => lines.push(l),
      });

      // Selection: every algorithm at every grid point, on the dev prompts, and the best one frozen.
      const { selection } = results;
      expect(selection.split).toBe('validation');
      expect(selection.prompts).toHaveLength(quick.devPrompts!);
      expect(selection.grid).toHaveLength(quick.algos.length * quick.grid.lr.length * quick.grid.steps.length);
      for (const algo of quick.algos) {
        const mine = selection.grid.filter((g) => g.algo === algo);
        expect(mine.map((g) => g.lr)).toEqual(quick.grid.lr);
        for (const g of mine) {
          expect(g.devReward).toBeGreaterThanOrEqual(0);
          expect(g.devReward).toBeLessThanOrEqual(1);
        }
        // The first of the best (ties go to grid order).
        const best = mine.reduce((a, b) => (b.devReward > a.devReward ? b : a));
        expect(selection.chosen[algo]).toEqual({ lr: best.lr, steps: best.steps });
      }

      // Evaluation: the frozen settings, 2 seeds, every test prompt, none of them a dev prompt.
      const [task] = results.tasks;
      expect(results.tasks).toHaveLength(1);
      expect(task!.seeds).toEqual([1, 2]);
      expect(task!.prompts).toHaveLength(quick.testPrompts!);
      expect(task!.prompts.filter((p) => selection.prompts.includes(p))).toEqual([]);
      expect(task!.systems.map((s) => s.label)).toEqual(['reference', ...quick.algos]);
      for (const system of task!.systems) {
        expect(system.rewards).toHaveLength(2);
        for (const row of system.rewards) {
          expect(row).toHaveLength(quick.testPrompts!);
          for (const r of row) expect(r >= 0 && r <= 1, `${system.label} reward ${r}`).toBe(true);
        }
        // The per-seed figures are those of the same decodes as the per-prompt rewards.
        system.metrics.forEach((m, i) =>
          expect(m.reward).toBeCloseTo(system.rewards[i]!.reduce((a, b) => a + b, 0) / quick.testPrompts!, 3),
        );
        if (system.algo !== null) expect(system.setting).toEqual(selection.chosen[system.algo]);
      }
      expect(task!.systems[0]!.stepsTaken).toEqual([quick.budget.refSteps, quick.budget.refSteps]);

      // The summary: differences paired by seed and prompt, their intervals around them.
      const rewardsOf = (label: string) => task!.systems.find((s) => s.label === label)!.rewards;
      const alol = task!.summary.find((s) => s.label === 'a_lol')!;
      const byHand = meanOfSeeds(pairedDifference(rewardsOf('a_lol'), rewardsOf('nll')));
      expect(alol.vsNll!.mean).toBeCloseTo(byHand, 12);
      expect(alol.vsNll!.lo).toBeLessThanOrEqual(alol.vsNll!.mean + 1e-12);
      expect(alol.vsNll!.hi).toBeGreaterThanOrEqual(alol.vsNll!.mean - 1e-12);
      expect(alol.vsNllVerdict).toBe(verdict(alol.vsNll!, 'NLL'));
      const nll = task!.summary.find((s) => s.label === 'nll')!;
      expect(nll.vsNll).toBeNull();
      expect(nll.vsReference!.mean).toBeCloseTo(
        meanOfSeeds(pairedDifference(rewardsOf('nll'), rewardsOf('reference'))),
        12,
      );
      expect(task!.summary.find((s) => s.label === 'reference')!.vsReference).toBeNull();

      const table = formatExperimentTable(results);
      for (const name of ['| reference (pi_ref) |', '| nll |', '| a_lol |', '| data (test split', '| dev reward |'])
        expect(table).toContain(name);
      expect(table).toContain(alol.vsNllVerdict!);
      expect(table).not.toMatch(/NaN|Infinity|undefined/);
      expect(lines.some((l) => /selection: a_lol frozen at lr/.test(l))).toBe(true);
      // The results are plain data: they survive JSON as they are.
      expect(JSON.parse(JSON.stringify(results))).toEqual(results);

      // The README's table comes from the results file, between its markers and nowhere else.
      const dir = tempDir();
      const resultsFile = join(dir, 'experiment-demo.json');
      const provenance = {
        commit: 'abc123 dirty',
        node: 'v20',
        platform: 'linux x64',
        cpus: 2,
        loadAverageAtStart: 1,
        date: '2026-01-01T00:00:00.000Z',
      };
      writeFileSync(resultsFile, JSON.stringify({ ...results, provenance }));
      const readme = join(dir, 'README.md');
      writeFileSync(readme, 'before\n<!-- experiment:demo:start -->\nold table\n<!-- experiment:demo:end -->\nafter\n');
      const script = (...args: string[]) =>
        execFileSync(
          process.execPath,
          [
            '--import',
            'tsx',
            join(root, 'bench', 'experimentTable.ts'),
            '--readme',
            readme,
            '--demo',
            resultsFile,
            '--hh',
            join(dir, 'none.json'),
            ...args,
          ],
          {
            cwd: root,
            encoding: 'utf8',
          },
        );
      script();
      const written = readFileSync(readme, 'utf8');
      expect(written.startsWith('before\n<!-- experiment:demo:start -->\nA small-scale reproduction')).toBe(true);
      expect(written.endsWith('<!-- experiment:demo:end -->\nafter\n')).toBe(true);
      expect(written).not.toContain('old table');
      expect(written).toContain(table);
      expect(written).toContain('commit abc123 (with uncommitted changes)');
      expect(script('--check')).toMatch(/match the results files/);
    },
  );
});
