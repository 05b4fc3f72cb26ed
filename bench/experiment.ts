/**
 * The paper's main claim at small scale (src/main/workflows/experiment.ts): settings chosen on dev, then
 * frozen and run on fresh seeds and a second task seed, with paired bootstrap intervals.
 *
 *   npx tsx bench/experiment.ts [--quick] [--task demo|hh] [--out FILE | --no-out] [--project DIR] [--keep] [--job-entry FILE] [--data HH.jsonl.gz]
 *                               [--tag TAG --resume] (demo: in --project DIR, keep what an interrupted run with that tag finished)
 *                               [--algos nll,a_lol,...] [--parallel 2] [--backend NAME]
 *                               [--seeds 1,2,3,4,5] [--task2 2:1,2,3 | --no-task2] [--selection-seed 100]
 *                               [--grid-lr 1e-3,2e-3,4e-3] [--grid-steps 100] [--ref-steps N] [--test-prompts N]
 *
 * Needs the built job entry (out/main/job.js: `npm run build`); builds nothing itself. Works in a
 * new temporary project (removed afterwards unless --keep), or in --project DIR. Writes the results
 * (settings, dev grid, per-seed per-prompt rewards, summaries, backend, BLAS, commit, Node, date)
 * to bench/results/experiment-demo.json unless --quick (then only with --out); any change from the
 * full preset is recorded in the file as a reduction. `npm run experiment:table` then puts the
 * table in the README.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  EXPERIMENT_ALGOS,
  EXPERIMENT_PRESETS,
  formatExperimentTable,
  runExperiment,
  type ExperimentPreset,
  type Provenance,
} from '../src/main/workflows/experiment';
import { HH_PRESETS, formatHhTable, runHhExperiment, type HhPreset } from '../src/main/workflows/experimentHh';
import { requestedTensorBackend, type ForcedTensorBackend } from '../src/main/lm/tensorBackend';
import { Algo } from '../src/shared/contract';

const usage = `usage: npx tsx bench/experiment.ts [--quick] [--task demo|hh] [--out FILE | --no-out] [--project DIR] [--keep] [--job-entry FILE] [--data HH.jsonl.gz]
       [--tag TAG --resume]
       [--algos a,b,...] [--parallel N] [--backend NAME]
       [--seeds S,S,...] [--task2 TASKSEED:S,S,... | --no-task2] [--selection-seed N]
       [--grid-lr X,X,...] [--grid-steps N,N,...] [--ref-steps N] [--test-prompts N]`;

function fail(message: string, code = 2): never {
  console.error(message);
  process.exit(code);
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        quick: { type: 'boolean', default: false },
        task: { type: 'string', default: 'demo' },
        out: { type: 'string' },
        'no-out': { type: 'boolean', default: false },
        project: { type: 'string' },
        'job-entry': { type: 'string' },
        data: { type: 'string' },
        tag: { type: 'string' },
        resume: { type: 'boolean', default: false },
        keep: { type: 'boolean', default: false },
        algos: { type: 'string' },
        parallel: { type: 'string' },
        backend: { type: 'string' },
        seeds: { type: 'string' },
        task2: { type: 'string' },
        'no-task2': { type: 'boolean', default: false },
        'selection-seed': { type: 'string' },
        'grid-lr': { type: 'string' },
        'grid-steps': { type: 'string' },
        'ref-steps': { type: 'string' },
        'test-prompts': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    return fail(`${error instanceof Error ? error.message : String(error)}\n${usage}`);
  }
})();
if (values.help) {
  console.log(usage);
  process.exit(0);
}
if (values.task !== 'demo' && values.task !== 'hh') fail(`--task: expected demo or hh, got "${values.task}"`);

function numbers(flag: string, text: string, integer: boolean): number[] {
  const xs = text.split(',').map((x) => Number(x.trim()));
  if (xs.length === 0 || !xs.every((n) => Number.isFinite(n) && n >= 0 && (!integer || Number.isInteger(n)))) {
    fail(`--${flag}: expected ${integer ? 'whole ' : ''}numbers >= 0 separated by commas, got "${text}"`);
  }
  return xs;
}
function one(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const [n] = numbers(flag, text, true);
  if (!(n! > 0)) fail(`--${flag}: expected a whole number > 0, got "${text}"`);
  return n;
}

// A long run may take a copy of out/ (--job-entry), so that a rebuild of out/ meanwhile cannot change its jobs' code.
const jobEntry = values['job-entry']
  ? resolve(values['job-entry'])
  : fileURLToPath(new URL('../out/main/job.js', import.meta.url));
if (!existsSync(jobEntry))
  fail(`${jobEntry} is missing: run \`npm run build\` first (this script runs the built job entry)`, 1);

let forcedTensorBackend: ForcedTensorBackend | null = null;
try {
  forcedTensorBackend = requestedTensorBackend(values.backend, process.env);
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}

let algos: Algo[] | undefined;
if (values.algos !== undefined) {
  const parsed = values.algos.split(',').map((a) => Algo.safeParse(a.trim()));
  const bad = parsed.findIndex((p) => !p.success);
  if (bad >= 0)
    fail(`--algos: unknown algorithm "${values.algos.split(',')[bad]}"; use some of ${EXPERIMENT_ALGOS.join(', ')}`);
  algos = parsed.map((p) => p.data!);
}
const parallel = one('parallel', values.parallel);

/** Where the results came from: the commit (and whether the tree had changes), Node, the machine, when. */
function provenance(): Provenance {
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: fileURLToPath(new URL('.', import.meta.url)), encoding: 'utf8' }).trim();
    } catch {
      return null;
    }
  };
  const commit = git('rev-parse', 'HEAD');
  // Tracked files only: an untracked file (a scratch folder, a node_modules link) does not change what ran.
  const status = git('status', '--porcelain', '--untracked-files=no');
  return {
    commit: commit === null ? 'unknown' : status ? `${commit} dirty` : commit,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: cpus().length,
    loadAverageAtStart: Number(loadavg()[0]!.toFixed(2)),
    date: new Date().toISOString(),
  };
}

// Job processes run the built JavaScript (out/main/job.js). fork() hands them this process's
// execArgv, which under tsx loads tsx's module hooks into every job: about a second more per job
// start, and this experiment starts hundreds of jobs. They need none of it.
process.execArgv = process.execArgv.filter((arg, i, all) => !/tsx/.test(arg) && !/tsx/.test(all[i + 1] ?? ''));

const here = fileURLToPath(new URL('.', import.meta.url));
const outFile = values['no-out']
  ? null
  : values.out
    ? resolve(values.out)
    : values.quick
      ? null
      : join(here, 'results', `experiment-${values.task}.json`);
const projectDir = values.project ? resolve(values.project) : mkdtempSync(join(tmpdir(), 'alol-experiment-'));
const t0 = Date.now();
const where = provenance();

/** What differs from the full preset, in words: recorded so a reduced run never passes for the full one. */
function differences(full: object, used: object, prefix = ''): string[] {
  const out: string[] = [];
  for (const key of new Set([...Object.keys(full), ...Object.keys(used)])) {
    const a = (full as Record<string, unknown>)[key];
    const b = (used as Record<string, unknown>)[key];
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a))
      out.push(...differences(a, b, `${prefix}${key}.`));
    else out.push(`${prefix}${key} ${JSON.stringify(b)} instead of ${JSON.stringify(a)}`);
  }
  return out;
}

try {
  if (values.task === 'demo') {
    const preset: ExperimentPreset = structuredClone(EXPERIMENT_PRESETS[values.quick ? 'quick' : 'full']);
    if (algos) preset.algos = algos;
    if (parallel !== undefined) preset.parallel = parallel;
    if (values.seeds !== undefined) preset.tasks[0]!.seeds = numbers('seeds', values.seeds, true);
    if (values['no-task2']) preset.tasks = preset.tasks.slice(0, 1);
    if (values.task2 !== undefined) {
      const m = /^(\d+):(.+)$/.exec(values.task2);
      if (!m) fail(`--task2: expected TASKSEED:S,S,..., got "${values.task2}"`);
      preset.tasks = [preset.tasks[0]!, { taskSeed: Number(m[1]), seeds: numbers('task2', m[2]!, true) }];
    }
    const selectionSeed =
      values['selection-seed'] === undefined ? undefined : numbers('selection-seed', values['selection-seed'], true)[0];
    if (selectionSeed !== undefined) preset.selection.seed = selectionSeed;
    if (values['grid-lr'] !== undefined) preset.grid.lr = numbers('grid-lr', values['grid-lr'], false);
    if (values['grid-steps'] !== undefined) preset.grid.steps = numbers('grid-steps', values['grid-steps'], true);
    const refSteps = one('ref-steps', values['ref-steps']);
    if (refSteps !== undefined) preset.budget.refSteps = refSteps;
    const testPrompts = one('test-prompts', values['test-prompts']);
    if (testPrompts !== undefined) preset.testPrompts = testPrompts;
    if (!values.quick) {
      const { reductions: _r, ...full } = EXPERIMENT_PRESETS.full;
      const { reductions: _u, ...used } = preset;
      // Left out of the run: the algorithms of ALOL.md that the preset or the flags did not include.
      const leftOut = EXPERIMENT_ALGOS.filter((a) => !preset.algos.includes(a));
      preset.reductions = [
        ...differences(full, used),
        ...(leftOut.length > 0 ? [`algorithms left out for time: ${leftOut.join(', ')}`] : []),
      ];
    }
    console.log(
      `A-LoL vs NLL on the demo task${values.quick ? ' (quick: a pipeline check, not the claim)' : ''}: algorithms ${preset.algos.join(', ')}; ` +
        `grid lr ${preset.grid.lr.join(', ')} x steps ${preset.grid.steps.join(', ')} on dev; tasks ${preset.tasks.map((t) => `${t.taskSeed} (seeds ${t.seeds.join(', ')})`).join(', ')}\n` +
        `model ${JSON.stringify(preset.model)}; budget ${JSON.stringify(preset.budget)}; commit ${where.commit}; load average ${where.loadAverageAtStart}`,
    );
    if (values.resume && !(values.project && values.tag))
      fail("--resume: give the interrupted run's --project DIR and --tag TAG (its log names them)");
    const results = await runExperiment({
      ...preset,
      projectDir,
      jobEntry,
      forcedTensorBackend,
      ...(values.tag === undefined ? {} : { tag: values.tag }),
      resume: values.resume,
      onLog: (line) => console.log(line),
    });
    console.log(`\n${formatExperimentTable(results)}\n`);
    if (outFile) {
      mkdirSync(dirname(outFile), { recursive: true });
      writeFileSync(outFile, `${JSON.stringify({ ...results, provenance: where })}\n`);
      console.log(`results written to ${outFile}`);
    }
    console.log(
      `wall time ${Math.floor(results.seconds / 60)} min ${results.seconds % 60} s on backend ${results.backend.chosen} (${results.backend.reason})`,
    );
  } else {
    const preset: HhPreset = structuredClone(HH_PRESETS[values.quick ? 'quick' : 'full']);
    if (algos) preset.algos = algos;
    if (parallel !== undefined) preset.parallel = parallel;
    if (values.seeds !== undefined) preset.seeds = numbers('seeds', values.seeds, true);
    const testPrompts = one('test-prompts', values['test-prompts']);
    if (testPrompts !== undefined) preset.testPrompts = testPrompts;
    const refSteps = one('ref-steps', values['ref-steps']);
    if (refSteps !== undefined) preset.budget.refSteps = refSteps;
    if (!values.quick) {
      const { reductions: _r, ...full } = HH_PRESETS.full;
      const { reductions: _u, ...used } = preset;
      preset.reductions = differences(full, used);
    }
    const dataFile = resolve(
      values.data ?? join(here, '..', '..', 'shared', 'data', 'hh-rlhf-harmless-base-test.jsonl.gz'),
    );
    if (!existsSync(dataFile)) fail(`${dataFile} is missing: give the HH-RLHF file with --data FILE`, 1);
    console.log(
      `A-LoL on HH-RLHF pairs (small scale): algorithms ${preset.algos.join(', ')}; seeds ${preset.seeds.join(', ')}; commit ${where.commit}; load average ${where.loadAverageAtStart}`,
    );
    const results = await runHhExperiment({
      ...preset,
      dataFile,
      projectDir,
      jobEntry,
      forcedTensorBackend,
      onLog: (line) => console.log(line),
    });
    console.log(`\n${formatHhTable(results)}\n`);
    if (outFile) {
      mkdirSync(dirname(outFile), { recursive: true });
      writeFileSync(outFile, `${JSON.stringify({ ...results, provenance: where })}\n`);
      console.log(`results written to ${outFile}`);
    }
    console.log(
      `wall time ${Math.floor(results.seconds / 60)} min ${results.seconds % 60} s on backend ${results.backend.chosen} (${results.backend.reason})`,
    );
  }
} catch (error) {
  console.error(`experiment failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
} finally {
  if (!values.project && !values.keep) rmSync(projectDir, { recursive: true, force: true });
  else console.log(`project kept at ${projectDir}`);
  console.log(`elapsed ${Math.round((Date.now() - t0) / 1000)} s`);
}
