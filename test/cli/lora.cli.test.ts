/**
 * alol train --lora-r/--lora-alpha/--lora-dropout/--lora-targets on a model new --arch llama model,
 * the flags' refusals, and alol model merge of the run's PEFT adapter folder into the base.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alol } from '../helpers/cli';
import { useTempDir } from '../helpers/tempDir';

const tempDir = useTempDir();

describe('alol train with LoRA and alol model merge', () => {
  it('trains LoRA adapters from the flags and merges the adapter folder into the base', () => {
    const dir = tempDir();
    const p = ['--project', dir];
    expect(alol(['demo', 'data', '--name', 'demo', '--prompts', '20', '--seed', '2', ...p]).status).toBe(0);
    const created = alol([
      'model',
      'new',
      '--name',
      'base',
      '--data',
      'demo',
      '--arch',
      'llama',
      '--layers',
      '1',
      '--dim',
      '32',
      '--heads',
      '4',
      '--kv-heads',
      '2',
      '--context',
      '128',
      '--vocab',
      '300',
      ...p,
    ]);
    expect(created.status, created.stderr).toBe(0);

    const help = alol(['train', '--help']);
    expect(help.stdout).toMatch(/--lora-r\s+LoRA: train rank-r adapters/);
    expect(help.stdout).toMatch(/--lora-targets\s+LoRA targets, comma-separated from q,k,v,o,gate,up,down/);

    const common = ['train', '--algo', 'nll', '--data', 'demo', '--init', 'base', '--steps', '2', '--batch', '2'];
    expect(alol([...common, '--out', 'x', '--lora-alpha', '16', ...p]).stderr).toMatch(/--lora-alpha needs --lora-r/);
    expect(alol([...common, '--out', 'x', '--lora-r', '4', '--lora-targets', 'q,qq', ...p]).stderr).toMatch(
      /unknown qq; choose from q,k,v,o,gate,up,down/,
    );

    const run = alol([
      ...common,
      '--out',
      'tuned',
      '--lora-r',
      '4',
      '--lora-alpha',
      '16',
      '--lora-dropout',
      '0.05',
      '--lora-targets',
      'q,v,up',
      ...p,
      '--json',
    ]);
    expect(run.status, run.stderr).toBe(0);
    const summary = run.json() as {
      status: string;
      config: { lora: unknown };
      summary: { lora: { adapter: string; r: number } };
    };
    expect(summary.status).toBe('succeeded');
    expect(summary.config.lora).toEqual({ r: 4, alpha: 16, dropout: 0.05, targets: ['q', 'v', 'up'] });

    const merged = alol([
      'model',
      'merge',
      'base',
      '--adapter',
      join(dir, summary.summary.lora.adapter),
      '--out',
      'merged',
      ...p,
      '--json',
    ]);
    expect(merged.status, merged.stderr).toBe(0);
    expect(merged.json()).toMatchObject({ name: 'merged', parent: 'base', source: expect.stringMatching(/LoRA r=4/) });
    const list = alol(['models', ...p]);
    expect(list.stdout).toMatch(/tuned/);
  });
});
