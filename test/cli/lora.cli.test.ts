/**
 * alol train --lora-r/--lora-alpha/--lora-dropout/--lora-targets on a model new --arch llama model,
 * the flags' refusals, and alol model merge of the run's PEFT adapter folder into the base. On a
 * GPT-2 model: nll with the default targets (PEFT's c_attn: q,k,v) and A-LoL on every GPT-2 module
 * train as real processes, targets GPT-2 lacks or cannot split are refused before a run starts,
 * alol model merge of the run's folder stores the run's own model bit for bit, and a GPT-2 adapter
 * does not merge into a Llama model.
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSafetensors } from '../../src/main/lm/safetensors';
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

  it('trains LoRA on GPT-2 (nll and a_lol) and merges its adapter folder into the base', () => {
    const dir = tempDir();
    const p = ['--project', dir];
    expect(alol(['demo', 'data', '--name', 'demo', '--prompts', '20', '--seed', '2', ...p]).status).toBe(0);
    const shape = ['--layers', '1', '--dim', '32', '--heads', '4', '--context', '128', '--vocab', '300'];
    for (const [name, arch] of [
      ['gpt', 'gpt2'],
      ['llama', 'llama'],
    ]) {
      const created = alol(['model', 'new', '--name', name!, '--data', 'demo', '--arch', arch!, ...shape, ...p]);
      expect(created.status, created.stderr).toBe(0);
    }
    const common = ['train', '--data', 'demo', '--init', 'gpt', '--steps', '2', '--batch', '2', ...p];
    const refused = (targets: string) =>
      alol([...common, '--algo', 'nll', '--out', 'x', '--lora-r', '4', '--lora-targets', targets]);
    expect(refused('q,v').stderr).toMatch(/GPT-2 computes q, k and v with one fused c_attn.*give q, k and v together/);
    expect(refused('q,k,v,gate').stderr).toMatch(/GPT-2 has no gate projection/);
    expect(alol(['runs', ...p, '--json']).json()).toEqual([]); // refused before a run was stored

    const folderOf = (model: string) =>
      join(
        dir,
        'models',
        (alol(['models', ...p, '--json']).json() as { name: string; folder: string }[]).find((m) => m.name === model)!
          .folder,
      );
    type Run = { status: string; config: { lora: unknown }; summary: { lora: Record<string, unknown> } };
    const nll = alol([...common, '--algo', 'nll', '--out', 'gpt-nll', '--lora-r', '4', '--json']);
    expect(nll.status, nll.stderr).toBe(0);
    const nllRun = nll.json() as Run;
    expect(nllRun.status).toBe('succeeded');
    // No --lora-targets: PEFT's default for GPT-2, c_attn.
    expect(nllRun.config.lora).toEqual({ r: 4, alpha: 8, dropout: 0, targets: ['q', 'k', 'v'] });
    const nllConfig = JSON.parse(
      readFileSync(join(dir, String(nllRun.summary.lora.adapter), 'adapter_config.json'), 'utf8'),
    );
    expect(nllConfig).toMatchObject({
      target_modules: ['c_attn'],
      fan_in_fan_out: true,
      base_model_name_or_path: 'gpt',
    });

    const run = alol([
      ...common,
      '--algo',
      'a_lol',
      '--out',
      'gpt-alol',
      '--lora-r',
      '4',
      '--lora-alpha',
      '16',
      '--lora-dropout',
      '0.05',
      '--lora-targets',
      'q,k,v,o,up,down',
      '--json',
    ]);
    expect(run.status, run.stderr).toBe(0);
    const summary = run.json() as Run;
    expect(summary.status).toBe('succeeded');
    expect(summary.summary.lora).toMatchObject({ r: 4, alpha: 16, adapterTensors: 2 * 4 }); // 4 modules, 1 layer
    const adapter = join(dir, String(summary.summary.lora.adapter));
    const peft = readSafetensors(join(adapter, 'adapter_model.safetensors')).tensors;
    expect(peft.get('base_model.model.transformer.h.0.attn.c_attn.lora_B.weight')!.shape).toEqual([96, 4]);

    const merged = alol(['model', 'merge', 'gpt', '--adapter', adapter, '--out', 'gpt-merged', ...p, '--json']);
    expect(merged.status, merged.stderr).toBe(0);
    expect(merged.json()).toMatchObject({
      name: 'gpt-merged',
      parent: 'gpt',
      source: expect.stringMatching(/LoRA r=4 alpha=16/),
    });
    // The run stored the same merge: the two models' weights are equal bit for bit, and differ from the base's.
    const trained = readSafetensors(join(folderOf('gpt-alol'), 'model.safetensors')).tensors;
    const again = readSafetensors(join(folderOf('gpt-merged'), 'model.safetensors')).tensors;
    const base = readSafetensors(join(folderOf('gpt'), 'model.safetensors')).tensors;
    expect([...again.keys()].sort()).toEqual([...trained.keys()].sort());
    for (const [name, t] of trained) expect(again.get(name)!.data, name).toEqual(t.data);
    const changed = [...trained]
      .filter(([name, t]) => t.data.some((x, i) => x !== base.get(name)!.data[i]))
      .map(([n]) => n);
    expect(changed.sort()).toEqual(
      ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'].map((m) => `h.0.${m}.weight`).sort(),
    );

    // Both models read as base + adapter (models.list's adapter: the parent, the settings, the PEFT folder).
    const listed = alol(['models', ...p, '--json']).json() as { name: string; folder: string; adapter: unknown }[];
    const adapterOf = (name: string) => listed.find((m) => m.name === name)!.adapter;
    const expected = { base: 'gpt', r: 4, alpha: 16, dropout: 0.05, targets: ['q', 'k', 'v', 'o', 'up', 'down'] };
    expect(adapterOf('gpt-alol')).toEqual({ ...expected, folder: `models/${basename(folderOf('gpt-alol'))}/adapter` });
    expect(adapterOf('gpt-merged')).toMatchObject(expected);
    expect(adapterOf('gpt')).toBeNull();

    const wrong = alol(['model', 'merge', 'llama', '--adapter', adapter, '--out', 'nope', ...p]);
    expect(wrong.status).not.toBe(0);
    expect(wrong.stderr).toMatch(/adapts a GPT-2 model's modules, and "llama" is a Llama-family model/);
  });
});
