/**
 * Storage faults with real processes on a real file system: the project lives on a small tmpfs
 * (test/helpers/faultFs.ts) that the test fills to the last block and makes read-only while
 * `alol serve` serves a campaign and trains. Each write the disk refuses is answered with a clear
 * error naming the file and the cause (a rating submit over HTTP with 507, a training job whose
 * store or checkpoint write fails, an `alol import` in its own process), nothing committed before
 * is lost, nothing half-written appears, and once the fault is cleared the same actions work: the
 * refused rating is sent again, `alol run resume` finishes the run from its last checkpoint, the
 * import goes in whole.
 */
import { spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alol, alolAsync, type CliRun } from '../helpers/cli';
import { mountTmpfs, type FaultFs } from '../helpers/faultFs';
import { callAs, serveProcess, sleep, type Served } from '../helpers/served';
import { useSuiteTempDir } from '../helpers/tempDir';

const C = 'faults';

/** The job processes a served studio has running: its children. */
function jobProcesses(served: Served): string[] {
  const ps = spawnSync('ps', ['--ppid', String(served.child.pid), '-o', 'pid='], { encoding: 'utf8' });
  return ps.stdout.split('\n').filter((l) => l.trim() !== '');
}
const STEPS = 24;

interface Run {
  status: string;
  step: number;
  lastCheckpoint: number | null;
  error: { code: string; message: string } | null;
}

describe('a full disk and a read-only project folder', () => {
  const tmp = useSuiteTempDir('alol-faults-');
  let fs: FaultFs;
  let project: string;
  let p: string[];
  let served: Served;
  let base: string;
  let owner: string;
  let rater: string;
  let runId: number;
  let assignment: number | null;
  const acknowledged: string[] = [];
  const ok = (run: CliRun, what: string) => {
    expect(run.status, `${what}: ${run.stderr}${run.stdout}`).toBe(0);
    return run;
  };
  const refused = (run: CliRun, code: string): { code: string; message: string } => {
    expect(run.status, run.stdout + run.stderr).toBe(1);
    const { error } = run.json() as { error: { code: string; message: string } };
    expect(error.code, error.message).toBe(code);
    return error;
  };
  const getRun = async (): Promise<Run> => (await callAs(base, owner, 'runs.get', { runId })).body as unknown as Run;
  const until = async <T>(what: string, probe: () => Promise<T | null>): Promise<T> => {
    for (let t = 0; t < 1200; t += 1) {
      const got = await probe();
      if (got !== null) return got;
      await sleep(100);
    }
    throw new Error(`timed out waiting for ${what}`);
  };
  /** Submits one decision with its own key; the answer as it came. */
  const submit = async (rationale: string) => {
    const answer = await callAs(base, rater, 'rating.submit', {
      assignmentId: assignment,
      helpful: 'left',
      safe: 'both_good',
      rationale,
      activeMs: 10,
      idempotencyKey: `${rationale.slice(0, 40).replace(/\W/g, '-')}-${acknowledged.length}-key`,
    });
    if (answer.status === 200) {
      acknowledged.push(rationale);
      assignment = (answer.body.next as { assignmentId: number } | null)?.assignmentId ?? null;
    }
    return answer;
  };
  const serve = async () => {
    served = await serveProcess(['serve', '--campaign', C, '--port', '0', ...p]);
    base = served.listening.url;
    owner = served.listening.token;
  };

  beforeAll(async () => {
    fs = mountTmpfs(join(tmp(), 'fs'), 128);
    project = join(fs.dir, 'project');
    p = ['--project', project];
    const pairs = join(tmp(), 'pairs.jsonl');
    const lines = Array.from({ length: 80 }, (_, i) =>
      JSON.stringify({ prompt: `Question ${i}?`, chosen: `Kind answer ${i}.`, rejected: `Curt answer ${i}.` }),
    );
    writeFileSync(pairs, `${lines.join('\n')}\n`);
    const rows = Array.from({ length: 3000 }, (_, i) =>
      JSON.stringify({ prompt: `Late prompt ${i}`, response: `Late response ${i}`, reward: i % 2 }),
    );
    writeFileSync(join(tmp(), 'late.jsonl'), `${rows.join('\n')}\n`);
    const big = Array.from({ length: 40_000 }, (_, i) =>
      JSON.stringify({ prompt: `Big prompt number ${i}`, response: `Big response number ${i}`, reward: i % 3 }),
    );
    writeFileSync(join(tmp(), 'big.jsonl'), `${big.join('\n')}\n`);
    ok(alol(['import', pairs, '--name', 'pairs', ...p]), 'import');
    ok(alol(['campaign', 'create', '--name', C, '--pairs', 'pairs', '--n', 'all', '--gold', '0', ...p]), 'campaign');
    ok(alol(['demo', 'data', '--name', 'demo', '--prompts', '40', ...p]), 'demo data');
    ok(
      alol(['model', 'new', '--name', 'm', '--data', 'demo', '--layers', '1', '--dim', '32', '--heads', '2', ...p]),
      'model new',
    );
    await serve();
    const added = await callAs(base, owner, 'annotators.add', { campaign: C, name: 'rater', link: true });
    rater = added.body.token as string;
    assignment = ((await callAs(base, rater, 'rating.next', {})).body.item as { assignmentId: number }).assignmentId;
    for (let i = 0; i < 5; i += 1) expect((await submit(`before the fault ${i}`)).status).toBe(200);
  }, 240_000);

  afterAll(async () => {
    if (served?.child.exitCode === null) {
      served.child.kill('SIGTERM');
      await served.exit;
    }
    fs?.unmount();
  });

  it('a full disk: clear errors, nothing lost, and all of it works again once there is room', async () => {
    const started = await callAs(base, owner, 'runs.start', {
      algo: 'nll',
      data: 'demo',
      init: 'm',
      out: 'trained',
      steps: STEPS,
      batch: 4,
      checkpointEvery: 4,
    });
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    runId = started.body.runId as number;
    const before = await until('a checkpoint', async () => {
      const run = await getRun();
      return (run.lastCheckpoint ?? 0) >= 4 && run.step < STEPS - 8 ? run : null;
    });

    // Room for a few more steps' records, not for the next checkpoint: its write is refused.
    fs.fill();
    fs.leave(160 * 1024);
    await until('the job process to end', async () => (jobProcesses(served).length === 0 ? true : null));
    const failed = await until('the run to stop', async () => {
      const run = await getRun();
      return run.status === 'running' ? null : run;
    });
    expect(failed.error?.code, JSON.stringify(failed)).toBe('disk_full');
    console.info(`full disk: the run stopped: "${failed.error?.message}"`);
    expect(failed.error?.message).toMatch(/checkpoint\/step-\d+\/\S+: the disk is full \(ENOSPC/);
    // The checkpoint written before the fault is still the newest whole one.
    expect(failed.lastCheckpoint).toBeGreaterThanOrEqual(before.lastCheckpoint ?? 0);
    expect(failed.lastCheckpoint).toBeLessThan(failed.step);

    // An import that runs out of room part way through its rows (1.5 MB left, about 4 MB of rows
    // to write): refused whole, and none of its rows shows.
    fs.free();
    fs.fill();
    fs.leave(1536 * 1024);
    const partial = refused(
      await alolAsync(['import', join(tmp(), 'big.jsonl'), '--name', 'big', '--json', ...p]),
      'disk_full',
    );
    expect(partial.message).toContain('studio.db: the disk is full');
    expect((await callAs(base, owner, 'datasets.get', { dataset: 'big' })).status).toBe(404);

    fs.fill();
    // A submit the WAL has room for still lands; the first that needs a new block is refused.
    let full: Awaited<ReturnType<typeof submit>> | null = null;
    for (let i = 0; i < 200 && !full; i += 1) {
      const answer = await submit(`while the disk is full ${i} ${'x'.repeat(8000)}`);
      if (answer.status !== 200) full = answer;
    }
    expect(full?.status, JSON.stringify(full?.body)).toBe(507);
    const error = full?.body.error as { code: string; message: string };
    expect(error.code).toBe('disk_full');
    expect(error.message).toContain(join(project, 'studio.db'));
    expect(error.message).toMatch(/the disk is full .*Nothing was written.*free some space/);
    console.info(`full disk: a submit answered 507 "${error.message}"`);

    // An import in its own process: refused whole, naming the database.
    const imported = refused(
      await alolAsync(['import', join(tmp(), 'late.jsonl'), '--name', 'late', '--json', ...p]),
      'disk_full',
    );
    expect(imported.message).toContain('studio.db: the disk is full');

    fs.free();
    // Nothing half-written shows: no "late" dataset, and the earlier ones whole.
    expect((await callAs(base, owner, 'datasets.get', { dataset: 'late' })).status).toBe(404);
    // The rater's page sends the refused decision again (Enter), and now it lands.
    expect((await submit('after the disk had room again')).status).toBe(200);
    const resumed = await alolAsync(['run', 'resume', String(runId), '--json', ...p]);
    ok(resumed, 'run resume');
    const done = await getRun();
    expect(done.status).toBe('succeeded');
    expect(done.step).toBe(STEPS);
    ok(await alolAsync(['import', join(tmp(), 'late.jsonl'), '--name', 'late', ...p]), 'import after');
    expect((await callAs(base, owner, 'datasets.get', { dataset: 'late' })).body.examples).toBe(3000);
    // The staging rows of the import that failed part way are gone too (removed by this one, if the
    // full disk refused even their delete).
    const db = new Database(join(project, 'studio.db'), { readonly: true });
    try {
      expect(db.prepare("SELECT count(*) AS n FROM datasets WHERE name LIKE '/staging/%'").get()).toEqual({ n: 0 });
      const rows = db.prepare('SELECT count(*) AS n FROM examples').get() as { n: number };
      const shown = (await callAs(base, owner, 'datasets.list', {})).body as unknown as { examples: number }[];
      expect(rows.n).toBe(shown.reduce((sum, d) => sum + d.examples, 0));
    } finally {
      db.close();
    }
  }, 300_000);

  it('a read-only folder: refused in words, nothing lost, and the studio works again once writable', async () => {
    fs.readOnly(project);
    // A new process cannot write to it: an import is refused, naming the project's database.
    const imported = refused(
      await alolAsync(['import', join(tmp(), 'late.jsonl'), '--name', 'late2', '--json', ...p]),
      'read_only',
    );
    expect(imported.message).toContain(join(project, 'studio.db'));
    expect(imported.message).toMatch(/read-only/);
    // A training job (its own process) fails saying so.
    const started = await callAs(base, owner, 'runs.start', {
      algo: 'nll',
      data: 'demo',
      init: 'm',
      out: 'trained-ro',
      steps: 8,
      batch: 4,
      checkpointEvery: 4,
    });
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    const roRun = started.body.runId as number;
    const failed = await until('the run to stop', async () => {
      const run = (await callAs(base, owner, 'runs.get', { runId: roRun })).body as unknown as Run;
      return run.status === 'running' ? null : run;
    });
    expect(failed.error?.code, JSON.stringify(failed)).toBe('read_only');
    console.info(`read-only: import refused "${imported.message}"; the run stopped: "${failed.error?.message}"`);
    // Linux checks write access when a file is opened: the server's open database still takes
    // ratings (and stores them: see the export below).
    expect((await submit('under a read-only folder')).status).toBe(200);

    // Restarted on a read-only file system, the studio refuses to start, saying why.
    fs.writable(project);
    served.child.kill('SIGTERM');
    expect(await served.exit).toBe(0);
    fs.remount('ro');
    const refusedServe = await alolAsync(['serve', '--campaign', C, '--port', '0', '--no-open', '--json', ...p]);
    const error = refused(refusedServe, 'read_only');
    expect(error.message).toContain(join(project, 'studio.db'));
    expect(error.message).toMatch(/read-only file system \(EROFS\).*make the folder writable again/);
    fs.remount('rw');

    // Writable again: everything committed is there, and the studio works.
    await serve();
    expect((await submit('after the folder was writable again')).status).toBe(200);
    const names = ((await callAs(base, owner, 'datasets.list', {})).body as unknown as { name: string }[]).map(
      (d) => d.name,
    );
    expect(names.sort()).toEqual(['demo', 'late', 'pairs']);
    expect(((await callAs(base, owner, 'runs.get', { runId })).body as unknown as Run).status).toBe('succeeded');
    ok(await alolAsync(['run', 'resume', String(roRun), '--json', ...p]), 'resume the read-only run');
    served.child.kill('SIGTERM');
    await served.exit;

    const out = join(tmp(), 'raw.jsonl');
    ok(alol(['ratings', 'export', C, '--format', 'raw', '--out', out, ...p]), 'export');
    const rationales = readFileSync(out, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => (JSON.parse(l) as { rationale: string }).rationale);
    expect(rationales.sort()).toEqual([...acknowledged].sort());
    expect(new Set(rationales).size).toBe(rationales.length);
  }, 300_000);
});
