import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/main/app/backend';
import { methodNames, RunConfig, UPLOAD_CHUNK_BYTES } from '../../src/shared/contract';
import { RunStore } from '../../src/main/alol/runStore';
import { call, importPath, jobEnd, jobOf, nextEvent, useBackends } from '../helpers/backend';
import { useTempDir } from '../helpers/tempDir';

const tempDir = useTempDir();
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const openBackend = useBackends();
const open = (dir = tempDir()): Backend => openBackend(dir);

function tableCounts(backend: Backend): Record<string, number> {
  return Object.fromEntries(
    ['datasets', 'dataset_versions', 'examples', 'preference_pairs'].map((t) => [
      t,
      backend.db.prepare(`SELECT count(*) FROM ${t}`).pluck().get() as number,
    ]),
  );
}

describe('the backend behind every adapter', () => {
  it('creates the project folder layout', () => {
    const dir = join(tempDir(), 'new-project');
    open(dir);
    for (const entry of ['studio.db', 'models', 'exports', 'uploads']) expect(existsSync(join(dir, entry))).toBe(true);
  });

  it('refuses unknown methods and invalid input, naming the field', async () => {
    const backend = open();
    expect(await backend.dispatch('datasets.drop', {})).toMatchObject({ ok: false, error: { code: 'not_found' } });
    const bad = await backend.dispatch('datasets.examples', { dataset: 'x', limit: 100000 });
    expect(bad).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    expect(!bad.ok && bad.error.issues?.[0]?.field).toBe('limit');
    const extra = await backend.dispatch('datasets.list', { sneaky: true });
    expect(extra).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    const traversal = await backend.dispatch('uploads.create', { fileName: '../../etc/passwd', size: 1 });
    expect(traversal).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
  });

  it('refuses a hyperparameter the algorithm does not use, naming the algorithms that use it, and fills in only the used ones', async () => {
    const backend = open();
    const base = { data: 'demo', init: 'base', out: 'x' };
    const eps = await backend.dispatch('runs.start', { ...base, algo: 'nll', eps: 0.5 });
    expect(eps).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    expect(!eps.ok && eps.error.issues).toEqual([
      {
        file: 'runs.start',
        line: 0,
        field: 'eps',
        message: 'eps is used by r_lol, a_lol, a_lol_seq (the importance-weight clip); nll does not use it',
      },
    ]);
    const beta = await backend.dispatch('runs.start', { ...base, algo: 'a_lol', beta: 0.1 });
    expect(!beta.ok && beta.error.message).toBe(
      `runs.start: field "beta": beta is used by dpo (DPO's inverse temperature); a_lol does not use it`,
    );
    const klBeta = await backend.dispatch('runs.start', { ...base, algo: 'dpo', klBeta: 0.2 });
    expect(!klBeta.ok && klBeta.error.issues?.map((i) => i.field)).toEqual(['klBeta']);
    // Used ones pass the contract (and stop at the missing model); so does leaving them out.
    for (const input of [
      { algo: 'a_lol', eps: 0.5 },
      { algo: 'dpo', beta: 0.3 },
      { algo: 'a_lol_kl', klBeta: 0.4 },
      { algo: 'nll' },
    ]) {
      expect(await backend.dispatch('runs.start', { ...base, ...input }), input.algo).toMatchObject({
        ok: false,
        error: { code: 'not_found' },
      });
    }
    // Out of the table's range.
    expect(await backend.dispatch('runs.start', { ...base, algo: 'a_lol', eps: 1 })).toMatchObject({
      ok: false,
      error: { code: 'invalid_input' },
    });
    // The parsed config carries the defaults of the used ones only.
    expect(RunConfig.parse({ ...base, algo: 'nll' })).not.toHaveProperty('eps');
    expect(RunConfig.parse({ ...base, algo: 'a_lol_seq' })).toMatchObject({ eps: 0.9 });
    expect(RunConfig.parse({ ...base, algo: 'a_lol_seq' })).not.toHaveProperty('beta');
    // A run stored before the refusal, with every default, still reads, less what its algorithm does not use.
    new RunStore(backend.db).create(
      { ...RunConfig.parse({ ...base, algo: 'nll' }), eps: 0.9, beta: 0.1, klBeta: 0.2 },
      'run-old',
    );
    const [old] = await call(backend, 'runs.list', {});
    expect(old!.config).toMatchObject({ algo: 'nll', steps: 200 });
    expect(old!.config).not.toHaveProperty('eps');
  });

  it('imports triples in a job process, with progress, and pages through them', async () => {
    const backend = open();
    const progress = nextEvent(backend, 'jobs.progress');
    const job = await importPath(backend, fixture('triples.jsonl'), 'triples');
    expect(job.status).toBe('succeeded');
    expect((await progress).kind).toBe('import');
    expect(job.result).toMatchObject({
      dataset: 'triples',
      version: 1,
      format: 'jsonl',
      rows: 5,
      examples: 5,
      pairs: 0,
      rewardMin: 0,
      rewardMax: 1,
      duplicates: 1,
      emptyResponses: 1,
    });
    const [listed] = await call(backend, 'datasets.list', {});
    expect(listed).toMatchObject({
      name: 'triples',
      version: 1,
      versions: 1,
      examples: 5,
      pairs: 0,
      format: 'jsonl',
      sourceFile: 'triples.jsonl',
    });
    const page = await call(backend, 'datasets.examples', { dataset: 'triples', offset: 1, limit: 2 });
    expect(page.total).toBe(5);
    expect(page.rows.map((r) => r.line)).toEqual([2, 3]);
    expect(page.rows[0]).toMatchObject({
      response: ' 5.',
      reward: 0,
      rewardSource: 'column:reward',
      metadata: { source: 'noisy' },
    });
  });

  it('imports HH-RLHF pairs with the prompt made explicit; a second import makes version 2', async () => {
    const backend = open();
    expect((await importPath(backend, fixture('hh-pairs.jsonl'), 'hh')).status).toBe('succeeded');
    const pairs = await call(backend, 'datasets.pairs', { dataset: 'hh' });
    expect(pairs.total).toBe(3);
    expect(pairs.rows[1]).toMatchObject({
      prompt: '\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Tell me a joke\n\nAssistant:',
      chosen: ' Why did the chicken cross the road?',
      rejected: ' No.',
    });
    expect(pairs.rows[2]).toMatchObject({ chosen: '' });
    await importPath(backend, fixture('hh-pairs.jsonl'), 'hh');
    const summary = await call(backend, 'datasets.get', { dataset: 'hh' });
    expect(summary).toMatchObject({ version: 2, versions: 2, pairs: 3 });
    expect((await call(backend, 'datasets.get', { dataset: 'hh', version: 1 })).version).toBe(1);
  });

  it('a bad file fails its job with every problem named, and stores nothing', async () => {
    const backend = open();
    await importPath(backend, fixture('triples.jsonl'), 'keep');
    const before = tableCounts(backend);
    const file = join(tempDir(), 'bad.jsonl');
    writeFileSync(
      file,
      '{"prompt": "p", "response": "r", "reward": 1}\n{"prompt": "p", "response": "r", "reward": "high"}\n',
    );
    const job = await importPath(backend, file, 'bad');
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('import_invalid');
    expect(job.error?.issues).toEqual([expect.objectContaining({ file: 'bad.jsonl', line: 2, field: 'reward' })]);
    expect(tableCounts(backend)).toEqual(before);
    expect((await call(backend, 'jobs.get', { jobId: job.id })).status).toBe('failed');
  });

  it('takes an upload in chunks, refuses a chunk out of order, and imports the whole file', async () => {
    const backend = open();
    const bytes = readFileSync(fixture('hh-pairs.jsonl'));
    const half = Math.floor(bytes.length / 2);
    const { uploadId } = await call(backend, 'uploads.create', { fileName: 'pairs.jsonl', size: bytes.length });
    const skip = await backend.dispatch('uploads.append', {
      uploadId,
      offset: half,
      base64: bytes.subarray(half).toString('base64'),
    });
    expect(skip).toMatchObject({ ok: false, error: { code: 'conflict' } });
    await call(backend, 'uploads.append', { uploadId, offset: 0, base64: bytes.subarray(0, half).toString('base64') });
    const early = await backend.dispatch('imports.start', { source: { kind: 'upload', uploadId }, name: 'early' });
    expect(early).toMatchObject({ ok: false, error: { code: 'conflict' } });
    await call(backend, 'uploads.append', { uploadId, offset: half, base64: bytes.subarray(half).toString('base64') });
    const job = await jobOf(backend, () =>
      call(backend, 'imports.start', { source: { kind: 'upload', uploadId }, name: 'uploaded' }),
    );
    expect(job.status).toBe('succeeded');
    expect(job.result).toMatchObject({ pairs: 3 });
    expect((await call(backend, 'datasets.get', { dataset: 'uploaded' })).sourceFile).toBe('pairs.jsonl');
    expect(existsSync(join(backend.paths.uploads, `${uploadId}.part`))).toBe(false);
    expect(UPLOAD_CHUNK_BYTES).toBeGreaterThan(bytes.length);
  });

  it('cancels a running job', async () => {
    const backend = open();
    const big = join(tempDir(), 'big.jsonl');
    const line = JSON.stringify({ prompt: 'p'.repeat(200), response: 'r'.repeat(200), reward: 0.5 }) + '\n';
    writeFileSync(big, line.repeat(200_000));
    const { jobId } = await call(backend, 'imports.start', { source: { kind: 'path', path: big }, name: 'big' });
    await nextEvent(backend, 'jobs.progress', (p) => p.jobId === jobId);
    expect(await call(backend, 'jobs.cancel', { jobId })).toEqual({ cancelled: true });
    const job = await jobEnd(backend, jobId);
    expect(job.status).toBe('cancelled');
    expect(await call(backend, 'datasets.list', {})).toEqual([]);
  });

  it('records a job whose process dies as failed, and marks jobs of a dead backend interrupted', async () => {
    const dir = tempDir();
    const backend = open(dir);
    backend.db
      .prepare(
        "INSERT INTO jobs (kind, status, params, owner_pid, created_at) VALUES ('import', 'running', '{}', 2147483000, 'x')",
      )
      .run();
    backend.close();
    const reopened = open(dir);
    const [job] = await call(reopened, 'jobs.list', {});
    expect(job).toMatchObject({ status: 'failed', error: { code: 'interrupted' } });
  });

  it('answers app.info with the project and the tensor backend chosen, and why', async () => {
    const backend = open();
    const info = await call(backend, 'app.info', {});
    expect(info.projectDir).toBe(backend.paths.dir);
    expect(info.tensorBackend.candidates.length).toBeGreaterThan(0);
    expect(info.tensorBackend.candidates.find((c) => c.name === info.tensorBackend.chosen)?.available).toBe(true);
    expect(info.tensorBackend.reason.length).toBeGreaterThan(0);
  });

  it('has a handler for every method in the contract', async () => {
    const backend = open();
    for (const method of methodNames) {
      const result = await backend.dispatch(method, { definitely: 'not valid' });
      // Every method exists: it fails on its input, never as an unknown method.
      if (!result.ok) expect(result.error.code, method).not.toBe('not_found');
    }
  });
});
