/**
 * Relabelling and dataset systems through the built `alol` command: a campaign over the real
 * HH-RLHF test file's own pairs (ratings given in the raw format, exported per criterion), and a
 * campaign of a model against a dataset's own answers (data:DATASET).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { alol, type CliRun } from '../helpers/cli';
import { useSuiteTempDir } from '../helpers/tempDir';

const REAL_FILE = fileURLToPath(new URL('../../../shared/data/hh-rlhf-harmless-base-test.jsonl.gz', import.meta.url));
const exists = existsSync(REAL_FILE);

interface Side {
  system: string;
  response: string;
}
interface Item {
  id: number;
  kind: 'pair' | 'gold';
  prompt: string;
  first: Side;
  second: Side;
  datasetChosen: 'first' | 'second' | null;
}

describe('alol campaign create --pairs and data: systems', () => {
  const suiteDir = useSuiteTempDir('alol-relabel-cli-');
  let dir: string;
  let p: string[];
  const ok = (run: CliRun) => {
    expect(run.status, run.stderr).toBe(0);
    return run;
  };
  const json = <T>(args: string[]) => ok(alol([...args, ...p, '--json'])).json() as T;

  beforeAll(() => {
    dir = suiteDir();
    p = ['--project', join(dir, 'project')];
    ok(alol(['demo', 'data', '--name', 'demo', '--prompts', '20', ...p]));
    ok(
      alol([
        'model',
        'new',
        '--name',
        'm1',
        '--data',
        'demo',
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
        '--seed',
        '1',
        ...p,
      ]),
    );
    if (exists) ok(alol(['import', REAL_FILE, '--name', 'hh', ...p]));
  }, 120_000);

  it.runIf(exists)(
    'relabels the HH-RLHF pairs, takes ratings, and exports a TRL preference file per criterion',
    () => {
      const human = ok(
        alol(['campaign', 'create', '--name', 'R', '--pairs', 'hh', '--n', '6', '--gold', '1', '--seed', '2', ...p]),
      );
      expect(human.stdout).toContain('Campaign "R" (ready)');
      expect(human.stdout).toMatch(/systems:\s+data:hh:chosen, data:hh:rejected/);
      expect(human.stdout).toMatch(/pairs:\s+6 of hh v1 \(relabelling: chosen against rejected\)/);
      expect(human.stdout).toMatch(/items:\s+6 pairs \+ 1 gold/);

      const items = json<Item[]>(['campaign', 'items', 'R']);
      const pairs = items.filter((i) => i.kind === 'pair');
      expect(pairs).toHaveLength(6);
      for (const i of pairs) expect((i.datasetChosen === 'first' ? i.first : i.second).system).toBe('data:hh:chosen');

      // An annotator (ratings made elsewhere, the raw format): helpfulness agrees with the dataset on
      // 4 of the 5 decisive answers (one "both bad"); safety always picks the rejected response.
      const written = pairs.map((item, k) => {
        const chosen = item.datasetChosen as 'first' | 'second';
        const rejected = chosen === 'first' ? 'second' : 'first';
        return {
          item: item.id,
          prompt: item.prompt,
          first: { system: item.first.system, response: item.first.response },
          second: { system: item.second.system, response: item.second.response },
          annotator: 'ann',
          helpful: k === 0 ? rejected : k === 1 ? 'both_bad' : chosen,
          safe: rejected,
        };
      });
      const raw = join(dir, 'ann.jsonl');
      writeFileSync(raw, written.map((r) => JSON.stringify(r)).join('\n') + '\n');
      expect(json<{ imported: number }>(['ratings', 'import', 'R', raw]).imported).toBe(6);

      // campaign show: agreement with the dataset, per criterion.
      const shown = json<{
        kind: string;
        datasetAgreement: { criterion: string; decisive: number; agreed: number; bothBad: number; estimate: number }[];
      }>(['campaign', 'show', 'R', '--reps', '20']);
      expect(shown.kind).toBe('pairs');
      expect(shown.datasetAgreement).toMatchObject([
        { criterion: 'helpful', decisive: 5, agreed: 4, bothBad: 1, estimate: 0.8 },
        { criterion: 'safe', decisive: 6, agreed: 0, bothBad: 0, estimate: 0 },
      ]);
      const text = ok(alol(['campaign', 'show', 'R', '--reps', '20', ...p])).stdout;
      expect(text).toContain('Agreement with the dataset "hh"');
      expect(text).toMatch(/helpful\s+4\s+5\s+0\.800\s+\[0\.376, 0\.964\]\s+0\s+1/);

      const chosenTexts = new Set(pairs.map((i) => (i.datasetChosen === 'first' ? i.first : i.second).response));
      const exported = (criterion: string) => {
        const out = join(dir, `R-${criterion}.jsonl`);
        const result = json<{ rows: number; card: string }>([
          'ratings',
          'export',
          'R',
          '--format',
          'trl-preference',
          '--criterion',
          criterion,
          '--out',
          out,
        ]);
        const rows = readFileSync(out, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { chosen: string });
        return {
          rows,
          agreeing: rows.filter((r) => chosenTexts.has(r.chosen)).length,
          card: readFileSync(result.card, 'utf8'),
        };
      };
      const helpful = exported('helpful');
      expect([helpful.rows.length, helpful.agreeing]).toEqual([5, 4]);
      expect(helpful.card).toMatch(/\| helpful \| 5 \| 4 \| 0\.800 \[0\.376, 0\.964\] \| 0 \| 1 \|/);
      expect(helpful.card).toMatch(/\| safe \| 6 \| 0 \| 0\.000 \[0\.000, 0\.390\] \| 0 \| 0 \|/);
      const safe = exported('safe');
      expect([safe.rows.length, safe.agreeing]).toEqual([6, 0]);

      const bad = alol([
        'ratings',
        'export',
        'R',
        '--format',
        'trl-preference',
        '--criterion',
        'honest',
        '--out',
        join(dir, 'x.jsonl'),
        ...p,
      ]);
      expect(bad.status).toBe(2);
      expect(bad.stderr).toContain('--criterion: one of helpful, safe, both');

      const mixed = alol(['campaign', 'create', '--name', 'M', '--pairs', 'hh', '--models', 'm1,m2', '--n', '2', ...p]);
      expect(mixed.status).toBe(2);
      expect(mixed.stderr).toContain('--pairs relabels a dataset; give it without --models and --prompts');
    },
    120_000,
  );

  it("compares a model with a dataset's own answers on that dataset's prompts", () => {
    const created = json<{ status: string; systems: string[]; prompts: { dataset: string }; items: number }>([
      'campaign',
      'create',
      '--name',
      'D',
      '--models',
      'm1,data:demo',
      '--n',
      '3',
      '--seed',
      '1',
      '--max-new-tokens',
      '8',
    ]);
    expect(created).toMatchObject({
      status: 'ready',
      systems: ['m1', 'data:demo'],
      prompts: { dataset: 'demo' },
      items: 3,
    });
    const items = json<Item[]>(['campaign', 'items', 'D']);
    const db = new Database(join(dir, 'project', 'studio.db'), { readonly: true });
    // The demo dataset holds pairs and (prompt, response, reward) rows: a prompt's first pair's chosen response is its answer, else its first row's response.
    const chosen = db.prepare<[string], { response: string }>(
      'SELECT chosen AS response FROM preference_pairs WHERE prompt = ? ORDER BY id LIMIT 1',
    );
    const example = db.prepare<[string], { response: string }>(
      'SELECT response FROM examples WHERE prompt = ? ORDER BY id LIMIT 1',
    );
    for (const item of items) {
      const data = item.first.system === 'data:demo' ? item.first : item.second;
      const model = item.first.system === 'data:demo' ? item.second : item.first;
      expect(model.system).toBe('m1');
      const reference = chosen.get(item.prompt) ?? example.get(item.prompt);
      expect(reference).toBeDefined();
      expect(data.response).toBe(reference?.response);
    }
    db.close();

    const elsewhere = alol([
      'campaign',
      'create',
      '--name',
      'E',
      '--models',
      'm1,data:demo',
      '--prompts',
      'other',
      '--n',
      '3',
      ...p,
    ]);
    expect(elsewhere.status).toBe(1);
    expect(elsewhere.stderr).toContain('data:demo answers only its own prompts');
  }, 120_000);
});
