import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alol } from '../helpers/cli';
import { useTempDir } from '../helpers/tempDir';

const tempDir = useTempDir();

describe('alol rewards model --dataset', () => {
  it('trains a reward model on a dataset’s pairs, prints its held-out accuracy with a Wilson interval, and scores with it', () => {
    const dir = tempDir();
    const p = ['--project', dir];
    // 10 prompts, no split: every pair is a candidate; the chosen reply carries a marker.
    const file = join(dir, 'prefs.jsonl');
    const lines = Array.from({ length: 10 }, (_, k) =>
      JSON.stringify({ prompt: `\n\nHuman: q${k}?\n\nAssistant:`, chosen: ` ZZZ fine ${k}.`, rejected: ` fine ${k}.` }),
    );
    writeFileSync(file, `${lines.join('\n')}\n`);
    expect(alol(['import', file, '--name', 'prefs', ...p]).status).toBe(0);
    expect(
      alol([
        'model',
        'new',
        '--name',
        'base',
        '--data',
        'prefs',
        '--layers',
        '1',
        '--dim',
        '32',
        '--heads',
        '2',
        '--context',
        '64',
        '--vocab',
        '280',
        ...p,
      ]).status,
    ).toBe(0);

    const made = alol([
      'rewards',
      'model',
      '--dataset',
      'prefs',
      '--name',
      'rm',
      '--base',
      'base',
      '--epochs',
      '40',
      '--lr',
      '3e-3',
      '--seed',
      '1',
      ...p,
    ]);
    expect(made.status).toBe(0);
    // round(10 * 0.2) = 2 prompts held out; both right: Wilson 2/2 = [2 / (2 + 1.96^2), 1] = [34.2%, 100%].
    expect(made.stdout).toContain(
      'Reward model "rm" on base, from dataset "prefs" v1: 10 pairs, 8 trained on, 2 held out (2 whole prompts).',
    );
    expect(made.stdout).toContain('held-out accuracy 100.0% (95% Wilson interval 34.2% to 100.0%)');
    expect(made.stdout).toContain('Score with it: --reward rm:rm');

    const items = join(dir, 'items.jsonl');
    writeFileSync(
      items,
      `${JSON.stringify({ prompt: '\n\nHuman: new?\n\nAssistant:', response: ' ZZZ fine 3.' })}\n${JSON.stringify({ prompt: '\n\nHuman: new?\n\nAssistant:', response: ' fine 3.' })}\n`,
    );
    const byFile = alol(['score', '--file', items, '--reward', 'rm:rm', ...p, '--json']).json() as {
      source: string;
      rows: { reward: number }[];
    };
    expect(byFile.source).toBe('rm:rm');
    expect(byFile.rows[0]!.reward).toBeGreaterThan(byFile.rows[1]!.reward);

    const both = alol(['rewards', 'model', 'camp', '--dataset', 'prefs', '--name', 'x', '--base', 'base', ...p]);
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/give a campaign or --dataset, not both/);
    const ruled = alol([
      'rewards',
      'model',
      '--dataset',
      'prefs',
      '--rule',
      'weighted',
      '--name',
      'x',
      '--base',
      'base',
      ...p,
    ]);
    expect(ruled.status).toBe(2);
    expect(ruled.stderr).toMatch(/--rule and --helpful-weight are for a campaign's ratings/);
    const noBase = alol(['rewards', 'model', '--dataset', 'prefs', '--name', 'x', ...p]);
    expect(noBase.status).toBe(2);
    expect(noBase.stderr).toMatch(/--base is required/);
    const noSplit = alol(['rewards', 'model', '--dataset', 'prefs:test', '--name', 'x', '--base', 'base', ...p]);
    expect(noSplit.status).toBe(1);
    expect(noSplit.stderr).toMatch(/dataset "prefs" v1 has no pairs in the split "test" \(its pairs have no split\)/);
  });
});
