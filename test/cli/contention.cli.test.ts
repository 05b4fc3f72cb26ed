/**
 * The store under contention, with every party a real process on one project: `alol serve` serves
 * a campaign and runs a training job (its own process, writing a step's metrics at every step),
 * raters submit over HTTP, and meanwhile ROUNDS rounds of CLI writes run as separate processes all
 * at once: `alol import` of a 40,000-row file, `alol annotator add` (whose link then rates through
 * the running server), and `alol ratings import` of ratings collected elsewhere. Every process must
 * succeed, none may report a locked database, and everything must be stored exactly once: each
 * import a whole version of its own, each annotator once, each rating once, each training step's
 * metrics once.
 */
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { alol, alolAsync, type CliRun } from '../helpers/cli';
import { callAs, serveProcess, sleep } from '../helpers/served';
import { useSuiteTempDir } from '../helpers/tempDir';

const C = 'busy';
const ROUNDS = 4;
const IMPORT_ROWS = 40_000;
const IMPORTED_RATINGS = 12;
const HTTP_RATINGS = 15;

interface Item {
  id: number;
  prompt: string;
  first: { system: string; response: string };
  second: { system: string; response: string };
}

describe('CLI writes while the studio serves and trains', () => {
  const dir = useSuiteTempDir('alol-busy-');
  let p: string[];
  let items: Item[];
  const ok = (run: CliRun, what: string) => {
    expect(run.status, `${what}: ${run.stderr}`).toBe(0);
    return run;
  };

  beforeAll(() => {
    p = ['--project', join(dir(), 'project')];
    const pairs = join(dir(), 'pairs.jsonl');
    const lines = Array.from({ length: 120 }, (_, i) =>
      JSON.stringify({ prompt: `Question ${i}?`, chosen: `Kind answer ${i}.`, rejected: `Curt answer ${i}.` }),
    );
    writeFileSync(pairs, `${lines.join('\n')}\n`);
    ok(alol(['import', pairs, '--name', 'pairs', ...p]), 'import pairs');
    ok(alol(['campaign', 'create', '--name', C, '--pairs', 'pairs', '--n', 'all', '--gold', '0', ...p]), 'campaign');
    ok(alol(['demo', 'data', '--name', 'demo', '--prompts', '40', ...p]), 'demo data');
    ok(
      alol(['model', 'new', '--name', 'm', '--data', 'demo', '--layers', '1', '--dim', '32', '--heads', '2', ...p]),
      'model new',
    );
    items = ok(alol(['campaign', 'items', C, '--json', ...p]), 'items').json() as Item[];
    // The big file each round imports (its own rows per round, so each version can be told apart).
    for (let r = 0; r < ROUNDS; r += 1) {
      const rows = Array.from({ length: IMPORT_ROWS }, (_, i) =>
        JSON.stringify({ prompt: `Round ${r} prompt ${i}`, response: `Round ${r} response ${i}`, reward: (i % 9) / 9 }),
      );
      writeFileSync(join(dir(), `bulk-${r}.jsonl`), `${rows.join('\n')}\n`);
      // Ratings collected elsewhere: one annotator per round, on items no one else is given first.
      const ratings = items.slice(0, IMPORTED_RATINGS).map((item, i) =>
        JSON.stringify({
          item: item.id,
          prompt: item.prompt,
          first: { system: item.first.system, response: item.first.response },
          second: { system: item.second.system, response: item.second.response },
          annotator: `elsewhere-${r}`,
          helpful: i % 2 === 0 ? 'first' : 'second',
          safe: 'both_good',
          rationale: `imported r${r} i${i}`,
        }),
      );
      writeFileSync(join(dir(), `ratings-${r}.jsonl`), `${ratings.join('\n')}\n`);
    }
  }, 240_000);

  it('stores every write once, with no locked database', async () => {
    const acknowledged: string[] = [];
    const served = await serveProcess(['serve', '--campaign', C, '--port', '0', ...p]);
    let serverErr = '';
    served.child.stderr?.on('data', (chunk: string) => (serverErr += chunk));
    const { url: base, token: owner } = served.listening;
    try {
      const run = await callAs(base, owner, 'runs.start', {
        algo: 'nll',
        data: 'demo',
        init: 'm',
        out: 'trained',
        steps: 100_000,
        batch: 4,
      });
      expect(run.status, JSON.stringify(run.body)).toBe(200);
      const runId = run.body.runId as number;
      // The job is writing steps before the CLI starts.
      for (let t = 0; ; t += 1) {
        const got = await callAs(base, owner, 'runs.get', { runId });
        if ((got.body.step as number) >= 2) break;
        if (t > 600) throw new Error(`the training run did not start: ${JSON.stringify(got.body)}`);
        await sleep(100);
      }

      // A rater through a link the CLI made, rating HTTP_RATINGS items over HTTP.
      const rate = async (token: string, name: string): Promise<void> => {
        let item = (await callAs(base, token, 'rating.next', {})).body.item as { assignmentId: number } | null;
        for (let n = 0; n < HTTP_RATINGS && item; n += 1) {
          const rationale = `${name} over http ${n}`;
          const answer = await callAs(base, token, 'rating.submit', {
            assignmentId: item.assignmentId,
            helpful: 'left',
            safe: 'both_good',
            rationale,
            activeMs: 50,
            idempotencyKey: `${name}-${n}-${'k'.repeat(16)}`,
          });
          expect(answer.status, JSON.stringify(answer.body)).toBe(200);
          acknowledged.push(rationale);
          item = answer.body.next as { assignmentId: number } | null;
        }
      };

      const runs: Promise<{ what: string; run: CliRun }>[] = [];
      const raters: Promise<void>[] = [];
      const named = (what: string, args: string[]) => alolAsync([...args, ...p]).then((r) => ({ what, run: r }));
      for (let r = 0; r < ROUNDS; r += 1) {
        runs.push(named(`import ${r}`, ['import', join(dir(), `bulk-${r}.jsonl`), '--name', 'bulk', '--json']));
        runs.push(named(`ratings import ${r}`, ['ratings', 'import', C, join(dir(), `ratings-${r}.jsonl`), '--json']));
        runs.push(
          named(`annotator add ${r}`, ['annotator', 'add', `rater-${r}`, '--campaign', C, '--json']).then((done) => {
            if (done.run.status === 0) {
              const { token } = done.run.json() as { token: string };
              raters.push(rate(token, `rater-${r}`));
            }
            return done;
          }),
        );
      }
      const results = await Promise.all(runs);
      await Promise.all(raters);
      for (const { what, run: cli } of results) {
        expect(cli.status, `${what}: ${cli.stderr}${cli.stdout}`).toBe(0);
        expect(cli.stderr + cli.stdout, what).not.toMatch(/locked|SQLITE_BUSY/i);
      }

      // The training job went on writing meanwhile, each step once.
      const before = await callAs(base, owner, 'runs.get', { runId });
      expect(before.body.status).toBe('running');
      const cancelled = await callAs(base, owner, 'runs.cancel', { runId });
      expect(cancelled.body.cancelled).toBe(true);
      const metrics = (await callAs(base, owner, 'runs.metrics', { runId })).body as unknown as { step: number }[];
      const steps = metrics.map((m) => m.step);
      expect(new Set(steps).size).toBe(steps.length);
      expect(steps.length).toBeGreaterThan(2);

      // Each import is a whole version of its own: ROUNDS versions of IMPORT_ROWS rows, first rows distinct.
      const firstPrompts = new Set<string>();
      for (let v = 1; v <= ROUNDS; v += 1) {
        const version = await callAs(base, owner, 'datasets.get', { dataset: 'bulk', version: v });
        expect(version.status, JSON.stringify(version.body)).toBe(200);
        expect(version.body.examples).toBe(IMPORT_ROWS);
        const page = await callAs(base, owner, 'datasets.examples', { dataset: 'bulk', version: v, limit: 1 });
        firstPrompts.add((page.body.rows as { prompt: string }[])[0]?.prompt ?? '');
      }
      expect(firstPrompts.size).toBe(ROUNDS);
      const list = (await callAs(base, owner, 'datasets.list', {})).body as unknown as { name: string }[];
      expect(list.map((d) => d.name).sort()).toEqual(['bulk', 'demo', 'pairs']);
      expect((await callAs(base, owner, 'datasets.get', { dataset: 'bulk' })).body.version).toBe(ROUNDS);

      // Each annotator once.
      const annotators = (await callAs(base, owner, 'annotators.list', {})).body as unknown as { name: string }[];
      const names = annotators.map((a) => a.name);
      expect(new Set(names).size).toBe(names.length);
      for (let r = 0; r < ROUNDS; r += 1)
        expect(names).toEqual(expect.arrayContaining([`rater-${r}`, `elsewhere-${r}`]));
      expect(serverErr).not.toMatch(/locked|SQLITE_BUSY/i);
    } finally {
      served.child.kill('SIGTERM');
      await served.exit;
    }

    // Each rating once: every imported one, and every one acknowledged over HTTP.
    const out = join(dir(), 'raw.jsonl');
    ok(alol(['ratings', 'export', C, '--format', 'raw', '--out', out, ...p]), 'export');
    const rows = readFileSync(out, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { item: number; annotator: string; rationale: string });
    expect(new Set(rows.map((r) => `${r.item}/${r.annotator}`)).size).toBe(rows.length);
    const count = new Map<string, number>();
    for (const r of rows) count.set(r.rationale, (count.get(r.rationale) ?? 0) + 1);
    for (let r = 0; r < ROUNDS; r += 1)
      for (let i = 0; i < IMPORTED_RATINGS; i += 1) expect(count.get(`imported r${r} i${i}`)).toBe(1);
    expect(acknowledged).toHaveLength(ROUNDS * HTTP_RATINGS);
    for (const rationale of acknowledged) expect(count.get(rationale), rationale).toBe(1);
    expect(rows).toHaveLength(ROUNDS * (IMPORTED_RATINGS + HTTP_RATINGS));
  }, 300_000);
});
