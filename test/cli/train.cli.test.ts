import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alol } from '../helpers/cli';
import { useTempDir } from '../helpers/tempDir';

const tempDir = useTempDir();

describe('alol demo, train, runs, sample and score', () => {
  it('goes from the demo task to a trained model, its samples in the store and their scores', () => {
    const p = ['--project', tempDir()];
    const demo = alol(['demo', 'data', '--name', 'demo', '--prompts', '20', '--seed', '2', ...p, '--json']).json() as {
      examples: number;
      pairs: number;
    };
    expect(demo.examples).toBeGreaterThan(0);
    expect(demo.pairs).toBeGreaterThan(0);
    expect(
      alol([
        'model',
        'new',
        '--name',
        'base',
        '--data',
        'demo',
        '--layers',
        '1',
        '--dim',
        '32',
        '--heads',
        '2',
        '--context',
        '128',
        '--vocab',
        '300',
        ...p,
      ]).status,
    ).toBe(0);

    const help = alol(['train', '--help']);
    expect(help.stdout).toMatch(/--checkpoint-every\s+steps between checkpoints/);
    // The hyperparameters' help: who uses each, with the algorithm table's range and default.
    expect(help.stdout).toMatch(
      /--eps\s+importance-weight clip.*; used by r_lol, a_lol, a_lol_seq only; in \[0, 1\) \(default 0\.9\)/,
    );
    expect(help.stdout).toMatch(/--beta\s+DPO's beta.*; used by dpo only; > 0 \(default 0\.1\)/);
    expect(help.stdout).toMatch(/--kl-beta\s+weight of the KL term.*; used by a_lol_kl only; >= 0 \(default 0\.2\)/);
    expect(alol(['train', '--algo', 'nll', ...p]).stderr).toMatch(/--data is required/);
    // One the algorithm does not use is refused, not ignored: by the CLI with the flag's name...
    const unused = alol([
      'train',
      '--algo',
      'nll',
      '--eps',
      '0.5',
      '--data',
      'demo',
      '--init',
      'base',
      '--out',
      'never',
      ...p,
    ]);
    expect(unused.status).toBe(2);
    expect(unused.stderr).toBe(
      'alol: train: --eps is used by r_lol, a_lol, a_lol_seq (the importance-weight clip); nll does not use it\n',
    );
    const klBeta = alol([
      'train',
      '--algo',
      'a_lol',
      '--kl-beta',
      '0.3',
      '--data',
      'demo',
      '--init',
      'base',
      '--out',
      'never',
      ...p,
    ]);
    expect(klBeta.status).toBe(2);
    expect(klBeta.stderr).toMatch(/--kl-beta is used by a_lol_kl \(the weight of the KL term\); a_lol does not use it/);
    // ...and a used one out of the table's range, by the contract.
    const range = alol([
      'train',
      '--algo',
      'a_lol',
      '--eps',
      '1',
      '--data',
      'demo',
      '--init',
      'base',
      '--out',
      'never',
      ...p,
    ]);
    expect(range.status).toBe(1);
    expect(range.stderr).toMatch(/field "eps"/);
    expect(alol(['runs', ...p, '--json']).json()).toEqual([]);

    const trained = alol([
      'train',
      '--algo',
      'nll',
      '--data',
      'demo',
      '--init',
      'base',
      '--out',
      'sft',
      '--steps',
      '6',
      '--batch',
      '4',
      ...p,
      '--json',
    ]);
    expect(trained.stderr).toBe('');
    expect(trained.json()).toMatchObject({
      id: 1,
      status: 'succeeded',
      step: 6,
      totalSteps: 6,
      outModel: 'sft',
      config: { algo: 'nll', steps: 6 },
    });
    // nll reads no eps, beta or klBeta, and its run records none.
    expect(Object.keys((trained.json() as { config: object }).config)).not.toContain('eps');
    expect(alol(['runs', ...p, '--json']).json()).toEqual([expect.objectContaining({ id: 1, status: 'succeeded' })]);
    const shown = alol(['run', 'show', '1', ...p, '--json']).json() as { metrics: { step: number }[] };
    expect(shown.metrics.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(alol(['run', 'resume', '1', ...p]).status).toBe(1);

    const out = join(tempDir(), 'samples.jsonl');
    const sampled = alol([
      'sample',
      '--model',
      'sft',
      '--prompts',
      'demo:test',
      '--max-new-tokens',
      '8',
      '--reward',
      'demo',
      '--out',
      out,
      ...p,
      '--json',
    ]);
    expect(sampled.stderr).toBe('');
    const lines = sampled.stdout
      .trim()
      .split('\n')
      .map(
        (l) => JSON.parse(l) as { prompt: string; response: string; model: string; rewards: Record<string, number> },
      );
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l.model === 'sft' && typeof l.rewards.demo === 'number')).toBe(true);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(lines.length);

    const scored = alol(['score', '--file', out, '--reward', 'demo', ...p, '--json']).json() as {
      count: number;
      rows: { reward: number }[];
    };
    expect(scored.count).toBe(lines.length);
    expect(scored.rows.map((r) => r.reward)).toEqual(lines.map((l) => l.rewards.demo));
    expect(alol(['score', '--reward', 'demo', ...p]).status).toBe(2);
  });
});
