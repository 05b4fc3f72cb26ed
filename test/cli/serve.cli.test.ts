/**
 * `alol serve` and `alol studio` as real background processes (stdin closed, as under nohup or a
 * service manager): they stay up until SIGTERM/SIGINT, answer what is under way, and exit 0 with
 * every acknowledged rating in the database. LAN links (one per network address), links that
 * survive a restart on the same port, and app.info telling the UI how the server is bound.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { alol, type CliRun } from '../helpers/cli';
import { builtFile } from '../helpers/built';
import { useSuiteTempDir } from '../helpers/tempDir';

const bin = fileURLToPath(new URL('../../bin/alol.js', import.meta.url));
const C = 'C';

interface Listening {
  event: 'listening';
  url: string;
  port: number;
  token: string;
  lanUrls: string[];
  links: string[];
}

interface Served {
  child: ChildProcess;
  listening: Listening;
  /** Every stdout line after the listening one, as printed. */
  lines: string[];
  /** The exit code (or signal name) once the process has ended. */
  exit: Promise<number | string>;
}

/** Starts `alol <args> --json --no-open` in the background with stdin closed; resolves on its "listening" line. */
function serve(args: string[]): Promise<Served> {
  builtFile('main/cli.js');
  const child = spawn(process.execPath, [bin, ...args, '--json', '--no-open'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => (stderr += chunk));
  const exit = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    void exit.then((how) =>
      reject(new Error(`alol ${args.join(' ')} exited (${how}) before listening. stderr:\n${stderr}`)),
    );
    if (!child.stdout) throw new Error('spawned without a stdout pipe');
    let listening: Listening | null = null;
    createInterface({ input: child.stdout }).on('line', (text) => {
      if (listening) return void lines.push(text);
      const parsed = JSON.parse(text) as { event?: string };
      if (parsed.event !== 'listening') return;
      listening = parsed as Listening;
      resolve({ child, listening, lines, exit });
    });
  });
}

async function callAs(
  base: string,
  token: string,
  method: string,
  input: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(new URL(`/api/call/${method}`, base), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify(input),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

interface Shown {
  assignmentId: number;
}

describe('alol serve and alol studio as long-running servers', () => {
  const suiteDir = useSuiteTempDir('alol-serve-cli-');
  let p: string[];
  let project: string;
  let alice: string;
  const ok = (run: CliRun) => {
    expect(run.status, run.stderr).toBe(0);
    return run;
  };

  beforeAll(() => {
    project = join(suiteDir(), 'project');
    p = ['--project', project];
    ok(alol(['demo', 'data', '--name', 'demo', '--prompts', '20', ...p]));
    for (const [name, seed] of [
      ['m1', '1'],
      ['m2', '2'],
    ] as const) {
      ok(
        alol([
          'model',
          'new',
          '--name',
          name,
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
          seed,
          ...p,
        ]),
      );
    }
    ok(
      alol([
        'campaign',
        'create',
        '--name',
        C,
        '--models',
        'm1,m2',
        '--prompts',
        'demo:test',
        '--n',
        '6',
        '--overlap',
        '1',
        '--gold',
        '0',
        '--max-new-tokens',
        '8',
        ...p,
      ]),
    );
    alice = (ok(alol(['annotator', 'add', 'alice', '--campaign', C, ...p, '--json'])).json() as { token: string })
      .token;
  }, 180_000);

  /** The assignments with a rating in the database, read after the server has gone. */
  const storedAssignments = (): number[] => {
    const db = new Database(join(project, 'studio.db'), { readonly: true });
    try {
      return db
        .prepare<[], { id: number }>('SELECT assignment_id AS id FROM ratings')
        .all()
        .map((r) => r.id);
    } finally {
      db.close();
    }
  };

  const submit = (base: string, item: Shown) =>
    callAs(base, alice, 'rating.submit', {
      assignmentId: item.assignmentId,
      helpful: 'left',
      safe: 'both_good',
      activeMs: 1000,
    });

  it('serve --campaign runs with stdin closed until SIGTERM, then exits 0 with every acknowledged rating saved', async () => {
    const served = await serve(['serve', '--campaign', C, '--port', '0', ...p]);
    const base = served.listening.url;
    const acknowledged: number[] = [];

    let item = (await callAs(base, alice, 'rating.next', {})).body.item as Shown | null;
    for (let i = 0; i < 2; i += 1) {
      if (!item) throw new Error('the campaign ran out of items before two ratings');
      const answer = await submit(base, item);
      expect(answer.status).toBe(200);
      acknowledged.push(item.assignmentId);
      item = answer.body.next as Shown | null;
    }
    if (!item) throw new Error('the campaign ran out of items before the third rating');
    // A rating on its way when the signal comes: answered and kept, or refused and not kept, never acknowledged and lost.
    const third = item;
    const racing = submit(base, third).then(
      (answer) => (answer.status === 200 ? acknowledged.push(third.assignmentId) : undefined),
      () => undefined,
    );
    served.child.kill('SIGTERM');
    await racing;

    expect(await served.exit).toBe(0);
    expect(served.lines.map((l) => JSON.parse(l) as unknown)).toContainEqual({ event: 'stopped', signal: 'SIGTERM' });
    expect(acknowledged.length).toBeGreaterThanOrEqual(2);
    const stored = storedAssignments();
    for (const id of acknowledged) expect(stored).toContain(id);

    // The link still works after a restart on the same port, with the queue where it was.
    const again = await serve(['serve', '--campaign', C, '--port', String(served.listening.port), ...p]);
    try {
      expect(again.listening.port).toBe(served.listening.port);
      const next = await callAs(base, alice, 'rating.next', {});
      expect(next.status).toBe(200);
      const progress = next.body.progress as { mine: { done: number } };
      expect(progress.mine.done).toBe(acknowledged.length);
    } finally {
      again.child.kill('SIGTERM');
      expect(await again.exit).toBe(0);
    }
  }, 120_000);

  it('returns an export for the browser to save, the same as the file written; a missing folder is refused in words', async () => {
    const out = join(suiteDir(), 'ratings.jsonl');
    ok(alol(['ratings', 'export', C, '--format', 'trl-preference', '--out', out, ...p]));
    const served = await serve(['studio', '--port', '0', ...p]);
    try {
      const { url, token } = served.listening;
      const download = await callAs(url, token, 'ratings.download', { campaign: C, format: 'trl-preference' });
      expect(download.status).toBe(200);
      expect(download.body.filename).toBe(`${C}-trl-preference.jsonl`);
      expect(download.body.content).toBe(readFileSync(out, 'utf8'));
      expect((download.body.card as { content: string }).content).toBe(
        readFileSync(join(suiteDir(), 'ratings.card.md'), 'utf8'),
      );
      const missing = await callAs(url, token, 'ratings.export', {
        campaign: C,
        format: 'raw',
        path: '/no/such/folder/r.jsonl',
      });
      expect(missing.status).toBe(400);
      expect(missing.body.error).toMatchObject({
        code: 'invalid_input',
        message: expect.stringContaining('folder /no/such/folder does not exist'),
      });
      const weights = await callAs(url, token, 'models.download', { model: 'm1', file: 'config.json' });
      expect(weights.status).toBe(200);
      expect(JSON.parse(Buffer.from(weights.body.base64 as string, 'base64').toString('utf8'))).toMatchObject({
        n_layer: 1,
        n_embd: 32,
      });
    } finally {
      served.child.kill('SIGTERM');
      expect(await served.exit).toBe(0);
    }
    const refused = alol(['ratings', 'export', C, '--out', '/no/such/folder/r.jsonl', ...p]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('folder /no/such/folder does not exist');
    expect(refused.stderr).not.toContain('ENOENT');
  }, 60_000);

  it('studio runs until SIGINT and exits 0; app.info says it is bound to loopback', async () => {
    const served = await serve(['studio', '--port', '0', ...p]);
    const info = await callAs(served.listening.url, served.listening.token, 'app.info', {});
    expect(info.status).toBe(200);
    expect(info.body.server).toEqual({ host: '127.0.0.1', port: served.listening.port, network: false, urls: [] });
    expect(served.listening.lanUrls).toEqual([]);
    served.child.kill('SIGINT');
    expect(await served.exit).toBe(0);
    expect(served.lines.map((l) => JSON.parse(l) as unknown)).toContainEqual({ event: 'stopped', signal: 'SIGINT' });
  }, 60_000);

  it('with --host 0.0.0.0 gives one link per network address, each of which works, and annotator add prints them all', async () => {
    const served = await serve(['serve', '--campaign', C, '--host', '0.0.0.0', '--port', '0', ...p]);
    try {
      const { lanUrls, links, token, port } = served.listening;
      expect(lanUrls.length, 'this machine has a non-loopback IPv4 address').toBeGreaterThan(0);
      for (const url of lanUrls) {
        expect(url).toMatch(new RegExp(`^http://(?!127\\.)[\\d.]+:${port}/$`));
        expect(links).toContain(`${url}#token=${token}&campaign=${C}`);
        // The owner's token and an annotator's both work through the network address.
        expect((await callAs(url, alice, 'rating.next', {})).status).toBe(200);
      }
      const info = await callAs(lanUrls[0] as string, token, 'app.info', {});
      expect(info.body.server).toEqual({ host: '0.0.0.0', port, network: true, urls: lanUrls });

      const bob = ok(
        alol(['annotator', 'add', 'bob', '--campaign', C, '--host', '0.0.0.0', '--port', String(port), ...p, '--json']),
      ).json() as {
        token: string;
        links: string[];
      };
      expect(bob.links).toEqual(lanUrls.map((u) => `${u}#rate=${bob.token}`));
      for (const url of lanUrls) expect((await callAs(url, bob.token, 'rating.session', {})).status).toBe(200);
      const human = ok(
        alol(['annotator', 'add', 'carol', '--campaign', C, '--host', '0.0.0.0', '--port', String(port), ...p]),
      );
      for (const url of lanUrls) expect(human.stdout).toContain(`${url}#rate=`);
    } finally {
      served.child.kill('SIGTERM');
      expect(await served.exit).toBe(0);
    }
  }, 60_000);
});
