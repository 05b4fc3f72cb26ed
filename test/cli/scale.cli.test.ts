/**
 * Real size through the real command: a 200,000-row (prompt, response, reward) dataset imports and
 * trains A-LoL for a few steps (a tiny model keeps it quick; 2,000 prompts with 100 responses each
 * keep the advantage pass, which runs once per distinct prompt, short). Before, A-LoL died here
 * with "Maximum call stack size exceeded" from Math.max(...rewards) over every item.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alol } from '../helpers/cli';
import { useTempDir } from '../helpers/tempDir';

const tempDir = useTempDir();
const ROWS = 200_000;
const PROMPTS = 2_000;

describe('alol at 200,000 rows', () => {
  it('imports and trains A-LoL on 200,000 rows', { timeout: 300_000 }, () => {
    const dir = tempDir();
    const p = ['--project', join(dir, 'project')];
    const lines: string[] = [];
    for (let i = 0; i < ROWS; i++) {
      const prompt = `\n\nHuman: question ${i % PROMPTS}?\n\nAssistant:`;
      lines.push(JSON.stringify({ prompt, response: ` answer ${i % 7}.`, reward: (i % 10) / 10 }));
    }
    const file = join(dir, 'big.jsonl');
    writeFileSync(file, `${lines.join('\n')}\n`);

    const imported = alol(['import', file, '--name', 'big', ...p, '--json']);
    expect(imported.status, imported.stderr).toBe(0);
    expect(imported.json()).toMatchObject({ examples: ROWS });
    const created = alol([
      'model',
      'new',
      '--name',
      'tiny',
      '--data',
      'big',
      '--layers',
      '1',
      '--dim',
      '16',
      '--heads',
      '2',
      '--context',
      '32',
      '--vocab',
      '300',
      ...p,
      '--json',
    ]);
    expect(created.status, created.stderr).toBe(0);

    const trained = alol([
      'train',
      '--algo',
      'a_lol',
      '--data',
      'big',
      '--init',
      'tiny',
      '--out',
      'alol',
      '--reward',
      'column',
      '--steps',
      '3',
      '--batch',
      '8',
      '--value-epochs',
      '1',
      ...p,
      '--json',
    ]);
    expect(trained.status, trained.stderr).toBe(0);
    const run = trained.json() as {
      status: string;
      summary: { advantages: { heldOut: { rows: number; trainItems: number }; positiveFraction: number } };
    };
    expect(run.status).toBe('succeeded');
    // 10% of the 2,000 prompts (200, with their 100 rows each) hold out for the value head.
    expect(run.summary.advantages.heldOut).toMatchObject({ rows: 20_000, trainItems: 180_000 });
    expect(run.summary.advantages.positiveFraction).toBeGreaterThan(0);
  });
});
