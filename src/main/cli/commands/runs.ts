/** `alol train`, `alol runs` and `alol run ...`: start, follow, resume and cancel training runs. */
import { type Backend } from '../../app/backend';
import { z } from 'zod';
import {
  AppError,
  loraTargets,
  resumableErrorCodes,
  RunConfig,
  type RunSummary,
  type Input,
} from '../../../shared/contract';
import {
  algorithmsUsing,
  formatRange,
  hyperparameterNames,
  hyperparameters,
  unusedHyperparameterMessage,
  unusedHyperparameters,
  type AlgorithmName,
  type HyperparameterName,
} from '../../../shared/algorithms';
import { defaultLoraTargets } from '../../../shared/lora';
import { formatTable } from '../format';
import { formatLine } from '../promptFormat';
import { call, decimal, followJob, print, text, UsageError, type Command, type Values } from '../kit';

/**
 * The flags of `alol train`, one per RunConfig field, with the contract's help and default. eps,
 * beta and klBeta say which algorithms use them, with the range and default of the algorithm
 * table; given to another algorithm they are refused (here with the flag's name, and by the
 * contract for every other caller).
 */
const runFields = (() => {
  const schema = z.toJSONSchema(RunConfig, { io: 'input' }) as {
    properties: Record<string, { type?: string; description?: string; default?: unknown; enum?: string[] }>;
    required?: string[];
  };
  // lora is an object: its own flags below (loraFlags).
  return Object.entries(schema.properties)
    .filter(([key]) => key !== 'lora')
    .map(([key, field]) => ({
      key,
      flag: key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`),
      numeric: field.type === 'number' || field.type === 'integer',
      help: isHyperparameter(key)
        ? `${hyperparameters[key].description}; used by ${algorithmsUsing(key).join(', ')} only; ${formatRange(key)} (default ${hyperparameters[key].default})`
        : `${field.description ?? ''}${field.default !== undefined ? ` (default ${JSON.stringify(field.default)})` : ''}`,
      required: schema.required?.includes(key) ?? false,
    }));
})();

/**
 * LoRA's flags: --lora-r turns adapters on; the others need it. Defaults as PEFT's LoraConfig (alpha
 * 8, dropout 0, and its targets for the init model's family: q,v, or GPT-2's c_attn, i.e. q,k,v).
 */
const loraFlags = [
  [
    'lora-r',
    'LoRA: train rank-r adapters on the frozen init model (GPT-2 or Llama family), which is also the reference',
  ],
  ['lora-alpha', 'LoRA alpha: the update is alpha/r B A (default 8)'],
  ['lora-dropout', "LoRA dropout on the adapters' input while training (default 0)"],
  [
    'lora-targets',
    `LoRA targets, comma-separated from ${loraTargets.join(',')} (default q,v; GPT-2: q,k,v, its one fused c_attn, given together; no gate)`,
  ],
] as const;

function loraFrom(values: Values): Input<'runs.start'>['lora'] {
  const given = loraFlags.filter(([flag]) => text(values, flag) !== undefined).map(([flag]) => flag);
  if (given.length === 0) return undefined;
  if (text(values, 'lora-r') === undefined) throw new UsageError(`train: --${given[0]} needs --lora-r`);
  const targets = (text(values, 'lora-targets') ?? 'q,v').split(',').map((t) => t.trim());
  const unknown = targets.filter((t) => !(loraTargets as readonly string[]).includes(t));
  if (unknown.length > 0)
    throw new UsageError(`train: --lora-targets: unknown ${unknown.join(', ')}; choose from ${loraTargets.join(',')}`);
  return {
    r: decimal(values, 'lora-r')!,
    alpha: text(values, 'lora-alpha') === undefined ? 8 : decimal(values, 'lora-alpha')!,
    dropout: text(values, 'lora-dropout') === undefined ? 0 : decimal(values, 'lora-dropout')!,
    targets: targets as (typeof loraTargets)[number][],
  };
}

function isHyperparameter(key: string): key is HyperparameterName {
  return (hyperparameterNames as readonly string[]).includes(key);
}

function runConfigFrom(values: Values): Input<'runs.start'> {
  const config: Record<string, unknown> = {};
  for (const field of runFields) {
    const value = text(values, field.flag);
    if (value === undefined) continue;
    config[field.key] = field.numeric ? decimal(values, field.flag) : value;
  }
  for (const field of runFields)
    if (field.required && config[field.key] === undefined) throw new UsageError(`train: --${field.flag} is required`);
  const lora = loraFrom(values);
  if (lora) config.lora = lora;
  const [unused] = unusedHyperparameters(config as { algo: unknown });
  if (unused !== undefined) {
    const flag = runFields.find((f) => f.key === unused)?.flag ?? unused;
    throw new UsageError(`train: ${unusedHyperparameterMessage(config.algo as AlgorithmName, unused, `--${flag}`)}`);
  }
  return config as Input<'runs.start'>;
}

const RUN_COLUMNS = ['id', 'algo', 'status', 'step', 'data', 'init', 'out', 'backend'];

function formatRun(r: RunSummary): string[] {
  const backends = r.tensorBackends.map((b) => b.backend).join(' then ') || '-';
  return [
    String(r.id),
    r.algo,
    r.status,
    `${r.step}/${r.totalSteps ?? '?'}`,
    r.config.data,
    r.config.init,
    r.outModel,
    backends,
  ];
}

/** run show's lines on where it computed, its last checkpoint and how it stopped. */
function runDetail(r: RunSummary): string[] {
  const lines = r.tensorBackends.map(
    (b, i) =>
      `${i === 0 ? 'backend' : 'then'}: ${b.backend}${b.adapter ? ` on ${b.adapter}` : ''}${i > 0 ? ` (resumed from step ${b.fromStep})` : ''}`,
  );
  if (r.lastCheckpoint !== undefined)
    lines.push(`last checkpoint: ${r.lastCheckpoint === null ? 'none' : `step ${r.lastCheckpoint}`}`);
  if (r.error && r.status !== 'succeeded') lines.push(`${r.status}: ${r.error.message} (${r.error.code})`);
  return lines;
}

async function waitForRun(
  backend: Backend,
  json: boolean,
  start: () => Promise<{ runId: number; jobId: number }>,
): Promise<void> {
  let runId = 0;
  await followJob(backend, json, 'train', async () => {
    const started = await start();
    runId = started.runId;
    return started;
  }).catch((error: unknown) => {
    // Only where resuming can help (a crash, a lost device): an out-of-memory would recur.
    if (
      runId &&
      error instanceof AppError &&
      resumableErrorCodes.includes(error.code) &&
      !/run resume/.test(error.message)
    ) {
      throw new AppError(
        error.code,
        `run ${runId}: ${error.message} (alol run resume ${runId} continues from its last checkpoint)`,
        error.issues,
      );
    }
    throw error;
  });
  const run = await call(backend, 'runs.get', { runId });
  // Runs stored before formats existed trained on the raw text.
  const format = json ? '' : await formatLine(backend, run.config.init, run.config.format ?? 'raw');
  print(
    json,
    run,
    () =>
      `Run ${run.id} ${run.status}: ${run.algo} -> model "${run.outModel}"; ${format}\n${JSON.stringify(run.summary, null, 2)}`,
  );
}

export const runsCommands: Record<string, Command> = {
  train: {
    options: Object.fromEntries(
      [...runFields.map((f) => f.flag), ...loraFlags.map(([flag]) => flag)].map((flag) => [
        flag,
        { type: 'string' as const },
      ]),
    ),
    help: () =>
      [
        'Usage: alol train [flags] [--json]',
        '',
        ...runFields.map((f) => `  --${f.flag.padEnd(16)} ${f.required ? '(required) ' : ''}${f.help}`),
        ...loraFlags.map(([flag, help]) => `  --${flag.padEnd(16)} ${help}`),
      ].join('\n'),
    async run(backend, values) {
      const config = runConfigFrom(values);
      if (config.lora && text(values, 'lora-targets') === undefined) {
        const { family } = (await call(backend, 'models.get', { model: config.init })).shape;
        config.lora.targets = defaultLoraTargets[family];
      }
      await waitForRun(backend, values.json === true, () => call(backend, 'runs.start', config));
    },
  },
  runs: {
    options: {},
    async run(backend, values) {
      const list = await call(backend, 'runs.list', {});
      print(values.json === true, list, () =>
        list.length === 0 ? 'No runs yet: alol train --help' : formatTable(RUN_COLUMNS, list.map(formatRun)),
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
        [
          formatTable(RUN_COLUMNS, [formatRun(run)]),
          ...runDetail(run),
          JSON.stringify(run.config, null, 2),
          run.summary ? JSON.stringify(run.summary, null, 2) : '',
        ].join('\n'),
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
      print(values.json === true, out, () =>
        out.cancelled ? `Run ${runId} cancelled` : `Run ${runId} was not running here`,
      );
    },
  },
};
