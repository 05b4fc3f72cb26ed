/**
 * Engine failures through the real CLI and its job processes end a run with a clear message, never
 * a bare engine error, and keep its last checkpoint:
 * - a WebGPU device (SwiftShader here) destroyed after step 3 (ALOL_TEST_LOSE_WEBGPU_AT, as a driver
 *   reset would take it): the run is interrupted, says its last checkpoint, and resumes on wasm;
 * - the wasm heap (32-bit, 4 GiB) exhausted by attention over 16 heads at a 1024-token context,
 *   batch 24: the run failed, says what to change, and does not suggest a resume.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alol } from '../helpers/cli';
import { useTempDir } from '../helpers/tempDir';
import { webgpuTestEnv } from '../lm/webgpu/helpers';
import type { RunSummary } from '../../src/shared/contract';

const tempDir = useTempDir('alol-engine-failure-');

function ok(args: string[], env: Record<string, string> = {}): string {
  const run = alol(args, env);
  expect(run.status, run.stderr).toBe(0);
  return run.stdout;
}

describe('engine failures end a run clearly and keep its last checkpoint', () => {
  it('a lost WebGPU device interrupts the run at its last checkpoint; it resumes on wasm', () => {
    const p = ['--project', tempDir()];
    const wasm = { ALOL_BACKEND: 'wasm' };
    ok(['demo', 'data', '--name', 'demo', '--prompts', '20', '--seed', '2', ...p]);
    ok(
      ['model', 'new', '--name', 'base', '--data', 'demo', '--layers', '1', '--dim', '32', '--heads', '2'].concat([
        '--context',
        '64',
        '--vocab',
        '300',
        ...p,
      ]),
      wasm,
    );
    const train = ['train', '--algo', 'nll', '--data', 'demo', '--init', 'base', '--out', 'tuned', '--steps', '5'];
    const lost = alol([...train, '--batch', '2', '--checkpoint-every', '1', ...p], {
      ...webgpuTestEnv(),
      ALOL_BACKEND: 'webgpu',
      ALOL_TEST_LOSE_WEBGPU_AT: 'step:3',
    });
    expect(lost.status).toBe(1);
    expect(lost.stderr).toMatch(/^alol: run 1: the GPU device was lost on google swiftshader .*\(destroyed: /m);
    expect(lost.stderr).toContain('Its last checkpoint is step 2: alol run resume 1 continues from it.');
    expect(lost.stderr).not.toMatch(/reading a WebGPU buffer failed/);

    const shown = ok(['run', 'show', '1', ...p]);
    expect(shown).toMatch(/^1 +nll +interrupted +3\/5 .* webgpu$/m);
    expect(shown).toMatch(/^backend: webgpu on google swiftshader .*fallback/m);
    expect(shown).toMatch(/^last checkpoint: step 2$/m);
    expect(shown).toMatch(/^interrupted: run 1: the GPU device was lost .*\(device_lost\)$/m);

    // Resumed on another backend: from the checkpoint of step 2, and the run lists both backends.
    ok(['run', 'resume', '1', ...p], wasm);
    const run = JSON.parse(ok(['run', 'show', '1', '--json', ...p])) as RunSummary;
    expect(run).toMatchObject({ status: 'succeeded', step: 5, lastCheckpoint: 5 });
    expect(run.tensorBackends.map((b) => [b.backend, b.fromStep])).toEqual([
      ['webgpu', 0],
      ['wasm', 2],
    ]);
    expect(run.tensorBackends[0]!.adapter).toMatch(/swiftshader/);
    expect(run.tensorBackends[1]!.adapter).toBeNull();
    expect(ok(['runs', ...p])).toMatch(/^1 +nll +succeeded +5\/5 .* webgpu then wasm$/m);
  }, 240_000);

  it('an exhausted wasm heap fails the run with what to change, and no resume', () => {
    const dir = tempDir();
    const p = ['--project', dir];
    // 32 responses of ~1,500 words: every example fills the 1024-token context.
    const words = ['alpha', 'beta', 'gamma', 'delta', 'river', 'stone', 'cloud', 'light', 'north', 'green'];
    let seed = 1;
    const next = () => (seed = (seed * 48271) % 2147483647);
    const rows = Array.from({ length: 32 }, (_, i) =>
      JSON.stringify({
        prompt: `\n\nHuman: story ${i}\n\nAssistant:`,
        response: Array.from({ length: 1500 }, () => words[next() % words.length]).join(' '),
      }),
    );
    writeFileSync(join(dir, 'long.jsonl'), rows.join('\n') + '\n');
    const wasm = { ALOL_BACKEND: 'wasm' };
    ok(['import', join(dir, 'long.jsonl'), '--name', 'long', ...p]);
    // 16 heads of size 1: the attention scores of batch 24 are 24 x 16 x 1024 x 1024 floats (1.5 GiB) per tensor.
    ok(
      ['model', 'new', '--name', 'wide', '--data', 'long', '--layers', '1', '--dim', '16', '--heads', '16'].concat([
        '--context',
        '1024',
        '--vocab',
        '300',
        ...p,
      ]),
      wasm,
    );
    const train = ['train', '--algo', 'nll', '--data', 'long', '--init', 'wide', '--out', 'never', '--steps', '2'];
    const failed = alol([...train, '--batch', '24', ...p], wasm);
    expect(failed.status).toBe(1);
    expect(failed.stderr).toMatch(
      /^alol: run 1: the wasm backend ran out of memory: its heap is 32-bit, at most 4 GiB .*\(wasm: RuntimeError: /m,
    );
    expect(failed.stderr).toContain('a smaller batch (--batch');
    expect(failed.stderr).toContain('the webgpu backend on a GPU');
    expect(failed.stderr).toContain('resuming does not help: change them in a new run');
    expect(failed.stderr).not.toContain('alol run resume');

    const shown = ok(['run', 'show', '1', ...p]);
    expect(shown).toMatch(/^1 +nll +failed +0\/2 .* wasm$/m);
    expect(shown).toMatch(/^last checkpoint: none$/m);
    expect(shown).toMatch(/^failed: run 1: the wasm backend ran out of memory.*\(out_of_memory\)$/m);
  }, 240_000);
});
