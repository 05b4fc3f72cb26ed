import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { alol } from '../helpers/cli';
import { useTempDir } from '../helpers/tempDir';

const tempDir = useTempDir();
const HH_RLHF = fileURLToPath(new URL('../../../shared/data/hh-rlhf-harmless-base-test.jsonl.gz', import.meta.url));

describe('alol train --pairs', () => {
  it('trains a_lol on both responses of an imported pairs file with label rewards, and refuses pairs for dpo', () => {
    const dir = tempDir();
    const p = ['--project', dir];
    // TRL preference format: 20 prompts, each a good and a bad answer.
    const file = join(dir, 'prefs.jsonl');
    const lines = Array.from({ length: 20 }, (_, k) =>
      JSON.stringify({ prompt: `\n\nHuman: q${k}?\n\nAssistant:`, chosen: ` sure, ${k}.`, rejected: ` no.` }),
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
        '300',
        ...p,
      ]).status,
    ).toBe(0);

    const help = alol(['train', '--help']);
    expect(help.stdout).toMatch(/--pairs\s+train on a pairs dataset's responses as single responses: both/);
    expect(help.stdout).toMatch(/--reward\s+.*label \(with pairs: chosen 1, rejected 0\), rm:NAME/);

    const trained = alol([
      'train',
      '--algo',
      'a_lol',
      '--data',
      'prefs',
      '--pairs',
      'both',
      '--reward',
      'label',
      '--init',
      'base',
      '--out',
      'alol',
      '--steps',
      '6',
      '--batch',
      '4',
      '--value-epochs',
      '2',
      ...p,
      '--json',
    ]);
    expect(trained.stderr).toBe('');
    const run = trained.json() as {
      status: string;
      config: { pairs: string };
      totalSteps: number;
      summary: { rewardSource: string; data: unknown; advantages: { positiveFraction: number } };
    };
    expect(run).toMatchObject({ status: 'succeeded', config: { pairs: 'both' } });
    // round(20 * 0.1) = 2 prompts held out with both their responses: 40 - 4 = 36 items, half of them chosen.
    expect(run.summary.data).toEqual({
      source: 'pairs (both)',
      trainItems: 36,
      heldOutItems: 4,
      rewards: { count: 36, mean: 0.5, min: 0, max: 1 },
      labels: { chosen: 18, rejected: 18 },
    });
    expect(run.summary.rewardSource).toBe('label (chosen 1, rejected 0)');
    expect(run.summary.advantages.positiveFraction).toBe(0.5);
    expect(run.totalSteps).toBe(3);

    const dpo = alol([
      'train',
      '--algo',
      'dpo',
      '--data',
      'prefs',
      '--pairs',
      'both',
      '--init',
      'base',
      '--out',
      'dpo',
      ...p,
    ]);
    expect(dpo.status).toBe(1);
    expect(dpo.stderr).toMatch(/dpo trains on the preference pairs themselves; leave pairs \(--pairs\) out/);
    const nll = alol(['train', '--algo', 'nll', '--data', 'prefs', '--init', 'base', '--out', 'nll', ...p]);
    expect(nll.status).toBe(1);
    expect(nll.stderr).toMatch(
      /holds preference pairs only: train nll on their responses with pairs \(--pairs\) both, chosen or rejected/,
    );
  });

  if (!existsSync(HH_RLHF)) console.log(`NOTE: ${HH_RLHF} is absent: the real-data --pairs test did not run`);
  it.runIf(existsSync(HH_RLHF))(
    'trains a_lol on both sides of the real HH-RLHF pairs: 4,624 responses, half of them dropped',
    () => {
      const p = ['--project', tempDir()];
      expect(alol(['import', HH_RLHF, '--name', 'hh', ...p]).status).toBe(0);
      expect(
        alol([
          'model',
          'new',
          '--name',
          'base',
          '--data',
          'hh',
          '--layers',
          '1',
          '--dim',
          '32',
          '--heads',
          '2',
          '--context',
          '64',
          '--vocab',
          '300',
          ...p,
        ]).status,
      ).toBe(0);
      const trained = alol([
        'train',
        '--algo',
        'a_lol',
        '--data',
        'hh',
        '--pairs',
        'both',
        '--reward',
        'label',
        '--init',
        'base',
        '--out',
        'alol',
        '--steps',
        '4',
        '--batch',
        '4',
        '--value-epochs',
        '1',
        ...p,
        '--json',
      ]);
      expect(trained.stderr).toBe('');
      const run = trained.json() as {
        status: string;
        totalSteps: number;
        summary: {
          data: { trainItems: number; heldOutItems: number; labels: { chosen: number; rejected: number } };
          advantages: { positiveFraction: number };
        };
      };
      expect(run.status).toBe('succeeded');
      const { data } = run.summary;
      // 2,312 pairs, two responses each; a held-out prompt takes both of its responses out.
      expect(data.trainItems + data.heldOutItems).toBe(2 * 2312);
      expect(data.heldOutItems).toBeGreaterThan(0);
      expect(data.labels.chosen).toBe(data.trainItems / 2);
      expect(data.labels.rejected).toBe(data.trainItems / 2);
      expect(run.summary.advantages.positiveFraction).toBe(0.5);
      expect(run.totalSteps).toBe(2);
    },
  );
});
