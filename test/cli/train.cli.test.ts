import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alol } from '../helpers/cli';
import { useTempDir } from '../helpers/tempDir';

const tempDir = useTempDir();

describe('alol demo, train, runs, sample and score', () => {
  it('goes from the demo task to a trained model, its samples in the store and their scores', () => {
    const p = ['--project', tempDir()];
    const demo = alol(['demo', 'data', '--name', 'demo', '--prompts', '20', '--seed', '2', ...p, '--json']).json() as { examples: number; pairs: number };
    expect(demo.examples).toBeGreaterThan(0);
    expect(demo.pairs).toBeGreaterThan(0);
    expect(alol(['model', 'new', '--name', 'base', '--data', 'demo', '--layers', '1', '--dim', '32', '--heads', '2', '--context', '128', '--vocab', '300', ...p]).status).toBe(0);

    const help = alol(['train', '--help']);
    expect(help.stdout).toMatch(/--checkpoint-every\s+steps between checkpoints/);
    expect(help.stdout).toMatch(/--eps\s+importance-weight clip.*\(default 0\.9\)/);
    expect(alol(['train', '--algo', 'nll', ...p]).stderr).toMatch(/--data is required/);

    const trained = alol(['train', '--algo', 'nll', '--data', 'demo', '--init', 'base', '--out', 'sft', '--steps', '6', '--batch', '4', ...p, '--json']);
    expect(trained.stderr).toBe('');
    expect(trained.json()).toMatchObject({ id: 1, status: 'succeeded', step: 6, totalSteps: 6, outModel: 'sft', config: { algo: 'nll', steps: 6, eps: 0.9 } });
    expect(alol(['runs', ...p, '--json']).json()).toEqual([expect.objectContaining({ id: 1, status: 'succeeded' })]);
    const shown = alol(['run', 'show', '1', ...p, '--json']).json() as { metrics: { step: number }[] };
    expect(shown.metrics.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(alol(['run', 'resume', '1', ...p]).status).toBe(1);

    const out = join(tempDir(), 'samples.jsonl');
    const sampled = alol(['sample', '--model', 'sft', '--prompts', 'demo:test', '--max-new-tokens', '8', '--reward', 'demo', '--out', out, ...p, '--json']);
    expect(sampled.stderr).toBe('');
    const lines = sampled.stdout.trim().split('\n').map((l) => JSON.parse(l) as { prompt: string; response: string; model: string; rewards: Record<string, number> });
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l.model === 'sft' && typeof l.rewards.demo === 'number')).toBe(true);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(lines.length);

    const scored = alol(['score', '--file', out, '--reward', 'demo', ...p, '--json']).json() as { count: number; rows: { reward: number }[] };
    expect(scored.count).toBe(lines.length);
    expect(scored.rows.map((r) => r.reward)).toEqual(lines.map((l) => l.rewards.demo));
    expect(alol(['score', '--reward', 'demo', ...p]).status).toBe(2);
  });
});
