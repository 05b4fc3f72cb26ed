/**
 * A run's checkpoints (writeCheckpoint, readLatestCheckpoint): one folder per step, complete only
 * with its manifest of sha256 hashes, written last; the one before the newest kept. A checkpoint
 * whose write was cut short, or whose files were damaged after, is passed over for the previous.
 */
import { existsSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkpointFolder,
  readLatestCheckpoint,
  writeCheckpoint,
  writeTrainingState,
  type TrainingState,
} from '../../src/main/lm/checkpoint';
import { Rng } from '../../src/main/core/rng';
import { useTempDir } from '../helpers/tempDir';

const tempDir = useTempDir();

function state(step: number): TrainingState {
  const rng = new Rng(step);
  return {
    step,
    rng: rng.state(),
    optimizer: new Map([
      ['policy/w', { shape: [2, 3], data: Float32Array.from({ length: 6 }, () => rng.uniform()) }],
      ['adam.m/w', { shape: [2, 3], data: Float32Array.from({ length: 6 }, () => rng.uniform()) }],
    ]),
    extra: { format: 1, step },
  };
}

describe('run checkpoints', () => {
  it('writes a folder per step with a manifest last, and keeps the newest two', () => {
    const root = tempDir();
    expect(readLatestCheckpoint(root)).toEqual({ found: null, skipped: [] });
    const stages: string[] = [];
    writeCheckpoint(root, state(2), { onStage: (s) => stages.push(s) });
    expect(stages).toEqual([
      'written optimizer.safetensors',
      'written trainer_state.json',
      'written manifest.json',
      'renamed optimizer.safetensors',
      'renamed trainer_state.json',
      'renamed manifest.json',
      'committed',
      'pruned',
    ]);
    writeCheckpoint(root, state(4));
    writeCheckpoint(root, state(6));
    expect(readdirSync(root).sort()).toEqual(['step-000000004', 'step-000000006']);
    expect(readdirSync(checkpointFolder(root, 6)).sort()).toEqual([
      'manifest.json',
      'optimizer.safetensors',
      'trainer_state.json',
    ]);
    const manifest = JSON.parse(readFileSync(join(checkpointFolder(root, 6), 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ format: 'alol-checkpoint-manifest', step: 6 });
    expect(manifest.files['optimizer.safetensors'].sha256).toMatch(/^[0-9a-f]{64}$/);
    const latest = readLatestCheckpoint(root);
    expect(latest.skipped).toEqual([]);
    expect(latest.found?.dir).toBe(checkpointFolder(root, 6));
    expect(latest.found?.state.step).toBe(6);
    expect(latest.found?.state.optimizer.get('policy/w')?.data).toEqual(state(6).optimizer.get('policy/w')?.data);
  });

  for (const [what, damage, reason] of [
    ['truncated', (f: string) => truncateSync(f, 40), /bytes, but manifest\.json records \d+: torn or damaged/],
    [
      'a flipped byte',
      (f: string) => {
        const b = readFileSync(f);
        b[b.byteLength - 1] = b[b.byteLength - 1]! ^ 1;
        writeFileSync(f, b);
      },
      /sha256 [0-9a-f]{64} differs from [0-9a-f]{64} in manifest\.json: damaged/,
    ],
    ['missing', (f: string) => rmSync(f), /missing, though manifest\.json lists it/],
  ] as const) {
    it(`passes over a checkpoint whose optimizer file is ${what}, for the one before it`, () => {
      const root = tempDir();
      writeCheckpoint(root, state(4));
      writeCheckpoint(root, state(6));
      damage(join(checkpointFolder(root, 6), 'optimizer.safetensors'));
      const latest = readLatestCheckpoint(root);
      expect(latest.found?.state.step).toBe(4);
      expect(latest.skipped).toHaveLength(1);
      expect(latest.skipped[0]!.reason).toMatch(reason);
    });
  }

  it('passes over a write cut short before its manifest, and writes that step anew', () => {
    const root = tempDir();
    writeCheckpoint(root, state(4));
    writeCheckpoint(root, state(6));
    // A kill after the new files were renamed and before the manifest: what is left has no manifest.
    rmSync(join(checkpointFolder(root, 6), 'manifest.json'));
    const latest = readLatestCheckpoint(root);
    expect(latest.found?.state.step).toBe(4);
    expect(latest.skipped[0]!.reason).toMatch(/manifest\.json: not found: the checkpoint's write did not finish/);
    // A damaged manifest is as good as none.
    writeCheckpoint(root, state(6));
    writeFileSync(join(checkpointFolder(root, 6), 'manifest.json'), '{"format": "alol-checkpoint-man');
    expect(readLatestCheckpoint(root).found?.state.step).toBe(4);
    // The resumed run writes step 6 again, and a later step prunes 4.
    writeCheckpoint(root, state(6));
    writeCheckpoint(root, state(8));
    expect(readdirSync(root).sort()).toEqual(['step-000000006', 'step-000000008']);
    expect(readLatestCheckpoint(root).found?.state.step).toBe(8);
  });

  it('removes checkpoints of later steps (an abandoned attempt) when an earlier step is written', () => {
    const root = tempDir();
    writeCheckpoint(root, state(4));
    writeCheckpoint(root, state(6));
    rmSync(join(checkpointFolder(root, 6), 'manifest.json'));
    writeCheckpoint(root, state(5));
    expect(readdirSync(root).sort()).toEqual(['step-000000004', 'step-000000005']);
  });

  it('reads a checkpoint written before step folders, and supersedes it with the first new one', () => {
    const root = tempDir();
    writeTrainingState(root, state(3));
    expect(readLatestCheckpoint(root).found).toMatchObject({ dir: root, state: { step: 3 } });
    writeCheckpoint(root, state(4));
    expect(existsSync(join(root, 'trainer_state.json'))).toBe(false);
    expect(readLatestCheckpoint(root).found?.state.step).toBe(4);
  });

  it('starts over (found null) when every checkpoint is damaged, saying why for each', () => {
    const root = tempDir();
    writeCheckpoint(root, state(4));
    writeCheckpoint(root, state(6));
    for (const step of [4, 6]) truncateSync(join(checkpointFolder(root, step), 'trainer_state.json'), 3);
    const latest = readLatestCheckpoint(root);
    expect(latest.found).toBeNull();
    expect(latest.skipped.map((s) => s.dir)).toEqual([checkpointFolder(root, 6), checkpointFolder(root, 4)]);
  });
});
