/**
 * `tsx bench/scale.bench.ts`: the paper's data size on this machine, figures only (no assertions).
 *
 * A synthetic set the size of HH-RLHF's train split: SCALE_PROMPTS prompts (default 160,000) with
 * two responses each, 320,000 (prompt, response, reward) rows, plus the same prompts as 160,000
 * HH-format preference pairs. Through the real backend and its job processes, it prints the wall
 * time and the peak resident memory (the job process's own high-water mark, and the whole process
 * tree's) of: the two imports, `model new` (tokenizer sample and weights), an A-LoL run's phases
 * (scoring every response with a module reward, value-target decodes of the validation prompts,
 * the value head's fit, the advantage pass over every training prompt, SCALE_STEPS steps),
 * sampling 100 prompts, and `alol report` as a real process.
 *
 * Targets (issue: every path works at 500,000 rows): the import of 160k pairs in at most 60 s;
 * peak RSS at most 4 GB with a small model. SCALE_KEEP=1 keeps the project folder.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { call, jobEnd, openBackend } from '../test/helpers/backend';
import type { Job } from '../src/shared/contract';

const PROMPTS = Number(process.env.SCALE_PROMPTS ?? 160_000);
const STEPS = Number(process.env.SCALE_STEPS ?? 100);
const VALIDATION = 2_000;
const TEST = 100;
const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'alol-scale-'));
const project = join(work, 'project');

// ---------------------------------------------------------------------------------------------
// Memory: every 100 ms, each process in this one's tree: its own peak (VmHWM) and the tree's sum.

function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function kib(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

const memory = { processPeak: 0, treePeak: 0 };
function sample(): void {
  const tree: number[] = [];
  const walk = (pid: number) => {
    for (const c of children(pid)) {
      tree.push(c);
      walk(c);
    }
  };
  walk(process.pid);
  let sum = kib(process.pid, 'VmRSS');
  for (const pid of tree) {
    sum += kib(pid, 'VmRSS');
    memory.processPeak = Math.max(memory.processPeak, kib(pid, 'VmHWM'));
  }
  memory.treePeak = Math.max(memory.treePeak, sum);
}
const poller = setInterval(sample, 100);

const gb = (k: number) => `${(k / 1024 / 1024).toFixed(2)} GB`;
const rows: string[] = [];
async function measure<T>(label: string, run: () => Promise<T>): Promise<T> {
  memory.processPeak = 0;
  memory.treePeak = 0;
  const started = performance.now();
  const result = await run();
  sample();
  const seconds = (performance.now() - started) / 1000;
  const line = `${label.padEnd(52)} ${seconds.toFixed(1).padStart(8)} s   job peak ${gb(memory.processPeak).padStart(8)}   tree peak ${gb(memory.treePeak).padStart(8)}`;
  rows.push(line);
  console.log(line);
  return result;
}

function succeeded(job: Job, what: string): Job {
  if (job.status !== 'succeeded') throw new Error(`${what}: ${job.status}: ${job.error ?? ''}`);
  return job;
}

// ---------------------------------------------------------------------------------------------
// Data: varied enough that the tokenizer and the value head have something to learn.

const topics = [
  'gardening',
  'taxes',
  'chess',
  'cooking rice',
  'a flat tyre',
  'sleep',
  'learning Spanish',
  'a job interview',
];
function promptOf(i: number): string {
  const turns = 1 + (i % 4);
  let text = '';
  for (let t = 0; t < turns; t++) {
    text += `\n\nHuman: Question ${i}.${t} about ${topics[(i + t) % topics.length]}: what should I do first?`;
    if (t < turns - 1) text += `\n\nAssistant: Start small, case ${i}, step ${t}.`;
  }
  return `${text}\n\nAssistant:`;
}
const good = (i: number) =>
  ` Here is a careful answer for case ${i}: check ${topics[i % topics.length]} first, then ask for help.`;
const bad = (i: number) => ` No idea ${i}.`;
function splitOf(i: number): string {
  return i < VALIDATION ? 'validation' : i < VALIDATION + TEST ? 'test' : 'train';
}

function writeData(): { triples: string; pairs: string; megabytes: number } {
  const triples = join(work, 'triples.jsonl');
  const pairs = join(work, 'pairs.jsonl');
  const t: string[] = [];
  const p: string[] = [];
  for (let i = 0; i < PROMPTS; i++) {
    const prompt = promptOf(i);
    const split = splitOf(i);
    t.push(JSON.stringify({ prompt, response: good(i), reward: 0.6 + (i % 5) / 20, split }));
    t.push(JSON.stringify({ prompt, response: bad(i), reward: 0.1 + (i % 3) / 20, split }));
    p.push(JSON.stringify({ chosen: `${prompt}${good(i)}`, rejected: `${prompt}${bad(i)}` }));
  }
  writeFileSync(triples, `${t.join('\n')}\n`);
  writeFileSync(pairs, `${p.join('\n')}\n`);
  return { triples, pairs, megabytes: (statSync(triples).size + statSync(pairs).size) / 1e6 };
}

// ---------------------------------------------------------------------------------------------

const backend = openBackend(project);
try {
  const data = writeData();
  console.log(
    `A-LoL Studio scale benchmark (${process.version}, ${process.platform} ${process.arch}); tensor backend: ${(await call(backend, 'app.info', {})).tensorBackend.reason}`,
  );
  console.log(
    `${PROMPTS.toLocaleString('en-US')} prompts: ${(2 * PROMPTS).toLocaleString('en-US')} responses as triples, ${PROMPTS.toLocaleString('en-US')} HH pairs (${data.megabytes.toFixed(0)} MB of JSONL)\n`,
  );

  const importJob = (path: string, name: string) => async () =>
    succeeded(
      await jobEnd(backend, (await call(backend, 'imports.start', { source: { kind: 'path', path }, name })).jobId),
      `import ${name}`,
    );
  await measure(`import ${(2 * PROMPTS).toLocaleString('en-US')} triples`, importJob(data.triples, 'triples'));
  await measure(`import ${PROMPTS.toLocaleString('en-US')} HH pairs (target <= 60 s)`, importJob(data.pairs, 'pairs'));
  await measure('model new (tokenizer sample, vocab 512, 2 layers, d 64)', async () =>
    succeeded(
      await jobEnd(
        backend,
        (
          await call(backend, 'models.create', {
            name: 'small',
            dataset: 'triples',
            layers: 2,
            dim: 64,
            heads: 2,
            context: 128,
            vocab: 512,
            seed: 1,
          })
        ).jobId,
      ),
      'model new',
    ),
  );

  writeFileSync(
    join(project, 'scorer.mjs'),
    'export function score(prompt, response) { return Math.min(1, response.length / 100); }\n',
  );
  const phases = new Map<string, number>();
  let phase = '';
  let phaseStart = performance.now();
  const off = backend.bus.subscribe((event) => {
    if (event.name !== 'jobs.progress') return;
    const p = event.payload as { phase?: string };
    if (p.phase && p.phase !== phase) {
      if (phase) phases.set(phase, (phases.get(phase) ?? 0) + (performance.now() - phaseStart) / 1000);
      phase = p.phase;
      phaseStart = performance.now();
    }
  });
  const run = await measure(`A-LoL run (module reward, ${STEPS} steps, batch 16)`, async () => {
    const { runId, jobId } = await call(backend, 'runs.start', {
      algo: 'a_lol',
      data: 'triples',
      init: 'small',
      out: 'alol',
      reward: 'module:scorer.mjs',
      steps: STEPS,
      batch: 16,
      maxNewTokens: 16,
      valueEpochs: 2,
      seed: 3,
    });
    succeeded(await jobEnd(backend, jobId), 'train');
    return call(backend, 'runs.get', { runId });
  });
  if (phase) phases.set(phase, (phases.get(phase) ?? 0) + (performance.now() - phaseStart) / 1000);
  off();
  for (const [name, seconds] of phases) console.log(`    phase ${name.padEnd(42)} ${seconds.toFixed(1).padStart(8)} s`);
  console.log(
    `    positive advantages: ${String((run.summary?.advantages as { positiveFraction?: number } | undefined)?.positiveFraction)}`,
  );

  await measure(`sample ${TEST} test prompts (greedy, 32 new tokens)`, async () =>
    succeeded(
      await jobEnd(
        backend,
        (
          await call(backend, 'samples.create', {
            model: 'alol',
            prompts: { dataset: 'triples', split: 'test' },
            settings: { maxNewTokens: 32, greedy: true },
            reward: 'module:scorer.mjs',
          })
        ).jobId,
      ),
      'sample',
    ),
  );
  backend.close();
  await measure(
    'alol report (a real process)',
    () =>
      new Promise<void>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          [join(root, 'bin/alol.js'), 'report', '--out', join(work, 'report.html'), '--project', project, '--json'],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let err = '';
        child.stderr.on('data', (c: Buffer) => (err += c.toString()));
        child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`alol report exited ${code}: ${err}`))));
      }),
  );
  console.log(`\nproject folder: ${readdirSync(project).length} entries; peak RSS target: 4 GB per process`);
} finally {
  clearInterval(poller);
  if (backend.db.open) backend.close();
  if (process.env.SCALE_KEEP !== '1') rmSync(work, { recursive: true, force: true });
  else console.log(`kept ${work}`);
}
