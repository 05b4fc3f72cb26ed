/**
 * The paper's main claim at small scale, on the demo task (src/main/alol/experiment.ts):
 *
 *   npx tsx bench/experiment.ts [--seeds 3 | --seed-list 1,2,3] [--quick] [--project DIR] [--keep] [--json FILE]
 *                               [--algos nll,a_lol,...] [--parallel 2]
 *                               [--ref-steps N --ref-lr X --ref-batch N --steps N --lr X --batch N]
 *                               [--ref-warmup N] [--warmup N] (cosine schedules) [--kl-beta X] [--eps X]
 *                               [--layers N --dim N --heads N --context N --vocab N]
 *
 * Needs the built job entry (out/main/job.js: `npm run build`); builds nothing itself. Works in a
 * new temporary project (removed afterwards unless --keep), or in --project DIR. Prints progress
 * lines, the table, whether each A-LoL variant beat NLL, and the wall time. --quick is a tiny
 * version (1 seed, a tiny model, a few steps) that shows the pipeline works, not the claim.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EXPERIMENT_PRESETS, formatExperimentTable, runExperiment, type ExperimentPreset } from '../src/main/alol/experiment';
import { requestedBackend, type ForcedBackend } from '../src/main/lm/backend';
import { Algo } from '../src/shared/contract';

const usage = `usage: npx tsx bench/experiment.ts [--seeds N | --seed-list S,S,...] [--quick] [--project DIR] [--keep] [--json FILE]
       [--algos a,b,...] [--parallel N] [--backend NAME]
       [--ref-steps N] [--ref-lr X] [--ref-batch N] [--steps N] [--lr X] [--batch N]
       [--ref-warmup N] [--warmup N] [--kl-beta X] [--eps X]
       [--layers N] [--dim N] [--heads N] [--context N] [--vocab N]`;

function fail(message: string, code = 2): never {
  console.error(message);
  process.exit(code);
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        seeds: { type: 'string' },
        'seed-list': { type: 'string' },
        quick: { type: 'boolean', default: false },
        project: { type: 'string' },
        keep: { type: 'boolean', default: false },
        json: { type: 'string' },
        algos: { type: 'string' },
        parallel: { type: 'string' },
        backend: { type: 'string' },
        'ref-steps': { type: 'string' },
        'ref-lr': { type: 'string' },
        'ref-batch': { type: 'string' },
        steps: { type: 'string' },
        lr: { type: 'string' },
        batch: { type: 'string' },
        layers: { type: 'string' },
        dim: { type: 'string' },
        heads: { type: 'string' },
        context: { type: 'string' },
        vocab: { type: 'string' },
        'ref-warmup': { type: 'string' },
        warmup: { type: 'string' },
        'kl-beta': { type: 'string' },
        eps: { type: 'string' },
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

function positive(flag: string, text: string | undefined, integer: boolean): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!(Number.isFinite(n) && n > 0 && (!integer || Number.isInteger(n)))) fail(`--${flag}: expected a ${integer ? 'whole ' : ''}number > 0, got "${text}"`);
  return n;
}

const jobEntry = fileURLToPath(new URL('../out/main/job.js', import.meta.url));
if (!existsSync(jobEntry)) fail(`${jobEntry} is missing: run \`npm run build\` first (this script runs the built job entry)`, 1);

const preset: ExperimentPreset = structuredClone(EXPERIMENT_PRESETS[values.quick ? 'quick' : 'full']);
const seedCount = positive('seeds', values.seeds, true);
if (seedCount !== undefined) preset.seeds = Array.from({ length: seedCount }, (_, i) => i + 1);
if (values['seed-list'] !== undefined) {
  preset.seeds = values['seed-list'].split(',').map((x) => Number(x.trim()));
  if (!preset.seeds.every((x) => Number.isInteger(x) && x >= 0)) fail(`--seed-list: expected whole numbers separated by commas, got "${values['seed-list']}"`);
}
if (values.algos !== undefined) {
  const parsed = values.algos.split(',').map((a) => Algo.safeParse(a.trim()));
  const bad = parsed.findIndex((p) => !p.success);
  if (bad >= 0) fail(`--algos: unknown algorithm "${values.algos.split(',')[bad]}"; use some of ${Algo.options.join(', ')}`);
  preset.algos = parsed.map((p) => p.data!);
}
const budgetFlags = [
  ['ref-steps', 'refSteps', true],
  ['ref-lr', 'refLr', false],
  ['ref-batch', 'refBatch', true],
  ['steps', 'steps', true],
  ['lr', 'lr', false],
  ['batch', 'batch', true],
] as const;
for (const [flag, key, integer] of budgetFlags) {
  const v = positive(flag, values[flag], integer);
  if (v !== undefined) preset.budget[key] = v;
}
// pi_ref with a cosine schedule after this many warmup steps (absent: the preset's schedule).
const refWarmup = positive('ref-warmup', values['ref-warmup'], true);
if (refWarmup !== undefined) preset.budget.refRun = { ...preset.budget.refRun, schedule: 'cosine', warmup: refWarmup };
// Every algorithm with a cosine schedule after this many warmup steps (absent: the preset's schedule).
const warmup = positive('warmup', values.warmup, true);
if (warmup !== undefined) preset.budget.run = { ...preset.budget.run, schedule: 'cosine', warmup };
const klBeta = positive('kl-beta', values['kl-beta'], false);
if (klBeta !== undefined) preset.budget.run = { ...preset.budget.run, klBeta };
const eps = positive('eps', values.eps, false);
if (eps !== undefined) preset.budget.run = { ...preset.budget.run, eps };
for (const key of ['layers', 'dim', 'heads', 'context', 'vocab'] as const) {
  const v = positive(key, values[key], true);
  if (v !== undefined) preset.model[key] = v;
}
preset.parallel = positive('parallel', values.parallel, true) ?? preset.parallel;
let forcedBackend: ForcedBackend | null = null;
try {
  forcedBackend = requestedBackend(values.backend, process.env);
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}

// Job processes run the built JavaScript (out/main/job.js). fork() hands them this process's
// execArgv, which under tsx loads tsx's module hooks into every job: about a second more per job
// start, and this experiment starts about a hundred jobs. They need none of it.
process.execArgv = process.execArgv.filter((arg, i, all) => !/tsx/.test(arg) && !/tsx/.test(all[i + 1] ?? ''));

const projectDir = values.project ? resolve(values.project) : mkdtempSync(join(tmpdir(), 'alol-experiment-'));
console.log(
  `A-LoL vs NLL on the demo task${values.quick ? ' (quick: a pipeline check, not the claim)' : ''}: seeds ${preset.seeds.join(', ')}; ` +
    `algorithms ${preset.algos.join(', ')}\n` +
    `model ${JSON.stringify(preset.model)}; budget ${JSON.stringify(preset.budget)}`,
);
const t0 = Date.now();
try {
  const results = await runExperiment({ ...preset, projectDir, jobEntry, forcedBackend, onLog: (line) => console.log(line) });
  console.log(`\n${formatExperimentTable(results)}\n`);
  for (const v of results.versusNll.filter((x) => x.label.startsWith('a_lol'))) {
    const holds = v.wins === v.seeds && v.difference.mean > 0;
    console.log(`${v.label}: ${holds ? 'beats' : 'does not beat'} NLL on test reward in ${v.wins} of ${v.seeds} seed(s) (mean difference ${v.difference.mean.toFixed(3)})`);
  }
  if (values.json) {
    writeFileSync(resolve(values.json), JSON.stringify(results, null, 2));
    console.log(`results (every decode, per seed) written to ${resolve(values.json)}`);
  }
  const seconds = Math.round((Date.now() - t0) / 1000);
  console.log(`wall time ${Math.floor(seconds / 60)} min ${seconds % 60} s on backend ${results.settings.backend}, ${results.settings.parallel} job(s) at once`);
} catch (error) {
  console.error(`experiment failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  if (!values.project && !values.keep) rmSync(projectDir, { recursive: true, force: true });
  else console.log(`project kept at ${projectDir}`);
}
