/**
 * `alol`: the studio from a terminal. Each command is a call through the same contract and
 * services the UI uses (a third adapter beside IPC and HTTP); human output by default, --json for
 * scripts, exit code 1 on failure and 2 on a usage error.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { createBackend, type Backend } from './api/backend';
import { initBackend, requestedBackend } from './lm/backend';
import { resolveProjectDir } from './project';
import { electronStatus } from './electronBinary';
import { serveFromArgs, SERVE_USAGE } from './http/serveFromArgs';
import {
  AppError,
  ImportSummary,
  importFormats,
  type AppErrorShape,
  type Input,
  type Job,
  type MethodName,
  type Output,
} from '../shared/contract';
import { formatImportSummary, formatTable, ProgressBar, truncate } from './cliFormat';

const USAGE = `A-LoL Studio command line

Usage: alol <command> [options]

Commands:
  import FILE --name NAME [--format F]   import (prompt, response, reward) rows or preference pairs
         formats: ${importFormats.join(', ')}; .gz accepted
         field mapping: --prompt-field --response-field --reward-field --chosen-field
                        --rejected-field --completion-field --label-field
  datasets                               list datasets (latest version of each)
  show DATASET [--version V] [--limit N] [--offset N]
                                         show a dataset's summary, examples and pairs
  doctor                                 Node, tensor backend and why, GPU, Electron, project
  studio ${SERVE_USAGE}
                                         serve the studio UI on http://127.0.0.1

Options for every command:
  --project DIR    the studio project folder (default: ALOL_PROJECT, else the XDG data folder)
  --backend NAME   tensor backend: tensorflow-gpu, tensorflow, wasm, cpu (default: ALOL_BACKEND, else best available)
  --json           machine-readable output on stdout
  -h, --help       this help
`;

class UsageError extends Error {}

const fieldFlags = ['prompt', 'response', 'reward', 'chosen', 'rejected', 'completion', 'label'] as const;

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      project: { type: 'string' },
      backend: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      name: { type: 'string' },
      format: { type: 'string', default: 'auto' },
      version: { type: 'string' },
      limit: { type: 'string', default: '10' },
      offset: { type: 'string', default: '0' },
      'prompt-field': { type: 'string' },
      'response-field': { type: 'string' },
      'reward-field': { type: 'string' },
      'chosen-field': { type: 'string' },
      'rejected-field': { type: 'string' },
      'completion-field': { type: 'string' },
      'label-field': { type: 'string' },
    },
  });
}

function integer(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new UsageError(`--${flag}: expected a whole number, got "${text}"`);
  return value;
}

async function call<M extends MethodName>(backend: Backend, method: M, input: Input<M>): Promise<Output<M>> {
  const result = await backend.dispatch(method, input);
  if (!result.ok) throw AppError.from(result.error);
  return result.value as Output<M>;
}

function print(json: boolean, value: unknown, human: () => string): void {
  console.log(json ? JSON.stringify(value, null, 2) : human());
}

async function importCommand(backend: Backend, values: ReturnType<typeof parse>['values'], file: string): Promise<void> {
  if (!values.name) throw new UsageError('import: --name NAME is required');
  const fields = Object.fromEntries(
    fieldFlags.flatMap((f) => {
      const column = values[`${f}-field`];
      return typeof column === 'string' ? [[f, column]] : [];
    }),
  );
  const bar = values.json ? null : new ProgressBar(process.stderr);
  const finished = new Promise<Job>((done) => {
    backend.bus.subscribe((event) => {
      if (event.name === 'jobs.progress') bar?.update(event.payload);
      if (event.name === 'jobs.finished') done(event.payload);
    });
  });
  const { jobId } = await call(backend, 'imports.start', {
    source: { kind: 'path', path: resolve(file) },
    name: values.name,
    format: values.format as Input<'imports.start'>['format'],
    fields,
  });
  const job = await finished;
  bar?.end();
  if (job.id !== jobId || job.status !== 'succeeded') throw AppError.from(job.error ?? { code: job.status, message: `import ${job.status}` });
  const summary = ImportSummary.parse(job.result);
  print(values.json, summary, () => formatImportSummary(summary));
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === 'studio') return serveFromArgs(rest);
  const { values, positionals } = parse(rest);
  if (command === undefined || ['help', '--help', '-h'].includes(command) || values.help) {
    console.log(USAGE);
    return;
  }
  const forced = requestedBackend(values.backend, process.env);
  const backend = createBackend({
    projectDir: resolveProjectDir(values.project),
    shell: 'cli',
    backend: () => initBackend(forced),
  });
  try {
    switch (command) {
      case 'import': {
        const file = positionals[0];
        if (!file || positionals.length > 1) throw new UsageError('import: give exactly one FILE');
        return await importCommand(backend, values, file);
      }
      case 'datasets': {
        const list = await call(backend, 'datasets.list', {});
        return print(values.json, list, () =>
          list.length === 0
            ? 'No datasets yet: alol import FILE --name NAME'
            : formatTable(
                ['name', 'version', 'examples', 'pairs', 'format', 'source'],
                list.map((d) => [d.name, String(d.version), String(d.examples), String(d.pairs), d.format, d.sourceFile]),
              ),
        );
      }
      case 'show': {
        const dataset = positionals[0];
        if (!dataset) throw new UsageError('show: give a DATASET name');
        const version = integer('version', values.version);
        const which = { dataset, ...(version ? { version } : {}) };
        const page = { ...which, offset: integer('offset', values.offset) ?? 0, limit: integer('limit', values.limit) ?? 10 };
        const summary = await call(backend, 'datasets.get', which);
        const examples = await call(backend, 'datasets.examples', page);
        const pairs = await call(backend, 'datasets.pairs', page);
        return print(values.json, { dataset: summary, examples: examples.rows, pairs: pairs.rows }, () =>
          [
            formatImportSummary(summary.summary),
            ...examples.rows.map((e) => `#${e.line} reward=${e.reward ?? '-'}\n  prompt:   ${truncate(e.prompt)}\n  response: ${truncate(e.response)}`),
            ...pairs.rows.map((p) => `#${p.line}\n  prompt:   ${truncate(p.prompt)}\n  chosen:   ${truncate(p.chosen)}\n  rejected: ${truncate(p.rejected)}`),
          ].join('\n'),
        );
      }
      case 'doctor': {
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
        return print(values.json, report, () =>
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
      }
      default:
        throw new UsageError(`unknown command "${command}"; see alol --help`);
    }
  } finally {
    backend.close();
  }
}

function reportError(error: unknown, json: boolean): number {
  if (error instanceof UsageError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) {
    console.error(`alol: ${error.message}`);
    return 2;
  }
  const shape: AppErrorShape = error instanceof AppError ? error.toShape() : { code: 'internal', message: error instanceof Error ? error.message : String(error) };
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
