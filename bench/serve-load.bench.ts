/**
 * `npm run bench:serve` (tsx bench/serve-load.bench.ts): `alol serve` under a real session's load.
 *
 * The built CLI (out/main/cli.js) serves a campaign of 2,000 items on loopback; 50 annotators, each
 * through their own link's token, rate over HTTP as the page does (rating.session and rating.next
 * when the page opens, then a decision: rating.submit with an idempotency key, which hands out the
 * next item; now and then an undo and the decision again), for BENCH_SECONDS (default 60), while a
 * training run (nll on the demo data, started with runs.start through the owner's token) runs in
 * the same studio and two owner pages follow the event stream.
 *
 * The items cost no model: 2,000 preference pairs are written here and imported, and the campaign
 * relabels them (`campaign create --pairs P --n all`). Each annotator thinks BENCH_THINK_MS (default
 * 200..1000 ms, uniform) before a decision; BENCH_THINK_MS=0 is a closed loop at full speed.
 *
 * Prints p50/p95/p99 latency of rating.next and rating.submit (wall time at the client, from the
 * request to the whole body), ratings per second, errors, and lost or doubled ratings read from the
 * raw export (`alol ratings export C --format raw`, another process): every decision carries a
 * unique rationale, so each acknowledged one (less those undone) must be there exactly once. Also
 * CPU time (this process, the server, the training job) beside wall time, and the machine's load,
 * since other work may share it. Target: p95 submit <= 50 ms with zero errors, lost or doubled.
 *
 * BENCH_KEEP=1 keeps the project folder.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import http from 'node:http';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const ITEMS = Number(process.env.BENCH_ITEMS ?? 2_000);
const ANNOTATORS = Number(process.env.BENCH_ANNOTATORS ?? 50);
const OVERLAP = Number(process.env.BENCH_OVERLAP ?? 5);
const THINK = process.env.BENCH_THINK_MS === undefined ? null : Number(process.env.BENCH_THINK_MS);
const UNDO_SHARE = 0.05;
const TARGET_MS = 50;
const C = 'load';
const root = fileURLToPath(new URL('..', import.meta.url));
// BENCH_ALOL=PATH/bin/alol.js runs another build (a baseline checkout) under the same load.
const bin = process.env.BENCH_ALOL ?? join(root, 'bin', 'alol.js');
// BENCH_NO_KEYS=1 submits without idempotency keys (a build from before they existed).
const KEYS = process.env.BENCH_NO_KEYS !== '1';

// ---------------------------------------------------------------------------------------------

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return (s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (at - lo);
}
const f = (x: number): string => (Number.isNaN(x) ? '-' : x.toFixed(x < 10 ? 2 : 1));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function alol(args: string[]): string {
  const run = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 300_000 });
  if (run.status !== 0) throw new Error(`alol ${args.join(' ')} failed (${run.status}): ${run.stderr}`);
  return run.stdout;
}

interface Listening {
  url: string;
  port: number;
  token: string;
}

function serve(args: string[]): Promise<{ child: ChildProcess; listening: Listening }> {
  // BENCH_CPU_PROFILE=DIR: the server writes a V8 CPU profile there when it exits.
  const profile = process.env.BENCH_CPU_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROFILE] : [];
  const child = spawn(process.execPath, [...profile, bin, ...args, '--json', '--no-open'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.once('exit', (how) => reject(new Error(`alol serve exited (${how}) before listening: ${stderr}`)));
    createInterface({ input: child.stdout! }).on('line', (text) => {
      try {
        const parsed = JSON.parse(text) as Listening & { event?: string };
        if (parsed.event === 'listening') resolve({ child, listening: parsed });
      } catch {
        // Not a JSON line.
      }
    });
  });
}

// One keep-alive agent per annotator, as each browser holds its own connections.
async function call(
  agent: http.Agent,
  port: number,
  token: string,
  method: string,
  input: unknown,
): Promise<{ status: number; body: Record<string, unknown>; ms: number }> {
  const body = JSON.stringify(input);
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        agent,
        method: 'POST',
        path: `/api/call/${method}`,
        headers: {
          'Content-Type': 'application/json',
          Authorization: `Bearer ${token}`,
          'Content-Length': Buffer.byteLength(body),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const ms = performance.now() - start;
          let parsed: Record<string, unknown>;
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
          } catch {
            parsed = {};
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, ms });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** CPU seconds (user + system) of a process (own) and of it with its descendants (tree), from /proc. */
function cpuSeconds(pid: number): { own: number; tree: number } {
  const tick = 100;
  const stats = new Map<number, { ppid: number; cpu: number }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const text = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(name), { ppid: Number(fields[1]), cpu: (Number(fields[11]) + Number(fields[12])) / tick });
    } catch {
      // Gone meanwhile.
    }
  }
  let total = 0;
  const walk = (p: number): void => {
    total += stats.get(p)?.cpu ?? 0;
    for (const [child, s] of stats) if (s.ppid === p) walk(child);
  };
  walk(pid);
  return { own: stats.get(pid)?.cpu ?? 0, tree: total };
}

/** The whole machine's busy and total jiffies (all cores), from /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  const first = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = first.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'alol-serve-load-'));
  const project = join(dir, 'project');
  const p = ['--project', project];
  const prepStart = performance.now();
  const pairs = Array.from({ length: ITEMS }, (_, i) =>
    JSON.stringify({
      prompt: `Question ${i}: how should I go about task number ${i}, step by step?`,
      chosen: `Here is a careful answer to question ${i}. First, check what you have. Then do it in small steps, and look at the result.`,
      rejected: `Just do ${i}. Whatever.`,
    }),
  );
  writeFileSync(join(dir, 'pairs.jsonl'), `${pairs.join('\n')}\n`);
  alol(['import', join(dir, 'pairs.jsonl'), '--name', 'pairs', ...p]);
  alol([
    'campaign',
    'create',
    '--name',
    C,
    '--pairs',
    'pairs',
    '--n',
    'all',
    '--overlap',
    String(OVERLAP),
    '--gold',
    '0',
    '--repeat-swapped',
    '0.05',
    ...p,
  ]);
  alol(['demo', 'data', '--name', 'demo', '--prompts', '200', ...p]);
  alol([
    'model',
    'new',
    '--name',
    'm',
    '--data',
    'demo',
    '--layers',
    '2',
    '--dim',
    '64',
    '--heads',
    '2',
    '--context',
    '64',
    '--vocab',
    '300',
    ...p,
  ]);
  console.log(
    `prepared ${ITEMS} items (overlap ${OVERLAP}), the demo data and a model in ${((performance.now() - prepStart) / 1000).toFixed(1)} s`,
  );

  const { child: server, listening } = await serve(['serve', '--campaign', C, '--port', '0', ...p]);
  const { port, token: owner } = listening;
  const ownerAgent = new http.Agent({ keepAlive: true });
  const tokens: string[] = [];
  for (let i = 0; i < ANNOTATORS; i += 1) {
    const added = await call(ownerAgent, port, owner, 'annotators.add', {
      campaign: C,
      name: `annotator-${String(i).padStart(2, '0')}`,
      link: true,
    });
    if (added.status !== 200) throw new Error(`annotators.add: ${JSON.stringify(added.body)}`);
    tokens.push(added.body.token as string);
  }

  // The training run in the same studio, and two owner pages on the event stream.
  // BENCH_TRAIN=0 leaves the run out, to see what it costs the annotators.
  const training = process.env.BENCH_TRAIN !== '0';
  const run = training
    ? await call(ownerAgent, port, owner, 'runs.start', {
        algo: 'nll',
        data: 'demo',
        init: 'm',
        out: 'bench-trained',
        steps: 1_000_000,
        batch: 8,
      })
    : { status: 200, body: { runId: null }, ms: 0 };
  if (run.status !== 200) throw new Error(`runs.start: ${JSON.stringify(run.body)}`);
  let events = 0;
  const streams = [0, 1].map(() =>
    http.get({ host: '127.0.0.1', port, path: '/api/events', headers: { Authorization: `Bearer ${owner}` } }, (res) => {
      res.on('data', (chunk: Buffer) => (events += (chunk.toString('utf8').match(/^event: /gm) ?? []).length));
    }),
  );
  // Let the run get going (its job process loads the model and the data) before the clock starts.
  await sleep(3000);

  const latency: Record<'rating.next' | 'rating.submit' | 'rating.undo' | 'rating.session', number[]> = {
    'rating.session': [],
    'rating.next': [],
    'rating.submit': [],
    'rating.undo': [],
  };
  const errors: string[] = [];
  const live = new Set<string>();
  let acknowledged = 0;
  let undone = 0;
  let exhausted = 0;

  const cpu0 = {
    bench: process.cpuUsage(),
    server: cpuSeconds(server.pid!),
    machine: machineTicks(),
    load: loadavg()[0] ?? 0,
  };
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  const think = (): number => (THINK === null ? 200 + Math.random() * 800 : THINK);

  const annotator = async (i: number): Promise<void> => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    const token = tokens[i] as string;
    const timed = async (method: keyof typeof latency, input: unknown) => {
      const answer = await call(agent, port, token, method, input);
      latency[method].push(answer.ms);
      if (answer.status !== 200) {
        errors.push(`${method} ${answer.status}: ${JSON.stringify(answer.body).slice(0, 200)}`);
        return null;
      }
      return answer.body;
    };
    // Staggered arrivals, as people open their links.
    await sleep(Math.random() * 1000);
    let n = 0;
    const rated: string[] = [];
    while (performance.now() < deadline) {
      // The page opens (or reloads): session and next.
      await timed('rating.session', {});
      const first = await timed('rating.next', {});
      let item = (first?.item as { assignmentId: number } | null | undefined) ?? null;
      for (let k = 0; k < 20 && item && performance.now() < deadline; k += 1) {
        await sleep(think());
        const rationale = `a${i}-d${n}`;
        n += 1;
        const key = `bench-${i}-${n}-${Math.random().toString(36).slice(2, 12)}`;
        const body = await timed('rating.submit', {
          assignmentId: item.assignmentId,
          helpful: 'left',
          safe: 'both_good',
          rationale,
          activeMs: 1000,
          ...(KEYS ? { idempotencyKey: key } : {}),
        });
        if (!body) break;
        acknowledged += 1;
        live.add(rationale);
        rated.push(rationale);
        item = (body.next as { assignmentId: number } | null) ?? null;
        if (Math.random() < UNDO_SHARE) {
          const back = await timed('rating.undo', {});
          const returned = back?.item as { assignmentId: number; rating: unknown } | null | undefined;
          if (returned?.rating) {
            const last = rated.pop();
            if (last) live.delete(last);
            undone += 1;
            item = returned;
          }
        }
      }
      if (!item) {
        exhausted += 1;
        break;
      }
    }
  };
  await Promise.all(Array.from({ length: ANNOTATORS }, (_, i) => annotator(i)));
  const wall = (performance.now() - started) / 1000;
  const benchCpu = process.cpuUsage(cpu0.bench);
  const serverNow = cpuSeconds(server.pid!);
  const serverCpu = serverNow.own - cpu0.server.own;
  const jobCpu = serverNow.tree - serverNow.own - (cpu0.server.tree - cpu0.server.own);
  const machine = machineTicks();
  const machineBusy = (machine.busy - cpu0.machine.busy) / Math.max(1, machine.total - cpu0.machine.total);

  const runAfter = training ? await call(ownerAgent, port, owner, 'runs.get', { runId: run.body.runId }) : { body: {} };
  const cancelled = training
    ? await call(ownerAgent, port, owner, 'runs.cancel', { runId: run.body.runId })
    : { body: 'no run' };
  for (const s of streams) s.destroy();
  ownerAgent.destroy();
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.kill('SIGTERM');
  await exited;

  // Lost and doubled, from the raw export.
  const out = join(dir, 'raw.jsonl');
  alol(['ratings', 'export', C, '--format', 'raw', '--out', out, ...p]);
  const rows = readFileSync(out, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { item: number; annotator: string; repeat: boolean; rationale: string });
  const seen = new Map<string, number>();
  for (const r of rows) seen.set(r.rationale, (seen.get(r.rationale) ?? 0) + 1);
  const lost = [...live].filter((r) => !seen.has(r)).length;
  const doubled =
    [...seen.values()].filter((n) => n > 1).length +
    (rows.length - new Set(rows.map((r) => `${r.item}/${r.annotator}/${r.repeat}`)).size);
  const extra = [...seen.keys()].filter((r) => !live.has(r)).length;

  const row = (method: keyof typeof latency): string => {
    const xs = latency[method];
    return `${method.padEnd(15)} n ${String(xs.length).padStart(6)}   p50 ${f(quantile(xs, 0.5)).padStart(6)} ms   p95 ${f(quantile(xs, 0.95)).padStart(6)} ms   p99 ${f(quantile(xs, 0.99)).padStart(6)} ms   max ${f(Math.max(...xs)).padStart(6)} ms`;
  };
  const p95 = quantile(latency['rating.submit'], 0.95);
  const runStep = (runAfter.body as { step?: number }).step;
  console.log('');
  console.log(
    `alol serve under load: ${ANNOTATORS} annotators, ${ITEMS} items, think ${THINK === null ? '200..1000' : THINK} ms, ${SECONDS} s, a training run alongside (step ${runStep ?? '?'} at the end, cancelled: ${JSON.stringify(cancelled.body)}), ${streams.length} event streams (${events} events)`,
  );
  for (const m of ['rating.session', 'rating.next', 'rating.submit', 'rating.undo'] as const) console.log(row(m));
  console.log(
    `ratings/s       ${(acknowledged / wall).toFixed(1)} (${acknowledged} acknowledged, ${undone} undone, ${rows.length} exported)`,
  );
  console.log(
    `errors          ${errors.length}${errors.length ? `: ${[...new Set(errors)].slice(0, 5).join(' | ')}` : ''}`,
  );
  console.log(`lost ${lost}   doubled ${doubled}   unexpected ${extra}   annotators out of items ${exhausted}`);
  console.log(
    `time            wall ${wall.toFixed(1)} s; CPU: bench clients ${((benchCpu.user + benchCpu.system) / 1e6).toFixed(1)} s, server ${serverCpu.toFixed(1)} s, training job ${jobCpu.toFixed(1)} s; ` +
      `machine ${cpus().length} cores ${(machineBusy * 100).toFixed(0)}% busy over the run (load average ${cpu0.load.toFixed(2)} before, ${(loadavg()[0] ?? 0).toFixed(2)} after)`,
  );
  console.log(
    `target          p95 submit ${f(p95)} ms <= ${TARGET_MS} ms with 0 errors/lost/doubled: ${p95 <= TARGET_MS && errors.length === 0 && lost === 0 && doubled === 0 ? 'MET' : 'NOT MET'}`,
  );
  if (process.env.BENCH_KEEP) console.log(`project kept in ${project}`);
  else rmSync(dir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
