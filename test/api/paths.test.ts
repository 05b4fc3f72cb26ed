/**
 * Every method that takes a path refuses one where the contract says it cannot go, through the
 * real backend: a relative path (the contract's absolutePath), a missing file or folder, and,
 * where a place is restricted, a path outside it (scoring modules: the project folder) or inside
 * the studio's own storage (exports: not the database, the models or the uploads folder). Each
 * refusal is invalid_input (reward_module for a scoring module) and names the path; nothing is
 * started or written.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/main/app/backend';
import type { MethodName } from '../../src/shared/contract';
import { call, openBackend } from '../helpers/backend';
import { campaignProject } from '../helpers/campaign';
import { alol } from '../helpers/cli';
import { useSuiteTempDir, useTempDir } from '../helpers/tempDir';

const tempDir = useTempDir();
const suiteDir = useSuiteTempDir();
const C = 'paths-c';

describe('paths named in calls', () => {
  let project = '';
  let backend: Backend;
  /** A folder outside the project that exists, and one that does not. */
  let elsewhere = '';
  let missing = '';

  beforeAll(async () => {
    project = join(suiteDir(), 'project');
    backend = openBackend(project);
    await campaignProject(backend, { name: C, n: 2 });
    elsewhere = join(suiteDir(), 'elsewhere');
    mkdirSync(elsewhere);
    missing = join(elsewhere, 'no-such-folder');
    return () => backend.close();
  }, 300_000);

  /** A refusal with this code whose message names `path`; the call had no effect on the job list. */
  async function refused(method: MethodName, input: unknown, path: string, code = 'invalid_input'): Promise<string> {
    const jobs = (await call(backend, 'jobs.list', { limit: 200 })).length;
    const result = await backend.dispatch(method, input);
    expect(result.ok, `${method} ${path}`).toBe(false);
    if (result.ok) return '';
    expect(result.error.code, `${method} ${path}: ${result.error.message}`).toBe(code);
    expect(result.error.message, method).toContain(path);
    expect((await call(backend, 'jobs.list', { limit: 200 })).length, `${method} started no job`).toBe(jobs);
    return result.error.message;
  }

  it('ratings.export: relative, in a missing folder, a folder, the database, the models and uploads folders', async () => {
    const base = { campaign: C, format: 'raw' as const };
    expect(await refused('ratings.export', { ...base, path: 'ratings.jsonl' }, '"ratings.jsonl"')).toMatch(
      /must be an absolute path/,
    );
    await refused('ratings.export', { ...base, path: join(missing, 'r.jsonl') }, missing);
    await refused('ratings.export', { ...base, path: elsewhere }, elsewhere);
    const db = readFileSync(join(project, 'studio.db'));
    await refused('ratings.export', { ...base, path: join(project, 'studio.db') }, join(project, 'studio.db'));
    await refused('ratings.export', { ...base, path: join(project, 'studio.db-wal') }, 'studio.db-wal');
    await refused('ratings.export', { ...base, path: join(project, 'models', 'r.jsonl') }, join(project, 'models'));
    await refused('ratings.export', { ...base, path: join(project, 'uploads', 'r.jsonl') }, join(project, 'uploads'));
    // Nothing replaced the database, and the studio still answers from it.
    expect(readFileSync(join(project, 'studio.db')).subarray(0, 16)).toEqual(db.subarray(0, 16));
    expect((await call(backend, 'campaigns.get', { campaign: C })).name).toBe(C);
    // The allowed places: anywhere else, the project's exports folder and the project folder itself.
    for (const path of [join(elsewhere, 'ok.jsonl'), join(project, 'exports', 'ok.jsonl'), join(project, 'ok.jsonl')]) {
      expect((await call(backend, 'ratings.export', { ...base, path })).path).toBe(path);
    }
  });

  it('models.export: relative, under a missing folder, a file, inside the models folder', async () => {
    await refused('models.export', { model: 'sys-alpha', path: 'out/model' }, '"out/model"');
    await refused('models.export', { model: 'sys-alpha', path: join(missing, 'model') }, missing);
    const file = join(elsewhere, 'a-file');
    writeFileSync(file, 'x');
    await refused('models.export', { model: 'sys-alpha', path: file }, file);
    await refused(
      'models.export',
      { model: 'sys-alpha', path: join(project, 'models', 'copy') },
      join(project, 'models'),
    );
    expect(existsSync(join(project, 'models', 'copy'))).toBe(false);
    expect(existsSync(missing)).toBe(false);
    // A new folder in an existing one is made.
    const out = join(elsewhere, 'exported');
    expect((await call(backend, 'models.export', { model: 'sys-alpha', path: out })).folder).toBe(out);
  });

  it('imports.start (a path source): relative, missing, a folder', async () => {
    const source = (path: string) => ({ source: { kind: 'path', path }, name: 'imported' });
    await refused('imports.start', source('data/triples.jsonl'), '"data/triples.jsonl"');
    await refused('imports.start', source(join(missing, 'triples.jsonl')), join(missing, 'triples.jsonl'));
    await refused('imports.start', source(elsewhere), elsewhere);
  });

  it('models.import: relative, missing, a file', async () => {
    await refused('models.import', { path: 'models/gpt2', name: 'imported' }, '"models/gpt2"');
    await refused('models.import', { path: missing, name: 'imported' }, missing);
    const file = join(elsewhere, 'config.json');
    writeFileSync(file, '{}');
    await refused('models.import', { path: file, name: 'imported' }, file);
  });

  it('ratings.import and a campaign gold file: relative, missing, a folder', async () => {
    await refused('ratings.import', { campaign: C, path: 'raw.jsonl' }, '"raw.jsonl"');
    await refused('ratings.import', { campaign: C, path: join(missing, 'raw.jsonl') }, join(missing, 'raw.jsonl'));
    await refused('ratings.import', { campaign: C, path: elsewhere }, elsewhere);
    const campaign = { name: 'with-gold', models: ['sys-alpha', 'sys-beta'], prompts: { dataset: 'demo' }, n: 2 };
    await refused('campaigns.create', { ...campaign, goldFile: 'gold.jsonl' }, '"gold.jsonl"');
    await refused(
      'campaigns.create',
      { ...campaign, goldFile: join(missing, 'gold.jsonl') },
      join(missing, 'gold.jsonl'),
    );
    expect((await call(backend, 'campaigns.list', {})).map((c) => c.name)).toEqual([C]);
  });

  it('scoring modules (module:FILE) must be files inside the project folder, for scoring, sampling and runs alike', async () => {
    const outside = join(elsewhere, 'outside.mjs');
    writeFileSync(outside, 'export function score() { return 1; }\n');
    mkdirSync(join(project, 'scorers'), { recursive: true });
    writeFileSync(join(project, 'scorers', 'inside.mjs'), 'export function score() { return 0.5; }\n');
    const upward = `module:${relative(project, outside)}`;
    const cases: Array<[string, string]> = [
      [`module:${outside}`, outside],
      [upward, outside],
      ['module:scorers/missing.mjs', join(project, 'scorers', 'missing.mjs')],
      ['module:scorers', 'module:scorers'],
      [`demo*0.5+module:${outside}*0.5`, outside],
    ];
    for (const [reward, named] of cases) {
      await refused('rewards.score', { reward, items: [{ prompt: 'p', response: 'r' }] }, named, 'reward_module');
      await refused(
        'samples.create',
        { model: 'sys-alpha', prompts: { texts: ['Hi'] }, reward },
        named,
        'reward_module',
      );
      await refused(
        'runs.start',
        { data: 'demo', init: 'sys-alpha', out: 'never', algo: 'a_lol', reward },
        named,
        'reward_module',
      );
    }
    // The one inside the project scores.
    const scored = await call(backend, 'rewards.score', {
      reward: 'module:scorers/inside.mjs',
      items: [{ prompt: 'p', response: 'r' }],
    });
    expect(scored).toMatchObject({ source: 'module:scorers/inside.mjs', mean: 0.5 });
  });

  it('alol report --out: a missing folder is named before any work', () => {
    const out = join(missing, 'report.html');
    const run = alol(['report', '--out', out, '--project', tempDir()]);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(missing);
    expect(existsSync(missing)).toBe(false);
  });
});
