import type { TrainingCeiling } from '../../src/main/lm/trainingMemory';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { alol } from '../helpers/cli';
import { useTempDir } from '../helpers/tempDir';

const tempDir = useTempDir();
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const HH_RLHF = fileURLToPath(new URL('../../../shared/data/hh-rlhf-harmless-base-test.jsonl.gz', import.meta.url));

describe('alol CLI', () => {
  it('prints help listing every command of this step', () => {
    const run = alol(['--help']);
    expect(run.status).toBe(0);
    for (const command of ['import FILE', 'datasets', 'show DATASET', 'doctor', 'studio'])
      expect(run.stdout).toContain(command);
  });

  it('imports, lists and shows a dataset as JSON', () => {
    const project = tempDir();
    const imported = alol(['import', fixture('triples.jsonl'), '--name', 'triples', '--project', project, '--json']);
    expect(imported.stderr).toBe('');
    expect(imported.status).toBe(0);
    expect(imported.json()).toMatchObject({
      dataset: 'triples',
      version: 1,
      examples: 5,
      pairs: 0,
      duplicates: 1,
      emptyResponses: 1,
    });

    const list = alol(['datasets', '--project', project, '--json']);
    expect(list.json()).toEqual([expect.objectContaining({ name: 'triples', examples: 5, pairs: 0 })]);

    const show = alol(['show', 'triples', '--limit', '2', '--project', project, '--json']).json() as {
      dataset: { name: string };
      examples: { line: number }[];
      pairs: unknown[];
    };
    expect(show.dataset.name).toBe('triples');
    expect(show.examples.map((e) => e.line)).toEqual([1, 2]);
    expect(show.pairs).toEqual([]);
  });

  it('uses ALOL_PROJECT when --project is not given', () => {
    const project = tempDir();
    expect(alol(['import', fixture('hh-pairs.jsonl'), '--name', 'hh'], { ALOL_PROJECT: project }).status).toBe(0);
    expect(existsSync(join(project, 'studio.db'))).toBe(true);
  });

  it('reads other column names through field-mapping flags', () => {
    const project = tempDir();
    const file = join(tempDir(), 'qa.jsonl');
    writeFileSync(file, '{"question": "q?", "answer": "a.", "score": 0.25}\n');
    const run = alol([
      'import',
      file,
      '--name',
      'qa',
      '--format',
      'jsonl',
      '--prompt-field',
      'question',
      '--response-field',
      'answer',
      '--reward-field',
      'score',
      '--project',
      project,
      '--json',
    ]);
    expect(run.status).toBe(0);
    const shown = alol(['show', 'qa', '--project', project, '--json']).json() as {
      examples: { prompt: string; reward: number; rewardSource: string }[];
    };
    expect(shown.examples[0]).toMatchObject({ prompt: 'q?', reward: 0.25, rewardSource: 'column:score' });
  });

  it('reports a bad file by file, line and field, exits 1, and stores nothing', () => {
    const project = tempDir();
    const file = join(tempDir(), 'broken.jsonl');
    writeFileSync(file, '{"prompt": "p", "response": "r"}\n{"prompt": 3, "response": "r"}\n');
    const human = alol(['import', file, '--name', 'broken', '--project', project]);
    expect(human.status).toBe(1);
    expect(human.stderr).toMatch(/broken\.jsonl:2 field "prompt"/);
    const json = alol(['import', file, '--name', 'broken', '--project', project, '--json']);
    expect(json.status).toBe(1);
    expect(json.json()).toMatchObject({
      error: { code: 'import_invalid', issues: [{ file: 'broken.jsonl', line: 2, field: 'prompt' }] },
    });
    expect(alol(['datasets', '--project', project, '--json']).json()).toEqual([]);
  });

  it('gives usage errors exit code 2', () => {
    expect(alol(['frobnicate']).status).toBe(2);
    expect(alol(['import', fixture('triples.jsonl')]).stderr).toMatch(/--name is required/);
    expect(alol(['datasets', '--no-such-flag']).status).toBe(2);
  });

  it('doctor says which tensor backend runs and why, and whether Electron is usable', () => {
    const project = tempDir();
    const report = alol(['doctor', '--project', project, '--json']).json() as {
      node: string;
      projectDir: string;
      tensorBackend: {
        chosen: string;
        reason: string;
        candidates: { name: string; available: boolean; detail: string }[];
      };
      electron: { usable: boolean; reason: string };
    };
    expect(report.node).toBe(process.version);
    expect(report.projectDir).toBe(project);
    // Tried best first, stopping at the first that starts.
    const names = report.tensorBackend.candidates.map((c) => c.name);
    expect(names).toEqual(['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'].slice(0, names.length));
    expect(report.tensorBackend.candidates.at(-1)).toMatchObject({
      name: report.tensorBackend.chosen,
      available: true,
    });
    expect(report.tensorBackend.reason).not.toBe('');
    expect(report.electron.reason).not.toBe('');
    const human = alol(['doctor', '--project', project]);
    expect(human.stdout).toMatch(new RegExp(`Tensor backend:\\s+${report.tensorBackend.chosen} \\(`));
    // The largest models that train on the wasm heap, by what a run keeps there: fewer copies, larger models.
    const memory = (report as unknown as { trainingMemory: { limited: boolean; ceilings: TrainingCeiling[] } })
      .trainingMemory;
    expect(memory.limited).toBe(report.tensorBackend.chosen === 'wasm');
    expect(memory.ceilings.map((c) => c.copies)).toEqual([2, 3, 1]);
    expect(memory.ceilings[2]!.maxParameters).toBeGreaterThan(memory.ceilings[0]!.maxParameters);
    expect(memory.ceilings[0]!.maxParameters).toBeGreaterThan(memory.ceilings[1]!.maxParameters);
    expect(memory.ceilings[1]!.algorithms).toContain('a_lol');
    expect(memory.ceilings[0]!.algorithms).toContain('nll');
    // GPT-2 small (124M) trains with A-LoL in full (bench:memory), so the ceiling is above it.
    expect(memory.ceilings[1]!.maxParameters).toBeGreaterThan(124e6);
    expect(human.stdout).toMatch(/Training memory: .*\n\s+~\d+M parameters: full fine-tuning \(nll/);
  });

  it('honours a forced backend, and refuses an unknown one', () => {
    const project = tempDir();
    const forced = alol(['doctor', '--project', project, '--backend', 'cpu', '--json']).json() as {
      tensorBackend: { chosen: string; reason: string };
    };
    expect(forced.tensorBackend).toMatchObject({ chosen: 'cpu', reason: 'forced by --backend' });
    const env = alol(['doctor', '--project', project, '--json'], { ALOL_BACKEND: 'cpu' }).json() as {
      tensorBackend: { reason: string };
    };
    expect(env.tensorBackend.reason).toBe('forced by ALOL_BACKEND');
    const bad = alol(['doctor', '--project', project, '--backend', 'tpu']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/unknown backend "tpu"/);
  });

  it.runIf(existsSync(HH_RLHF))('imports the real HH-RLHF harmless-base test file as 2,312 pairs', () => {
    const project = tempDir();
    const run = alol(['import', HH_RLHF, '--name', 'hh-harmless', '--project', project, '--json']);
    expect(run.status).toBe(0);
    expect(run.json()).toMatchObject({ format: 'hh-rlhf', rows: 2312, pairs: 2312, examples: 0 });
  });

  it('reports whether the real HH-RLHF file is here', () => {
    if (!existsSync(HH_RLHF)) console.log(`NOTE: ${HH_RLHF} is absent: the real-data import test did not run`);
    expect(typeof HH_RLHF).toBe('string');
  });
});
