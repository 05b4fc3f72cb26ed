/**
 * `alol`: the studio from a terminal. Each command is a call through the same contract and
 * services the UI uses (a third adapter beside IPC and HTTP); human output by default, --json for
 * scripts, exit code 1 on failure and 2 on a usage error. Each command declares its own flags, so
 * a flag that means nothing to it is refused rather than ignored.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { createBackend, type Backend } from '../app/backend';
import { requestedBackend } from '../lm/tensorBackend';
import { resolveProjectDir } from '../core/project';
import { electronStatus } from '../shell/electronBinary';
import { serveFromArgs, SERVE_USAGE } from '../http/serveFromArgs';
import { z } from 'zod';
import {
  AppError,
  RunConfig,
  type RunSummary,
  Generation,
  ImportSummary,
  importFormats,
  ModelSummary,
  type AppErrorShape,
  type Input,
} from '../../shared/contract';
import { formatImportSummary, formatTable, truncate } from './format';
import { call, common, decimal, defined, integer, print, required, runJob, text, UsageError, type Command, type Values } from './kit';
import { ratingCommands } from './commands/campaigns';
import { reportCommand } from './commands/report';

const USAGE = `A-LoL Studio command line

Usage: alol <command> [options]

Data:
  import FILE --name NAME [--format F]   import (prompt, response, reward) rows or preference pairs
         formats: ${importFormats.join(', ')}; .gz accepted
         field mapping: --prompt-field --response-field --reward-field --chosen-field
                        --rejected-field --completion-field --label-field
  datasets                               list datasets (latest version of each)
  demo data --name NAME [--seed 1] [--prompts 400]
                                         generate the built-in demo task as a dataset
  show DATASET [--version V] [--limit N] [--offset N]
                                         show a dataset's summary, examples and pairs
Models:
  models                                 list models
  model new --name N --data DATASET [--version V] [--layers 2 --dim 128 --heads 4 --context 128 --vocab 512 --seed 0]
                                         train a tokenizer on a dataset and initialise a GPT-2 model
  model import DIR --name N              import a Hugging Face GPT-2-family folder
  model export N DIR                     write a model as a Hugging Face folder
  tokenize --model N --text T            token ids of a text
  logprobs --model N (--text T | --ids 1,2,3)
                                         log p(ids[i+1] | ids[0..i]) for every position
  generate --model N --prompt T [--prompt T2 ...] [--max-new-tokens 64] [--greedy | --temperature 1
           --top-k 0 --top-p 1] [--repetition-penalty 1] [--stop S ...] [--seed 0]
                                         decode (greedy unless a sampling flag is given)
Sampling and scoring:
  sample --model M (--prompts DATASET[:split] | --prompts-file FILE.jsonl) [--n K] [--greedy | --temperature
         --top-k --top-p] [--max-new-tokens 64] [--seed S] [--reward demo] [--out FILE.jsonl]
                                         sample responses into the project (and a JSONL file)
  score (--dataset DATASET | --file FILE.jsonl) --reward demo|module:FILE.mjs|rm:NAME|A*w+B*w
                                         score responses with a reward function
Training:
  train --algo A --data DATASET --init MODEL [--ref MODEL] --out NAME [--steps --batch --grad-accum --lr
        --eps --beta --kl-beta --seed --reward demo|column|label|rm:NAME|FILE.mjs --value-decodes K ...]
        [--pairs both|chosen|rejected]   (a pairs dataset's responses as single responses, e.g. --reward label)
                                         train with A-LoL, a variant or a baseline (alol train --help)
  runs                                   list runs
  run show ID | run resume ID | run cancel ID
Rating:
  campaign create --name C --models M1,M2[,..|sample:JOB|data:DATASET] --prompts DATASET[:split] --n N [--overlap K --gold G
                  --repeat-swapped R --seed S --guidelines FILE.md --gold-file GOLD.jsonl --max-new-tokens T]
                                         a campaign of blinded pairwise comparisons (samples what is missing)
  campaign create --name C --pairs DATASET[:split] --n N|all [--overlap K --gold G ...]
                                         relabel a dataset's own pairs (chosen against rejected, blinded)
  campaigns | campaign show C | campaign items C [--flagged --skipped --disagreement --annotator A]
                                         list; progress and agreement; items with their systems (filtered: with every rating)
  annotator add NAME --campaign C [--host H --port P] [--no-link]
                                         add an annotator and print their personal rating link
                                         (--host 0.0.0.0: one link per network address of this machine)
  serve --campaign C [--host H --port P] serve the studio and the rating links (--host 0.0.0.0 for the local network)
                                         until Ctrl-C or SIGTERM; links survive a restart on the same port
  ratings export C --format raw|trl-preference|trl-unpaired|rewards --out FILE [--criterion helpful|safe|both
                  --rule R --helpful-weight W]
  ratings import C FILE                  ratings in the raw format, collected elsewhere
  rewards from-ratings C --name DATASET [--rule absolute|absolute-safety-gates|weighted|safety-gates|both-bad-excluded --helpful-weight 0.5]
                                         a (prompt, response, reward) dataset from the ratings
  rewards model C --name RM [--base MODEL --rule R --epochs 20 --held-out 0.2 --seed 0]
                                         a reward model on the rated pairs (held-out accuracy); use it as --reward rm:RM
  rewards model --dataset DATASET[:split] --name RM --base MODEL [--epochs 20 --held-out 0.2 --seed 0]
                                         the same on a dataset's own pairs (default: its train split)
  retrain --campaign C [--algo a_lol --ref MODEL --out NAME --steps 100 --lr 2e-3 --rule R --next-campaign C2 --force --plan]
                                         ratings -> rewards -> A-LoL from the reference -> a campaign of new vs reference
                                         (below the minimum evidence it refuses, naming the numbers, unless --force;
                                         --plan says the names it would make and the evidence, and starts nothing)
Results:
  report --out FILE.html [--campaign C] [--seed 0 --reps 500]
                                         win rates, leaderboard, agreement, rewards, diversity and training curves as one HTML file
Studio:
  doctor                                 Node, tensor backend and why, GPU, Electron, project
  studio ${SERVE_USAGE}
                                         serve the studio UI on http://127.0.0.1

Options for every command:
  --project DIR    the studio project folder (default: ALOL_PROJECT, else the XDG data folder)
  --backend NAME   tensor backend: tensorflow-gpu, tensorflow, wasm, cpu (default: ALOL_BACKEND, else best available)
  --json           machine-readable output on stdout
  -h, --help       this help
`;

const fieldFlags = ['prompt', 'response', 'reward', 'chosen', 'rejected', 'completion', 'label'] as const;

/** Decoding flags as GenerateSettings: greedy unless a sampling flag is given. */
function decodingSettings(values: Values): Input<'models.generate'>['settings'] {
  const sampling = ['temperature', 'top-k', 'top-p'].some((f) => text(values, f) !== undefined);
  if (values.greedy === true && sampling) throw new UsageError('--greedy does not go with --temperature, --top-k or --top-p');
  return defined({
    maxNewTokens: integer(values, 'max-new-tokens'),
    greedy: !sampling,
    temperature: decimal(values, 'temperature'),
    topK: integer(values, 'top-k'),
    topP: decimal(values, 'top-p'),
    repetitionPenalty: decimal(values, 'repetition-penalty'),
    stop: Array.isArray(values.stop) ? values.stop.map(String) : undefined,
    seed: integer(values, 'seed'),
  });
}

/** One string field of every line of a JSONL file, with the file and line named when one is missing. */
function readJsonlField(file: string, field: string): string[] {
  return readFileSync(resolve(file), 'utf8')
    .split('\n')
    .map((line, i) => [line, i + 1] as const)
    .filter(([line]) => line.trim() !== '')
    .map(([line, n]) => {
      let value: unknown;
      try {
        value = (JSON.parse(line) as Record<string, unknown>)[field];
      } catch {
        throw new UsageError(`${file}:${n}: not valid JSON`);
      }
      if (typeof value !== 'string') throw new UsageError(`${file}:${n} field "${field}": expected a string`);
      return value;
    });
}

function formatModel(m: ModelSummary): string[] {
  const s = m.shape;
  return [m.name, m.origin, `${(m.parameters / 1e6).toFixed(2)}M`, `${s.nLayer}x${s.nEmbd}, ${s.nHead} heads, ctx ${s.nPositions}`, m.tokenizer];
}

/** The run config's fields as flags (dataVersion -> --data-version), typed and described by the schema itself. */
const runFields = (() => {
  const schema = z.toJSONSchema(RunConfig, { io: 'input' }) as { properties: Record<string, { type?: string; description?: string; default?: unknown; enum?: string[] }>; required?: string[] };
  return Object.entries(schema.properties).map(([key, field]) => ({
    key,
    flag: key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`),
    numeric: field.type === 'number' || field.type === 'integer',
    help: `${field.description ?? ''}${field.default !== undefined ? ` (default ${JSON.stringify(field.default)})` : ''}`,
    required: schema.required?.includes(key) ?? false,
  }));
})();

function runConfigFrom(values: Values): Input<'runs.start'> {
  const config: Record<string, unknown> = {};
  for (const field of runFields) {
    const value = text(values, field.flag);
    if (value === undefined) continue;
    config[field.key] = field.numeric ? decimal(values, field.flag) : value;
  }
  for (const field of runFields) if (field.required && config[field.key] === undefined) throw new UsageError(`train: --${field.flag} is required`);
  return config as Input<'runs.start'>;
}

function formatRun(r: RunSummary): string[] {
  return [String(r.id), r.algo, r.status, `${r.step}/${r.totalSteps ?? '?'}`, r.config.data, r.config.init, r.outModel];
}

async function waitForRun(backend: Backend, json: boolean, start: () => Promise<{ runId: number; jobId: number }>): Promise<void> {
  let runId = 0;
  await runJob(backend, json, async () => {
    const started = await start();
    runId = started.runId;
    return started;
  }).catch((error: unknown) => {
    if (runId && error instanceof AppError && error.code !== 'cancelled') {
      throw new AppError(error.code, `run ${runId}: ${error.message} (alol run resume ${runId} continues from its last checkpoint)`, error.issues);
    }
    throw error;
  });
  const run = await call(backend, 'runs.get', { runId });
  print(json, run, () => `Run ${run.id} ${run.status}: ${run.algo} -> model "${run.outModel}"\n${JSON.stringify(run.summary, null, 2)}`);
}

const commands: Record<string, Command> = {
  ...ratingCommands,
  report: reportCommand,
  train: {
    options: Object.fromEntries(runFields.map((f) => [f.flag, { type: 'string' as const }])),
    help: () =>
      ['Usage: alol train [flags] [--json]', '', ...runFields.map((f) => `  --${f.flag.padEnd(16)} ${f.required ? '(required) ' : ''}${f.help}`)].join('\n'),
    async run(backend, values) {
      const config = runConfigFrom(values);
      await waitForRun(backend, values.json === true, () => call(backend, 'runs.start', config));
    },
  },
  runs: {
    options: {},
    async run(backend, values) {
      const list = await call(backend, 'runs.list', {});
      print(values.json === true, list, () =>
        list.length === 0 ? 'No runs yet: alol train --help' : formatTable(['id', 'algo', 'status', 'step', 'data', 'init', 'out'], list.map(formatRun)),
      );
    },
  },
  'run show': {
    options: {},
    async run(backend, values, positionals) {
      const runId = Number(positionals[0]);
      if (!Number.isInteger(runId) || runId < 1) throw new UsageError('run show: give a run ID');
      const run = await call(backend, 'runs.get', { runId });
      const metrics = await call(backend, 'runs.metrics', { runId });
      print(values.json === true, { ...run, metrics }, () =>
        [formatTable(['id', 'algo', 'status', 'step', 'data', 'init', 'out'], [formatRun(run)]), JSON.stringify(run.config, null, 2), run.summary ? JSON.stringify(run.summary, null, 2) : ''].join('\n'),
      );
    },
  },
  'run resume': {
    options: {},
    async run(backend, values, positionals) {
      const runId = Number(positionals[0]);
      if (!Number.isInteger(runId) || runId < 1) throw new UsageError('run resume: give a run ID');
      await waitForRun(backend, values.json === true, () => call(backend, 'runs.resume', { runId }));
    },
  },
  'run cancel': {
    options: {},
    async run(backend, values, positionals) {
      const runId = Number(positionals[0]);
      if (!Number.isInteger(runId) || runId < 1) throw new UsageError('run cancel: give a run ID');
      const out = await call(backend, 'runs.cancel', { runId });
      print(values.json === true, out, () => (out.cancelled ? `Run ${runId} cancelled` : `Run ${runId} was not running here`));
    },
  },
  import: {
    options: { name: { type: 'string' }, format: { type: 'string', default: 'auto' }, ...Object.fromEntries(fieldFlags.map((f) => [`${f}-field`, { type: 'string' }])) },
    async run(backend, values, positionals) {
      const file = positionals[0];
      if (!file || positionals.length > 1) throw new UsageError('import: give exactly one FILE');
      const fields = Object.fromEntries(fieldFlags.flatMap((f) => (text(values, `${f}-field`) ? [[f, text(values, `${f}-field`)]] : [])));
      const json = values.json === true;
      const result = await runJob(backend, json, () =>
        call(backend, 'imports.start', {
          source: { kind: 'path', path: resolve(file) },
          name: required(values, 'name', 'import'),
          format: text(values, 'format') as Input<'imports.start'>['format'],
          fields,
        }),
      );
      const summary = ImportSummary.parse(result);
      print(json, summary, () => formatImportSummary(summary));
    },
  },
  datasets: {
    options: {},
    async run(backend, values) {
      const list = await call(backend, 'datasets.list', {});
      print(values.json === true, list, () =>
        list.length === 0
          ? 'No datasets yet: alol import FILE --name NAME'
          : formatTable(
              ['name', 'version', 'examples', 'pairs', 'format', 'source'],
              list.map((d) => [d.name, String(d.version), String(d.examples), String(d.pairs), d.format, d.sourceFile]),
            ),
      );
    },
  },
  show: {
    options: { version: { type: 'string' }, limit: { type: 'string', default: '10' }, offset: { type: 'string', default: '0' } },
    async run(backend, values, positionals) {
      const dataset = positionals[0];
      if (!dataset) throw new UsageError('show: give a DATASET name');
      const version = integer(values, 'version');
      const which = { dataset, ...(version ? { version } : {}) };
      const page = { ...which, offset: integer(values, 'offset') ?? 0, limit: integer(values, 'limit') ?? 10 };
      const summary = await call(backend, 'datasets.get', which);
      const examples = await call(backend, 'datasets.examples', page);
      const pairs = await call(backend, 'datasets.pairs', page);
      print(values.json === true, { dataset: summary, examples: examples.rows, pairs: pairs.rows }, () =>
        [
          formatImportSummary(summary.summary),
          ...examples.rows.map((e) => `#${e.line} reward=${e.reward ?? '-'}\n  prompt:   ${truncate(e.prompt)}\n  response: ${truncate(e.response)}`),
          ...pairs.rows.map((p) => `#${p.line}\n  prompt:   ${truncate(p.prompt)}\n  chosen:   ${truncate(p.chosen)}\n  rejected: ${truncate(p.rejected)}`),
        ].join('\n'),
      );
    },
  },
  'demo data': {
    options: { name: { type: 'string' }, seed: { type: 'string' }, prompts: { type: 'string' } },
    async run(backend, values) {
      const input = { name: required(values, 'name', 'demo data'), ...defined({ seed: integer(values, 'seed'), trainPrompts: integer(values, 'prompts') }) };
      const dataset = await call(backend, 'datasets.demo', input);
      print(values.json === true, dataset, () => formatImportSummary(dataset.summary));
    },
  },
  models: {
    options: {},
    async run(backend, values) {
      const list = await call(backend, 'models.list', {});
      print(values.json === true, list, () =>
        list.length === 0
          ? 'No models yet: alol model new --name N --data DATASET, or alol model import DIR --name N'
          : formatTable(['name', 'origin', 'parameters', 'shape', 'tokenizer'], list.map(formatModel)),
      );
    },
  },
  'model new': {
    options: {
      name: { type: 'string' },
      data: { type: 'string' },
      version: { type: 'string' },
      layers: { type: 'string' },
      dim: { type: 'string' },
      heads: { type: 'string' },
      context: { type: 'string' },
      vocab: { type: 'string' },
      seed: { type: 'string' },
    },
    async run(backend, values) {
      const input = {
        name: required(values, 'name', 'model new'),
        dataset: required(values, 'data', 'model new'),
        ...defined({
          version: integer(values, 'version'),
          layers: integer(values, 'layers'),
          dim: integer(values, 'dim'),
          heads: integer(values, 'heads'),
          context: integer(values, 'context'),
          vocab: integer(values, 'vocab'),
          seed: integer(values, 'seed'),
        }),
      };
      const json = values.json === true;
      const model = ModelSummary.parse(await runJob(backend, json, () => call(backend, 'models.create', input)));
      print(json, model, () => `Created ${formatModel(model).join('  ')}`);
    },
  },
  'model import': {
    options: { name: { type: 'string' } },
    async run(backend, values, positionals) {
      const dir = positionals[0];
      if (!dir || positionals.length > 1) throw new UsageError('model import: give exactly one DIR');
      const json = values.json === true;
      const input = { path: resolve(dir), name: required(values, 'name', 'model import') };
      const model = ModelSummary.parse(await runJob(backend, json, () => call(backend, 'models.import', input)));
      print(json, model, () => `Imported ${formatModel(model).join('  ')}`);
    },
  },
  'model export': {
    options: {},
    async run(backend, values, positionals) {
      const [model, dir] = positionals;
      if (!model || !dir || positionals.length > 2) throw new UsageError('model export: give a model NAME and a DIR');
      const out = await call(backend, 'models.export', { model, path: resolve(dir) });
      print(values.json === true, out, () => `Wrote ${out.files.join(', ')} to ${out.folder}`);
    },
  },
  tokenize: {
    options: { model: { type: 'string' }, text: { type: 'string' } },
    async run(backend, values) {
      const out = await call(backend, 'models.tokenize', { model: required(values, 'model', 'tokenize'), text: required(values, 'text', 'tokenize') });
      print(values.json === true, out, () => out.ids.map((id, i) => `${id}\t${JSON.stringify(out.tokens[i])}`).join('\n'));
    },
  },
  logprobs: {
    options: { model: { type: 'string' }, text: { type: 'string' }, ids: { type: 'string' } },
    async run(backend, values) {
      const idsText = text(values, 'ids');
      const ids = idsText?.split(',').map((part) => {
        const n = Number(part.trim());
        if (!Number.isInteger(n) || n < 0) throw new UsageError(`--ids: expected whole numbers separated by commas, got "${part}"`);
        return n;
      });
      if ((ids === undefined) === (text(values, 'text') === undefined)) throw new UsageError('logprobs: give --text or --ids');
      const json = values.json === true;
      const input = { model: required(values, 'model', 'logprobs'), ...defined({ text: text(values, 'text'), ids }) };
      const result = await runJob(backend, json, () => call(backend, 'models.logprobs', input));
      const out = { ids: result.ids as number[], logprobs: result.logprobs as number[] };
      print(json, out, () => out.logprobs.map((lp, i) => `${out.ids[i + 1]}\t${lp.toFixed(4)}`).join('\n'));
    },
  },
  generate: {
    options: {
      model: { type: 'string' },
      prompt: { type: 'string', multiple: true },
      'max-new-tokens': { type: 'string' },
      greedy: { type: 'boolean' },
      temperature: { type: 'string' },
      'top-k': { type: 'string' },
      'top-p': { type: 'string' },
      'repetition-penalty': { type: 'string' },
      stop: { type: 'string', multiple: true },
      seed: { type: 'string' },
    },
    async run(backend, values) {
      const prompts = Array.isArray(values.prompt) ? values.prompt.map(String) : [];
      if (prompts.length === 0) throw new UsageError('generate: --prompt is required');
      const settings = decodingSettings(values);
      const json = values.json === true;
      const model = required(values, 'model', 'generate');
      const result = await runJob(backend, json, () => call(backend, 'models.generate', { model, prompts, settings }));
      const generations = Generation.array().parse(result.generations);
      const lines = generations.map((g) => ({ ...g, model, backend: result.backend }));
      print(json, lines.length === 1 ? lines[0] : lines, () => generations.map((g) => g.prompt + g.response).join('\n---\n'));
    },
  },
  sample: {
    options: {
      model: { type: 'string' },
      prompts: { type: 'string' },
      'prompts-file': { type: 'string' },
      n: { type: 'string' },
      greedy: { type: 'boolean' },
      temperature: { type: 'string' },
      'top-k': { type: 'string' },
      'top-p': { type: 'string' },
      'repetition-penalty': { type: 'string' },
      'max-new-tokens': { type: 'string' },
      seed: { type: 'string' },
      reward: { type: 'string' },
      out: { type: 'string' },
    },
    async run(backend, values) {
      const spec = text(values, 'prompts');
      const file = text(values, 'prompts-file');
      if ((spec === undefined) === (file === undefined)) throw new UsageError('sample: give --prompts DATASET[:split] or --prompts-file FILE.jsonl');
      let prompts: Input<'samples.create'>['prompts'];
      if (spec !== undefined) {
        const [dataset = '', split] = spec.split(':');
        prompts = { dataset, ...(split ? { split } : {}) };
      } else prompts = { texts: readJsonlField(file as string, 'prompt') };
      const json = values.json === true;
      const model = required(values, 'model', 'sample');
      const result = await runJob(backend, json, () =>
        call(backend, 'samples.create', {
          model,
          prompts,
          ...defined({ n: integer(values, 'n'), reward: text(values, 'reward') }),
          settings: decodingSettings(values),
        }),
      );
      const rows = (await call(backend, 'samples.list', { source: String(result.source), limit: 10_000 })).rows;
      const lines = rows.map((s) => JSON.stringify({ prompt: s.prompt, response: s.response, model: s.model, finishReason: s.finishReason, rewards: s.rewards, settings: s.settings }));
      const out = text(values, 'out');
      if (out) writeFileSync(resolve(out), lines.join('\n') + '\n');
      if (json) console.log(lines.join('\n'));
      else console.log(`${rows.length} responses from ${model} stored (${String(result.source)})${out ? `, written to ${out}` : ''}${result.meanReward !== undefined ? `; mean ${String(result.reward)} ${Number(result.meanReward).toFixed(4)}` : ''}`);
    },
  },
  score: {
    options: { dataset: { type: 'string' }, file: { type: 'string' }, reward: { type: 'string' } },
    async run(backend, values) {
      const dataset = text(values, 'dataset');
      const file = text(values, 'file');
      if ((dataset === undefined) === (file === undefined)) throw new UsageError('score: give --dataset DATASET or --file FILE.jsonl');
      const prompts = file ? readJsonlField(file, 'prompt') : [];
      const responses = file ? readJsonlField(file, 'response') : [];
      const out = await call(backend, 'rewards.score', {
        reward: required(values, 'reward', 'score'),
        ...(dataset ? { dataset } : { items: prompts.map((prompt, i) => ({ prompt, response: responses[i] ?? '' })) }),
      });
      print(values.json === true, out, () => `${out.count} responses scored by ${out.source}: mean ${out.mean?.toFixed(4) ?? '-'}`);
    },
  },
  doctor: {
    options: {},
    async run(backend, values) {
      const info = await call(backend, 'app.info', {}).catch((error: unknown) => error as Error);
      const electron = electronStatus();
      const report = {
        node: process.version,
        platform: `${process.platform} ${process.arch}`,
        projectDir: backend.paths.dir,
        schemaVersion: info instanceof Error ? null : info.schemaVersion,
        backend: info instanceof Error ? { error: info.message } : info.backend,
        gpu: info instanceof Error ? null : info.backend.chosen === 'tensorflow-gpu',
        electron,
      };
      print(values.json === true, report, () =>
        [
          `Node:            ${report.node} (${report.platform})`,
          `Project:         ${report.projectDir} (schema version ${report.schemaVersion ?? '?'})`,
          info instanceof Error
            ? `Tensor backend:  none: ${info.message}`
            : [
                `Tensor backend:  ${info.backend.chosen} (${info.backend.reason})`,
                ...info.backend.candidates.map((c) => `  ${c.available ? 'ok  ' : 'no  '} ${c.name}: ${c.detail}`),
              ].join('\n'),
          `GPU in use:      ${report.gpu ? 'yes' : 'no'}`,
          `Electron:        ${electron.usable ? 'usable' : 'not usable'}: ${electron.reason}`,
        ].join('\n'),
      );
    },
  },
};

async function main(argv: string[]): Promise<void> {
  const [first, second, ...rest] = argv;
  // Resolves only once the server has shut down (SIGINT/SIGTERM), so the exit below ends a finished server.
  if (first === 'studio' || first === 'serve') return serveFromArgs(argv.slice(1));
  if (first === undefined || ['help', '--help', '-h'].includes(first)) {
    console.log(USAGE);
    return;
  }
  // Two-word commands ("model new") first, then one-word ones.
  const twoWords = `${first} ${second ?? ''}`;
  const [name, args] = twoWords in commands ? [twoWords, rest] : [first, argv.slice(1)];
  const command = commands[name];
  if (!command) throw new UsageError(`unknown command "${first === 'model' ? twoWords.trim() : first}"; see alol --help`);
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...common, ...command.options } });
  if (values.help) {
    console.log(command.help?.() ?? USAGE);
    return;
  }
  const backend = createBackend({
    projectDir: resolveProjectDir(text(values, 'project')),
    shell: 'cli',
    forcedBackend: requestedBackend(text(values, 'backend'), process.env),
  });
  try {
    await command.run(backend, values, positionals);
  } finally {
    backend.close();
  }
}

function reportError(error: unknown, json: boolean): number {
  if (error instanceof UsageError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) {
    console.error(`alol: ${error.message}`);
    return 2;
  }
  const shape: AppErrorShape =
    error instanceof AppError ? error.toShape() : { code: 'internal', message: error instanceof Error ? error.message : String(error) };
  if (json) console.log(JSON.stringify({ error: shape }, null, 2));
  else {
    console.error(`alol: ${shape.message}`);
    for (const issue of shape.issues ?? []) {
      console.error(`  ${issue.file}:${issue.line}${issue.field ? ` field "${issue.field}"` : ''}: ${issue.message}`);
    }
  }
  return 1;
}

const argv = process.argv.slice(2);
main(argv).then(
  () => process.exit(0),
  (error: unknown) => process.exit(reportError(error, argv.includes('--json'))),
);
