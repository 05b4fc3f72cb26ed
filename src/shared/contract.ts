/**
 * The one API contract between the UI and the backend. Every adapter (Electron IPC through the
 * preload, HTTP for the browser UI and annotators, the backend child process) is a loop over
 * `methods` and `events`; types come from the schemas, and the same schemas validate every input
 * at run time. Imports nothing but zod, so it runs in main, preload, renderer and tests alike.
 */
import { z } from 'zod';
import {
  AgreementSummary,
  CampaignItem,
  CampaignOptions,
  CampaignSummary,
  DatasetAgreement,
  RewardRule,
  ratingMethods,
} from './rating';
import { PromptFormat } from './promptFormat';
export { PromptFormat, promptFormats } from './promptFormat';
import { Results, ResultsRequest } from './results';
import { BrowsePage, BrowseRequest } from './itemBrowser';
import { RetrainPlan } from './retrainPlan';
import {
  algorithm,
  algorithmNames,
  describeAlgorithms,
  hyperparameterDefaults,
  hyperparameterNames,
  hyperparameterSchema,
  unusedHyperparameterMessage,
  unusedHyperparameters,
  usesHyperparameter,
} from './algorithms';

const id = z.number().int().positive();
const name = z
  .string()
  .trim()
  .min(1, { message: 'must not be empty', abort: true })
  .max(100, 'must be at most 100 characters')
  .regex(
    /^[\p{L}\p{N}][\p{L}\p{N} ._-]*$/u,
    'letters, digits, space, dot, dash and underscore only, starting with a letter or digit',
  );

export const datasetName = name;

/** A file or folder on the backend's machine, named in full: a relative one would depend on the backend's working folder. */
export const absolutePath = z
  .string()
  .min(1)
  .refine((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\'), {
    // The path itself is named: a relative one would depend on the backend's working folder.
    error: (issue) =>
      `must be an absolute path (on the machine running the studio), not ${JSON.stringify(issue.input)}`,
  });

export const importFormats = [
  'auto',
  'jsonl',
  'csv',
  'hh-rlhf',
  'trl-preference',
  'trl-unpaired',
  'prompt-completion',
] as const;
export const ImportFormat = z.enum(importFormats);
export type ImportFormat = z.infer<typeof ImportFormat>;
export type ConcreteFormat = Exclude<ImportFormat, 'auto'>;

/** Column names to read instead of the defaults, for files whose fields are named otherwise. */
export const FieldMapping = z
  .object({
    prompt: z.string().min(1),
    response: z.string().min(1),
    reward: z.string().min(1),
    chosen: z.string().min(1),
    rejected: z.string().min(1),
    completion: z.string().min(1),
    label: z.string().min(1),
  })
  .partial()
  .strict();
export type FieldMapping = z.infer<typeof FieldMapping>;

/** One problem in an input file: where it is, down to the field, and what is wrong. */
export const ImportIssue = z.object({
  file: z.string(),
  line: z.number().int().nonnegative(),
  field: z.string().optional(),
  message: z.string(),
});
export type ImportIssue = z.infer<typeof ImportIssue>;

export const ImportSummary = z.object({
  dataset: z.string(),
  version: z.number().int().positive(),
  format: ImportFormat.exclude(['auto']),
  rows: z.number().int().nonnegative(),
  examples: z.number().int().nonnegative(),
  pairs: z.number().int().nonnegative(),
  rewardMin: z.number().nullable(),
  rewardMax: z.number().nullable(),
  rewardMean: z.number().nullable(),
  duplicates: z.number().int().nonnegative(),
  emptyResponses: z.number().int().nonnegative(),
});
export type ImportSummary = z.infer<typeof ImportSummary>;

export const DatasetSummary = z.object({
  /** The id of this version of the dataset: pages and jobs always address one version. */
  id,
  name: z.string(),
  version: z.number().int().positive(),
  versions: z.number().int().positive(),
  examples: z.number().int().nonnegative(),
  pairs: z.number().int().nonnegative(),
  format: z.string(),
  sourceFile: z.string(),
  createdAt: z.string(),
  summary: ImportSummary,
});
export type DatasetSummary = z.infer<typeof DatasetSummary>;

export const Example = z.object({
  id,
  line: z.number().int().nonnegative(),
  prompt: z.string(),
  response: z.string(),
  reward: z.number().nullable(),
  rewardSource: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()).nullable(),
});
export type Example = z.infer<typeof Example>;

export const Pair = z.object({
  id,
  line: z.number().int().nonnegative(),
  prompt: z.string(),
  chosen: z.string(),
  rejected: z.string(),
  metadata: z.record(z.string(), z.unknown()).nullable(),
});
export type Pair = z.infer<typeof Pair>;

const page = <T extends z.ZodType>(row: T) =>
  z.object({ total: z.number().int().nonnegative(), offset: z.number().int().nonnegative(), rows: z.array(row) });

const pageRequest = z
  .object({
    dataset: datasetName,
    version: z.number().int().positive().optional(),
    offset: z.number().int().nonnegative().default(0),
    limit: z.number().int().min(1).max(500).default(50),
  })
  .strict();

export const tensorBackendNames = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'] as const;
export const TensorBackendName = z.enum(tensorBackendNames);
export type TensorBackendName = z.infer<typeof TensorBackendName>;

/** A WebGPU adapter as Dawn reports it: a fallback adapter emulates a GPU on the CPU (SwiftShader). */
export const WebgpuAdapterReport = z.object({
  vendor: z.string(),
  architecture: z.string(),
  device: z.string(),
  description: z.string(),
  fallback: z.boolean(),
  /** The request that found it: 'high-performance', 'low-power' or 'fallback'. */
  requestedAs: z.string(),
  /** maxBufferSize, maxStorageBufferBindingSize and the compute limits, as the adapter reports them. */
  limits: z.record(z.string(), z.number()),
});
export type WebgpuAdapterReport = z.infer<typeof WebgpuAdapterReport>;

/** Which tensor backend runs, and why: every candidate tried, best first, with its outcome. */
export const TensorBackendReport = z.object({
  chosen: TensorBackendName,
  tfBackend: z.string(),
  reason: z.string(),
  forcedBy: z.string().nullable(),
  candidates: z.array(z.object({ name: TensorBackendName, available: z.boolean(), detail: z.string() })),
  /** Every WebGPU adapter this process was offered (when the webgpu candidate was tried), and the one in use. */
  adapters: z.array(WebgpuAdapterReport).optional(),
  adapter: WebgpuAdapterReport.nullable().optional(),
});
export type TensorBackendReport = z.infer<typeof TensorBackendReport>;

export const AppInfo = z.object({
  version: z.string(),
  projectDir: z.string(),
  schemaVersion: z.number().int(),
  /** What is showing the studio: the Electron window, a browser, or the alol command. */
  shell: z.enum(['electron', 'browser', 'cli']),
  tensorBackend: TensorBackendReport,
  /**
   * How the HTTP server is bound, when the studio is served over HTTP (null in the Electron window
   * and the CLI): `urls` are the addresses others on the network open (empty on loopback).
   */
  server: z
    .object({ host: z.string(), port: z.number().int(), network: z.boolean(), urls: z.array(z.string()) })
    .nullable(),
});
export type AppInfo = z.infer<typeof AppInfo>;

export const AppErrorShape = z.object({
  code: z.string(),
  message: z.string(),
  issues: z.array(ImportIssue).optional(),
});
export type AppErrorShape = z.infer<typeof AppErrorShape>;

/**
 * Codes of a run's errors after which resuming can help: it stopped by accident (a crash, a lost
 * GPU device), not because of its settings (out_of_memory would recur).
 */
export const resumableErrorCodes: readonly string[] = ['crashed', 'interrupted', 'device_lost'];

export const modelFamilies = ['gpt2', 'llama'] as const;

/**
 * A model's shape in the one vocabulary of the UI and the CLI (alol model new --arch --layers --dim
 * --heads --kv-heads --ffn --context --vocab); the engine maps it to Hugging Face's names once
 * (models/modelFamily.ts: lm/hfConfig.ts for GPT-2, lm/llamaConfig.ts for the Llama family).
 * family: gpt2 (GPT2LMHeadModel) or llama (Llama, Qwen2, Mistral); kvHeads: key/value heads
 * (= heads but under grouped-query attention); ffn: the MLP's inner width (GPT-2: 4 dim).
 */
export const ModelShape = z.object({
  family: z.enum(modelFamilies),
  layers: z.number().int().positive(),
  dim: z.number().int().positive(),
  heads: z.number().int().positive(),
  kvHeads: z.number().int().positive(),
  ffn: z.number().int().positive(),
  context: z.number().int().positive(),
  vocab: z.number().int().positive(),
});
export type ModelShape = z.infer<typeof ModelShape>;

/**
 * The projections LoRA adapters can target: Llama's q/k/v/o_proj and the MLP's gate/up/down_proj;
 * on GPT-2 q, k, v are its one fused c_attn (given together), o attn.c_proj, up c_fc, down mlp.c_proj (shared/lora.ts).
 */
export const loraTargets = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const;

/** LoRA adapters on a frozen base (RunConfig.lora): rank, alpha (the update is alpha/r B A), dropout, targets. */
export const LoraSettings = z
  .object({
    r: z.number().int().min(1).max(1024),
    alpha: z.number().positive().max(1e6),
    dropout: z.number().min(0).lt(1),
    targets: z.array(z.enum(loraTargets)).min(1),
  })
  .strict();
export type LoraSettings = z.infer<typeof LoraSettings>;

/**
 * A model stored as a base with a LoRA adapter merged in (a LoRA run's model, or alol model merge):
 * the adapter's settings, its base (the model's parent; null once that model is gone) and the PEFT
 * folder kept beside the weights, relative to the project folder.
 */
export const ModelAdapter = LoraSettings.extend({ base: z.string().nullable(), folder: z.string() });
export type ModelAdapter = z.infer<typeof ModelAdapter>;

export const ModelSummary = z.object({
  id,
  name: z.string(),
  origin: z.enum(['imported', 'created', 'trained']),
  /** Where it came from: the imported folder, or the dataset a tokenizer was trained on. */
  source: z.string(),
  parent: z.string().nullable(),
  shape: ModelShape,
  parameters: z.number().int().nonnegative(),
  /** The weights' dtype as imported (F32, BF16, F16, or several joined by +); the studio computes in float32. */
  dtype: z.string(),
  /** Whether its tokenizer_config.json has a chat_template. */
  chatTemplate: z.boolean(),
  /** Base + adapter: set where the model is a base with a LoRA adapter merged in. */
  adapter: ModelAdapter.nullable(),
  tokenizer: z.string(),
  folder: z.string(),
  createdAt: z.string(),
});
export type ModelSummary = z.infer<typeof ModelSummary>;

export const modelName = name;

/** Decoding settings, Hugging Face names and semantics; greedy unless sampling is asked for. */
export const GenerateSettings = z
  .object({
    maxNewTokens: z.number().int().min(1).max(4096).default(64),
    greedy: z.boolean().default(true),
    temperature: z.number().positive().max(100).default(1),
    topK: z.number().int().nonnegative().default(0),
    topP: z.number().gt(0).max(1).default(1),
    repetitionPenalty: z.number().positive().max(100).default(1),
    stop: z.array(z.string().min(1)).max(16).default([]),
    seed: z.number().int().nonnegative().default(0),
  })
  .strict();
export type GenerateSettings = z.infer<typeof GenerateSettings>;

export const Generation = z.object({
  prompt: z.string(),
  response: z.string(),
  ids: z.array(z.number().int()),
  finishReason: z.enum(['eos', 'stop', 'length']),
});

/** The algorithms of ../shared/docs/ALOL.md, named as there: the names of algorithms.ts's table. */
export const algos = algorithmNames;
export const Algo = z.enum(algos);
export type Algo = z.infer<typeof Algo>;

/** Which responses of a pairs dataset a single-response run trains on (RunConfig.pairs). */
export const pairsModes = ['both', 'chosen', 'rejected'] as const;
export type PairsMode = (typeof pairsModes)[number];

/**
 * One training run's settings, with the reference code's defaults and a line of help each: the
 * same schema makes the CLI flags (alol train) and the run form.
 */
export const RunConfig = z
  .object({
    algo: Algo.describe(describeAlgorithms()),
    data: datasetName.describe('the dataset to train on (its latest version unless dataVersion is given)'),
    dataVersion: z.number().int().positive().optional().describe('a version of the dataset'),
    pairs: z
      .enum(pairsModes)
      .optional()
      .describe(
        "train on a pairs dataset's responses as single responses: both (prompt+chosen and prompt+rejected, each with its own reward), chosen or rejected; not for dpo, which takes the pairs themselves",
      ),
    init: modelName.describe('the model the policy starts from'),
    ref: modelName.optional().describe('the frozen reference policy (default: the init model)'),
    out: modelName.describe('the name of the trained model'),
    steps: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(200)
      .describe('update budget in optimizer steps; A-LoL variants take budget x positive fraction'),
    batch: z.number().int().min(1).max(1024).default(16).describe('sequences per optimizer step'),
    gradAccum: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(1)
      .describe('micro-batches the batch is split into (same update, less memory)'),
    lr: z.number().positive().max(1).default(1e-4).describe('AdamW learning rate, constant unless schedule is cosine'),
    schedule: z
      .enum(['constant', 'cosine'])
      .default('constant')
      .describe('learning-rate schedule (cosine: linear warmup, then cosine decay)'),
    warmup: z.number().int().nonnegative().default(0).describe('warmup steps for the cosine schedule'),
    weightDecay: z.number().nonnegative().max(1).default(0).describe('AdamW decoupled weight decay'),
    maxGradNorm: z
      .number()
      .positive()
      .default(1)
      .describe('global gradient-norm clip (1.0 for small models, 0.3 for large)'),
    // The hyperparameters only some algorithms use (algorithms.ts): given to another, refused below.
    eps: hyperparameterSchema('eps'),
    beta: hyperparameterSchema('beta'),
    klBeta: hyperparameterSchema('klBeta'),
    seed: z.number().int().nonnegative().default(0).describe('seed of sampling, dropout and initialisation'),
    checkpointEvery: z
      .number()
      .int()
      .min(1)
      .default(50)
      .describe('steps between checkpoints (resume starts from the last)'),
    reward: z
      .string()
      .min(1)
      .default('column')
      .describe(
        "column (the data's reward column; human ratings: the dataset alol rewards from-ratings makes), label (with pairs: chosen 1, rejected 0), rm:NAME (a reward model), demo, a scoring module FILE.mjs in the project folder, or a weighted sum such as demo*0.5+rm:NAME*0.5",
      ),
    valueDecodes: z
      .number()
      .int()
      .min(1)
      .max(16)
      .default(1)
      .describe('decodes of the reference per held-out prompt for value targets (1 = greedy)'),
    valueEpochs: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(10)
      .describe('epochs of value-head fitting (the best epoch is kept)'),
    maxNewTokens: z.number().int().min(1).max(1024).default(64).describe('longest reference decode for value targets'),
    format: PromptFormat.optional().describe(
      "prompt format: chat (the init model's chat template renders the prompt; only the response and its end-of-turn token train) or raw (the HH text as it is); default chat where the init model has a chat template, else raw",
    ),
    lora: LoraSettings.nullable()
      .default(null)
      .describe(
        'train LoRA adapters on the frozen init model (GPT-2 or Llama family), which is also the reference; null: full fine-tuning',
      ),
  })
  .strict()
  // Under LoRA the frozen base is pi_ref: another reference model would need a second copy.
  .refine((c) => c.lora === null || c.ref === undefined || c.ref === c.init, {
    message: 'with LoRA the reference is the frozen init model: leave ref out',
    path: ['ref'],
  })
  // Equal micro-batches: then averaging their mean losses equals the whole batch's mean.
  .refine((c) => c.batch % c.gradAccum === 0, { message: 'batch must be a multiple of gradAccum', path: ['gradAccum'] })
  // A hyperparameter the algorithm does not use would be ignored: refused instead. The three have
  // no zod default, so what is checked here is what the caller gave, never a filled-in default.
  .superRefine((c, ctx) => {
    for (const key of unusedHyperparameters(c))
      ctx.addIssue({ code: 'custom', path: [key], message: unusedHyperparameterMessage(c.algo, key) });
  })
  // Then the defaults of the ones it uses: a run records every setting its loss read.
  .overwrite((c) => {
    const filled = { ...c };
    for (const key of hyperparameterNames)
      if (filled[key] === undefined && usesHyperparameter(c.algo, key)) filled[key] = hyperparameterDefaults[key];
    return filled;
  });
export type RunConfig = z.infer<typeof RunConfig>;

export const RunStatus = z.enum(['running', 'succeeded', 'failed', 'cancelled', 'interrupted']);

/** A tensor backend a run computed on, from the step its job started at (a resume may change it). */
export const RunBackend = z.object({
  backend: TensorBackendName,
  /** The WebGPU adapter, in one line (vendor, architecture, fallback or not, limits); null off webgpu. */
  adapter: z.string().nullable(),
  fromStep: z.number().int().nonnegative(),
  at: z.string(),
});
export type RunBackend = z.infer<typeof RunBackend>;

export const RunSummary = z.object({
  id,
  algo: Algo,
  status: RunStatus,
  config: RunConfig,
  outModel: z.string(),
  step: z.number().int().nonnegative(),
  totalSteps: z.number().int().nonnegative().nullable(),
  jobId: id.nullable(),
  summary: z.record(z.string(), z.unknown()).nullable(),
  error: AppErrorShape.nullable(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
  /** The backends it computed on, in order (one per job; empty for runs from before they were kept). */
  tensorBackends: z.array(RunBackend),
  /** The step of its newest whole checkpoint, null when none (runs.get only). */
  lastCheckpoint: z.number().int().nonnegative().nullable().optional(),
});
export type RunSummary = z.infer<typeof RunSummary>;

export const RunStep = z.object({
  runId: id,
  step: z.number().int().nonnegative(),
  totalSteps: z.number().int().nonnegative(),
  metrics: z.record(z.string(), z.number()),
});
export type RunStep = z.infer<typeof RunStep>;

export const Sample = z.object({
  id,
  model: z.string(),
  prompt: z.string(),
  response: z.string(),
  finishReason: z.enum(['eos', 'stop', 'length']),
  settings: GenerateSettings,
  /** The prompt format it was sampled with (samples stored before formats existed read as raw). */
  format: PromptFormat,
  /** Each reward with its source, e.g. {"demo": 0.8, "demo/safety": 1}; null when none was asked for. */
  rewards: z.record(z.string(), z.number()).nullable(),
  source: z.string(),
  createdAt: z.string(),
});
export type Sample = z.infer<typeof Sample>;

export const SampleRequest = z
  .object({
    model: modelName,
    /** A dataset's prompts (each distinct prompt once, optionally one split), or prompts given as text. */
    prompts: z.union([
      z
        .object({
          dataset: datasetName,
          version: z.number().int().positive().optional(),
          split: z.string().min(1).optional(),
        })
        .strict(),
      z.object({ texts: z.array(z.string().max(100_000)).min(1).max(100_000) }).strict(),
    ]),
    /** Responses per prompt. */
    n: z.number().int().min(1).max(64).default(1),
    settings: GenerateSettings.prefault({}),
    /** Prompt format; default chat where the model has a chat template, else raw. */
    format: PromptFormat.optional(),
    /** A reward to score every response with (demo, module:FILE.mjs, a weighted combination). */
    reward: z.string().min(1).optional(),
  })
  .strict();
export type SampleRequest = z.infer<typeof SampleRequest>;

export const ScoredRow = z.object({
  prompt: z.string(),
  response: z.string(),
  reward: z.number(),
  components: z.record(z.string(), z.number()),
});

export const jobKinds = [
  'import',
  'model.import',
  'model.create',
  'generate',
  'logprobs',
  'train',
  'sample',
  'campaign',
  'reward-model',
] as const;
export const JobKind = z.enum(jobKinds);
export type JobKind = z.infer<typeof JobKind>;
export const JobStatus = z.enum(['running', 'succeeded', 'failed', 'cancelled']);
export type JobStatus = z.infer<typeof JobStatus>;

export const Job = z.object({
  id,
  kind: JobKind,
  status: JobStatus,
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
  params: z.record(z.string(), z.unknown()),
  result: z.record(z.string(), z.unknown()).nullable(),
  error: AppErrorShape.nullable(),
});
export type Job = z.infer<typeof Job>;

/*
 * What each kind of job answers when it succeeds. The job process checks its result against its
 * kind's schema before sending it (app/jobKinds.ts executeJob); readers take it with
 * jobResult(job, kind). A result crosses as JSON, so a NaN or infinite figure arrives as null:
 * figures that could be one allow null.
 */
const count = z.number().int().nonnegative();

export const GenerateResult = z.object({
  generations: z.array(Generation),
  /** The prompt format the prompts were given in (absent from jobs before formats existed: raw). */
  format: PromptFormat.optional(),
  tensorBackend: TensorBackendName,
});
export type GenerateResult = z.infer<typeof GenerateResult>;

export const LogprobsResult = z.object({
  ids: z.array(z.number().int()),
  logprobs: z.array(z.number()),
  tensorBackend: TensorBackendName,
});
export type LogprobsResult = z.infer<typeof LogprobsResult>;

/** A training run's summary (also the run's `summary` and its folder's summary.json). */
export const TrainResult = z.object({
  model: z.string(),
  steps: count,
  /** The prompt format trained on (absent from runs before formats existed: raw). */
  format: PromptFormat.optional(),
  /** Whether each layer's activations were recomputed in the backward pass to save memory (absent before). */
  recomputeLayers: z.boolean().optional(),
  rewardSource: z.string(),
  data: z.object({
    source: z.string(),
    trainItems: count,
    heldOutItems: count,
    rewards: z
      .object({ count, mean: z.number().nullable(), min: z.number().nullable(), max: z.number().nullable() })
      .optional(),
    labels: z.object({ chosen: count, rejected: count }).optional(),
  }),
  /** The last step's metrics by name (loss, grad_norm, learning_rate, ...). */
  finalMetrics: z.record(z.string(), z.number().nullable()),
  /** The A-LoL variants' advantage stage: what V was fitted to, its fit, and the share of positive advantages. */
  advantages: z
    .object({
      valueTargets: z.string(),
      valueFit: z.record(z.string(), z.unknown()),
      heldOut: z.object({ from: z.string(), rows: count, trainItems: count }),
      positiveFraction: z.number().nullable(),
      meanAdvantage: z.number().nullable(),
    })
    .optional(),
  /**
   * A LoRA run: its settings, the adapters' and the base's sizes, the tf.Variables the job held at the
   * end (the one base, the adapters and their AdamW moments: no reference copy) and its PEFT folder.
   */
  lora: LoraSettings.extend({
    trainableParameters: count,
    baseParameters: count,
    adapterTensors: count,
    baseTensors: count,
    tfVariables: count,
    /** The PEFT adapter folder, relative to the project folder. */
    adapter: z.string(),
  }).optional(),
});
export type TrainResult = z.infer<typeof TrainResult>;

/** A sampling job: its samples are stored under `source` (samples.list). */
export const SampleResult = z.object({
  source: z.string(),
  count,
  prompts: count,
  model: z.string(),
  /** The prompt format sampled with (absent from jobs before formats existed: raw). */
  format: PromptFormat.optional(),
  reward: z.string().optional(),
  meanReward: z.number().nullable().optional(),
  /** The tensor backend that sampled (absent from jobs before it was kept). */
  tensorBackend: TensorBackendName.optional(),
});
export type SampleResult = z.infer<typeof SampleResult>;

/** A campaign's preparation: its items are written and it is ready to rate. */
export const CampaignPrepared = z.object({
  campaign: z.string(),
  items: count,
  prompts: count,
  systems: z.array(z.string()),
});
export type CampaignPrepared = z.infer<typeof CampaignPrepared>;

/** A trained reward model (score with `reward`, rm:NAME) and its held-out accuracy with a Wilson 95% interval. */
export const RewardModelResult = z.object({
  name: z.string(),
  reward: z.string(),
  folder: z.string(),
  backbone: z.string(),
  /** The source of the pairs: a campaign under a rule, or a dataset's own pairs (the other fields null). */
  campaign: z.string().nullable(),
  rule: RewardRule.shape.rule.unwrap().nullable(),
  helpfulWeight: z.number().nullable(),
  dataset: z
    .object({ name: z.string(), version: z.number().int().positive(), split: z.string().nullable() })
    .nullable(),
  pairs: z.object({
    total: count,
    train: count,
    heldOut: count,
    splitBy: z.enum(['group', 'pair']),
    heldOutPrompts: count,
  }),
  trainAccuracy: z.number().nullable(),
  heldOutAccuracy: z.number().nullable(),
  heldOutInterval: z.object({ level: z.number(), low: z.number().nullable(), high: z.number().nullable() }),
  trainLoss: z.number().nullable(),
  heldOutLoss: z.number().nullable(),
  epochs: count,
  seed: count,
  /** How the backbone read prompt + response (absent from reward models before formats existed: raw). */
  format: PromptFormat.optional(),
  tensorBackend: TensorBackendName,
});
export type RewardModelResult = z.infer<typeof RewardModelResult>;

export const jobResults = {
  import: ImportSummary,
  'model.import': ModelSummary,
  'model.create': ModelSummary,
  generate: GenerateResult,
  logprobs: LogprobsResult,
  train: TrainResult,
  sample: SampleResult,
  campaign: CampaignPrepared,
  'reward-model': RewardModelResult,
} as const satisfies Record<JobKind, z.ZodType<Record<string, unknown>>>;
export type JobResults = { [K in JobKind]: z.output<(typeof jobResults)[K]> };
export type JobResult<K extends JobKind> = JobResults[K];

/** A result read with its kind's schema: the parsed result, or why it is not one. */
export function parseJobResult<K extends JobKind>(
  kind: K,
  result: unknown,
): { success: true; data: JobResult<K> } | { success: false; error: z.ZodError } {
  // Indexed through a mapped type, the schema of kind K reads as a schema of JobResult<K>.
  const schemas: { [P in JobKind]: z.ZodType<JobResults[P]> } = jobResults;
  return schemas[kind].safeParse(result);
}

/**
 * A finished job's result, typed by its kind: throws the job's own error when it did not succeed,
 * and a bad_response AppError when it is of another kind or its result has another shape.
 *
 *   const { generations } = jobResult(job, 'generate');
 */
export function jobResult<K extends JobKind>(job: Job, kind: K): JobResult<K> {
  if (job.kind !== kind) throw new AppError('bad_response', `job ${job.id} is a ${job.kind} job, not ${kind}`);
  if (job.status !== 'succeeded') throw AppError.from(job.error ?? { code: job.status, message: `job ${job.status}` });
  const parsed = parseJobResult(kind, job.result);
  if (!parsed.success)
    throw new AppError(
      'bad_response',
      `the ${kind} job ${job.id} finished, but its result has an unexpected shape: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(result)'}: ${i.message}`).join('; ')}`,
    );
  return parsed.data;
}

export const ImportRequest = z
  .object({
    /** An upload made through uploads.* (the UI), or a path on the backend's machine (the CLI, Electron). */
    source: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('upload'), uploadId: z.string().regex(/^[a-f0-9]{32}$/) }).strict(),
      z.object({ kind: z.literal('path'), path: absolutePath }).strict(),
    ]),
    name: datasetName,
    format: ImportFormat.default('auto'),
    fields: FieldMapping.default({}),
  })
  .strict();
export type ImportRequest = z.infer<typeof ImportRequest>;

/** Uploads cross the contract in base64 chunks, so one schema serves IPC and JSON over HTTP alike. */
export const UPLOAD_CHUNK_BYTES = 4 * 1024 * 1024;
export const MAX_UPLOAD_BYTES = 4 * 1024 * 1024 * 1024;

/** A set of stored responses by its source, as sampling jobs name theirs: sample:JOB. */
export const sampleSetName = z.string().regex(/^sample:\d+$/, 'a sample set is named sample:JOB');
export const isSampleSet = (system: string): boolean => /^sample:\d+$/.test(system);

/** A dataset's own answers as a system: the chosen response of a pairs dataset, or the response of a (prompt, response, reward) one. */
export const dataSystemName = z
  .string()
  .regex(/^data:[\p{L}\p{N}][\p{L}\p{N} ._-]*$/u, 'a dataset as a system is named data:DATASET');
export const isDataSystem = (system: string): boolean => system.startsWith('data:');
/** A system that is a studio model: neither a sample set nor a dataset's answers (what retraining and reward models can start from). */
export const isModelSystem = (system: string): boolean => !isSampleSet(system) && !isDataSystem(system);

const datasetSource = z
  .object({
    dataset: datasetName,
    version: z.number().int().positive().optional(),
    split: z.string().min(1).optional(),
  })
  .strict();

/**
 * A campaign compares systems (models, sample sets, a dataset's own answers) on prompts, or
 * relabels a pairs dataset (`pairs`: each item is one of its pairs, chosen against rejected).
 */
export const CampaignCreate = z
  .object({
    name: datasetName,
    /** The systems: models (missing responses are sampled), sample sets by their source ("sample:12", a sampling job's responses, used as they are), or data:DATASET (that dataset's own answers; the prompts must come from it). */
    models: z
      .array(z.union([sampleSetName, dataSystemName, modelName]))
      .min(2)
      .max(8)
      .refine((m) => new Set(m).size === m.length, 'name each system once')
      .optional(),
    prompts: datasetSource.optional(),
    /** A relabelling campaign over this dataset's own preference pairs (instead of models and prompts). */
    pairs: datasetSource.optional(),
    guidelines: z.string().max(200_000).optional(),
    /** Gold items read from a JSONL file (README, Human rating), on top of the automatic ones. */
    goldFile: absolutePath.optional(),
    /** Decoding for responses the models have not given yet (existing samples of a prompt are reused). */
    settings: GenerateSettings.prefault({}),
    /** Prompt format for the responses sampled now (and the existing samples reused); default each model's own (chat where it has a chat template). */
    format: PromptFormat.optional(),
  })
  .extend(CampaignOptions.shape)
  /** 'all': every pair of the dataset (relabelling campaigns). */
  .extend({ n: z.union([CampaignOptions.shape.n, z.literal('all')]) })
  .strict()
  .superRefine((c, ctx) => {
    if (c.pairs !== undefined && (c.models !== undefined || c.prompts !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['pairs'],
        message: 'a relabelling campaign (pairs) takes no models or prompts',
      });
    } else if (c.pairs === undefined && (c.models === undefined || c.prompts === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [c.models === undefined ? 'models' : 'prompts'],
        message: 'give models and prompts, or pairs to relabel',
      });
    }
    if (c.n === 'all' && c.pairs === undefined)
      ctx.addIssue({ code: 'custom', path: ['n'], message: 'n = all is for relabelling campaigns (pairs)' });
  });
export type CampaignCreate = z.infer<typeof CampaignCreate>;

const campaignRef = { campaign: z.string().min(1).max(100) };

/** What a retrain may use: the ratings become single responses with rewards, so no pairs algorithm (dpo). */
export const retrainAlgos = algos.filter((a) => !algorithm(a).pairs) as [Algo, ...Algo[]];
export const RetrainAlgo = z.enum(retrainAlgos);

export const RetrainRequest = z
  .object({
    campaign: datasetName,
    algo: RetrainAlgo.default('a_lol').describe(
      `the algorithm to retrain with, on the ratings as (prompt, response, reward) rows: ${describeAlgorithms(retrainAlgos)}`,
    ),
    ref: modelName
      .optional()
      .describe("the reference policy and starting point (default: the campaign's first system)"),
    out: modelName.optional().describe('the new model (default: REF-CAMPAIGN)'),
    steps: z.number().int().min(1).max(1_000_000).default(100).describe('update budget in optimizer steps'),
    batch: z.number().int().min(1).max(1024).default(16),
    lr: z.number().positive().max(1).default(2e-3),
    seed: z.number().int().nonnegative().default(0),
    nextCampaign: datasetName
      .optional()
      .describe('the campaign comparing the new model with the reference (default: CAMPAIGN-next)'),
    force: z
      .boolean()
      .default(false)
      .describe('retrain even below the minimum evidence (retrainPlan names what falls short)'),
  })
  .extend(RewardRule.shape)
  .strict();
export type RetrainRequest = z.infer<typeof RetrainRequest>;

export const ratingsFormats = ['raw', 'trl-preference', 'trl-unpaired', 'rewards'] as const;
/** The files of an exported model (a Hugging Face folder); those after the first three where the model has them. */
export const modelFiles = [
  'config.json',
  'model.safetensors',
  'tokenizer.json',
  'generation_config.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'chat_template.jinja',
] as const;
export const exportCriteria = ['helpful', 'safe', 'both'] as const;

/** How a reward model is trained, whatever its pairs come from. */
const rewardModelTraining = {
  name: datasetName.describe('the reward model; score with the reward rm:NAME'),
  epochs: z.number().int().min(1).max(10_000).default(20),
  batch: z.number().int().min(1).max(1024).default(16).describe('pairs per optimizer step'),
  lr: z.number().positive().max(1).default(1e-3),
  heldOut: z.number().gt(0).lt(1).default(0.2).describe('share of prompts held out, whole (at least one)'),
  seed: z.number().int().nonnegative().default(0),
  format: PromptFormat.optional().describe(
    'how the backbone reads prompt + response: chat (its chat template) or raw (the HH text); default chat where the backbone has a chat template, else raw',
  ),
};

/** From a campaign's rated pairs, under a rule. */
export const RewardModelFromCampaign = z
  .object({
    campaign: datasetName,
    base: modelName.optional().describe("the frozen backbone (default: the campaign's first system)"),
    ...rewardModelTraining,
  })
  .extend(RewardRule.shape)
  .strict();

/** From a dataset's own (chosen, rejected) pairs: the split named, else the train split, else all of them. */
export const RewardModelFromDataset = z
  .object({
    dataset: datasetName,
    version: z.number().int().positive().optional(),
    split: z
      .string()
      .min(1)
      .max(100)
      .optional()
      .describe('the pairs of this split (default: the train split, or every pair when the data has no splits)'),
    base: modelName.describe('the frozen backbone'),
    ...rewardModelTraining,
  })
  .strict();

/**
 * A learned reward model (Bradley-Terry on a frozen backbone), from a campaign's ratings or a
 * dataset's pairs: one source or the other, told apart by its field; score with the reward rm:NAME.
 */
export const RewardModelRequest = z.union([RewardModelFromCampaign, RewardModelFromDataset]);
export type RewardModelRequest = z.infer<typeof RewardModelRequest>;
export type RewardModelFromCampaign = z.infer<typeof RewardModelFromCampaign>;
export type RewardModelFromDataset = z.infer<typeof RewardModelFromDataset>;

export const methods = {
  'app.info': { input: z.object({}).strict(), output: AppInfo },
  'datasets.list': { input: z.object({}).strict(), output: z.array(DatasetSummary) },
  'datasets.get': {
    input: z.object({ dataset: datasetName, version: z.number().int().positive().optional() }).strict(),
    output: DatasetSummary,
  },
  'datasets.examples': { input: pageRequest, output: page(Example) },
  'datasets.demo': {
    input: z
      .object({
        name: datasetName,
        seed: z.number().int().nonnegative().default(1),
        trainPrompts: z.number().int().min(10).max(5000).default(400),
      })
      .strict(),
    output: DatasetSummary,
  },
  'datasets.pairs': { input: pageRequest, output: page(Pair) },
  'uploads.create': {
    input: z
      .object({
        fileName: z
          .string()
          .min(1)
          .max(255)
          .regex(/^[^/\\\0]+$/, 'a file name, not a path'),
        size: z.number().int().nonnegative().max(MAX_UPLOAD_BYTES),
      })
      .strict(),
    output: z.object({ uploadId: z.string() }),
  },
  'uploads.append': {
    input: z
      .object({
        uploadId: z.string().regex(/^[a-f0-9]{32}$/),
        offset: z.number().int().nonnegative(),
        base64: z
          .string()
          .max(Math.ceil(UPLOAD_CHUNK_BYTES / 3) * 4)
          .regex(/^[A-Za-z0-9+/]*={0,2}$/),
      })
      .strict(),
    output: z.object({ received: z.number().int().nonnegative() }),
  },
  'imports.start': { input: ImportRequest, output: z.object({ jobId: id }) },
  'models.list': { input: z.object({}).strict(), output: z.array(ModelSummary) },
  'models.get': { input: z.object({ model: modelName }).strict(), output: ModelSummary },
  'models.import': {
    input: z.object({ path: absolutePath, name: modelName }).strict(),
    output: z.object({ jobId: id }),
  },
  'models.create': {
    input: z
      .object({
        name: modelName,
        dataset: datasetName,
        version: z.number().int().positive().optional(),
        arch: z.enum(modelFamilies).default('gpt2').describe('gpt2 (GPT2LMHeadModel) or llama (LlamaForCausalLM)'),
        layers: z.number().int().min(1).max(48).default(2),
        dim: z.number().int().min(8).max(4096).default(128),
        heads: z.number().int().min(1).max(64).default(4),
        kvHeads: z.number().int().min(1).max(64).optional().describe('llama: key/value heads (default heads)'),
        ffn: z
          .number()
          .int()
          .min(1)
          .max(65_536)
          .optional()
          .describe('llama: the MLP width (default 8/3 dim, up to a multiple of 8)'),
        context: z.number().int().min(8).max(8192).default(128),
        vocab: z.number().int().min(260).max(100_000).default(512),
        seed: z.number().int().nonnegative().default(0),
      })
      .strict()
      .refine((m) => m.dim % m.heads === 0, { message: 'dim must be a multiple of heads', path: ['dim'] })
      .refine((m) => m.arch === 'llama' || (m.kvHeads === undefined && m.ffn === undefined), {
        message: 'kvHeads and ffn are for arch llama (GPT-2 has heads key/value heads and 4 dim)',
        path: ['arch'],
      })
      .refine((m) => m.kvHeads === undefined || m.heads % m.kvHeads === 0, {
        message: 'heads must be a multiple of kvHeads',
        path: ['kvHeads'],
      })
      .refine((m) => m.arch !== 'llama' || (m.dim / m.heads) % 2 === 0, {
        message: 'llama needs an even head size (dim / heads) for its rotary embeddings',
        path: ['dim'],
      }),
    output: z.object({ jobId: id }),
  },
  'models.export': {
    input: z
      .object({
        model: modelName,
        path: absolutePath,
        dtype: z.enum(['f32', 'bf16']).default('f32').describe('model.safetensors in F32, or BF16 (nearest even)'),
      })
      .strict(),
    output: z.object({ folder: z.string(), files: z.array(z.string()) }),
  },
  /** A stored model with a PEFT LoRA adapter folder for its family merged in (W + alpha/r B A), stored as a new model. */
  'models.merge': {
    input: z
      .object({
        model: modelName.describe('the base model the adapter was trained on'),
        adapter: absolutePath.describe('a PEFT adapter folder: adapter_config.json and adapter_model.safetensors'),
        out: modelName.describe('the name of the merged model'),
      })
      .strict(),
    output: ModelSummary,
  },
  /** One of a model's files as models.export writes it, in base64: a browser saves it (no path on the server's machine). */
  'models.download': {
    input: z.object({ model: modelName, file: z.enum(modelFiles) }).strict(),
    output: z.object({ filename: z.string(), base64: z.string() }),
  },
  'models.tokenize': {
    input: z.object({ model: modelName, text: z.string().max(1_000_000) }).strict(),
    output: z.object({ ids: z.array(z.number().int()), tokens: z.array(z.string()) }),
  },
  'models.logprobs': {
    input: z
      .object({
        model: modelName,
        text: z.string().max(100_000).optional(),
        ids: z.array(z.number().int().nonnegative()).max(8192).optional(),
      })
      .strict()
      .refine((m) => (m.text === undefined) !== (m.ids === undefined), { message: 'give text or ids, not both' }),
    output: z.object({ jobId: id }),
  },
  'models.generate': {
    input: z
      .object({
        model: modelName,
        prompts: z.array(z.string().max(100_000)).min(1).max(64),
        settings: GenerateSettings.prefault({}),
        format: PromptFormat.optional(),
      })
      .strict(),
    output: z.object({ jobId: id }),
  },
  'runs.start': { input: RunConfig, output: z.object({ runId: id, jobId: id }) },
  'runs.list': { input: z.object({}).strict(), output: z.array(RunSummary) },
  'runs.get': { input: z.object({ runId: id }).strict(), output: RunSummary },
  'runs.metrics': {
    input: z.object({ runId: id, sinceStep: z.number().int().nonnegative().default(0) }).strict(),
    output: z.array(z.object({ step: z.number().int(), metrics: z.record(z.string(), z.number()) })),
  },
  'runs.cancel': { input: z.object({ runId: id }).strict(), output: z.object({ cancelled: z.boolean() }) },
  'runs.resume': { input: z.object({ runId: id }).strict(), output: z.object({ runId: id, jobId: id }) },
  'samples.create': { input: SampleRequest, output: z.object({ jobId: id }) },
  'samples.list': {
    input: z
      .object({
        model: modelName.optional(),
        source: z.string().optional(),
        offset: z.number().int().nonnegative().default(0),
        limit: z.number().int().min(1).max(10_000).default(50),
      })
      .strict(),
    output: z.object({
      total: z.number().int().nonnegative(),
      offset: z.number().int().nonnegative(),
      rows: z.array(Sample),
    }),
  },
  'rewards.score': {
    input: z
      .object({
        reward: z.string().min(1),
        dataset: datasetName.optional(),
        version: z.number().int().positive().optional(),
        items: z
          .array(z.object({ prompt: z.string(), response: z.string() }).strict())
          .max(100_000)
          .optional(),
      })
      .strict()
      .refine((r) => (r.dataset === undefined) !== (r.items === undefined), {
        message: 'give a dataset or items, not both',
      }),
    output: z.object({
      source: z.string(),
      count: z.number().int(),
      mean: z.number().nullable(),
      rows: z.array(ScoredRow),
    }),
  },
  'campaigns.create': { input: CampaignCreate, output: z.object({ campaignId: id, jobId: id }) },
  'campaigns.list': { input: z.object({}).strict(), output: z.array(CampaignSummary) },
  'campaigns.get': { input: z.object(campaignRef).strict(), output: CampaignSummary },
  'campaigns.items': {
    input: z
      .object({
        ...campaignRef,
        offset: z.number().int().nonnegative().default(0),
        limit: z.number().int().min(1).max(10_000).default(100),
      })
      .strict(),
    output: page(CampaignItem),
  },
  /** The item browser: items with every rating, rationale and flag note, filtered (flagged, skipped, disagreement, annotator, systems, outcome) and paged. */
  'campaigns.browse': { input: BrowseRequest, output: BrowsePage },
  'campaigns.agreement': {
    input: z
      .object({
        ...campaignRef,
        seed: z.number().int().nonnegative().default(0),
        reps: z.number().int().min(1).max(10_000).default(500),
      })
      .strict(),
    output: z.array(AgreementSummary),
  },
  /** A relabelling campaign's agreement with its dataset's own chosen response, per criterion (empty for other campaigns). */
  'campaigns.datasetAgreement': { input: z.object(campaignRef).strict(), output: z.array(DatasetAgreement) },
  'annotators.list': { input: z.object({}).strict(), output: z.array(z.object({ id, name: z.string() })) },
  /** Adds an annotator to a campaign (creating them if new) with a fresh personal token; an old token stops working. */
  'annotators.add': {
    input: z.object({ ...campaignRef, name: datasetName, link: z.boolean().default(true) }).strict(),
    output: z.object({ annotator: z.object({ id, name: z.string() }), token: z.string().nullable() }),
  },
  /**
   * Revokes an annotator's personal link to a campaign: it is refused (401) from its next request.
   * Their ratings stay, and they stay a member (annotators.add gives them a new link; the studio's
   * own window can still rate as them). `revoked` is false when they had no link.
   */
  'annotators.revoke': {
    input: z.object({ ...campaignRef, name: datasetName }).strict(),
    output: z.object({ annotator: z.object({ id, name: z.string() }), revoked: z.boolean() }),
  },
  'ratings.export': {
    input: z
      .object({
        ...campaignRef,
        format: z.enum(ratingsFormats),
        path: absolutePath,
        /** Which answers decide a derived file: helpfulness only, safety only, or both under the rule. */
        criterion: z.enum(exportCriteria).default('both'),
      })
      .extend(RewardRule.shape)
      .strict(),
    output: z.object({ path: z.string(), rows: z.number().int().nonnegative(), card: z.string().nullable() }),
  },
  /** What ratings.export writes, returned instead: a browser saves the file and its card (no path on the server's machine). */
  'ratings.download': {
    input: z
      .object({ ...campaignRef, format: z.enum(ratingsFormats), criterion: z.enum(exportCriteria).default('both') })
      .extend(RewardRule.shape)
      .strict(),
    output: z.object({
      filename: z.string(),
      content: z.string(),
      rows: z.number().int().nonnegative(),
      card: z.object({ filename: z.string(), content: z.string() }),
    }),
  },
  'ratings.import': {
    input: z.object({ ...campaignRef, path: absolutePath }).strict(),
    output: z.object({ imported: z.number().int().nonnegative(), annotators: z.array(z.string()) }),
  },
  /** A new dataset of (prompt, response, reward) from a campaign's ratings, with its provenance. */
  'rewards.fromRatings': {
    input: z
      .object({ ...campaignRef, name: datasetName })
      .extend(RewardRule.shape)
      .strict(),
    output: z.object({ dataset: DatasetSummary, examples: z.number().int().nonnegative(), card: z.string() }),
  },
  /** Ratings -> rewards -> A-LoL from the reference -> (when the run succeeds) a campaign comparing the new model with the reference. */
  /** Trains a reward model in a job; the job's result holds its held-out accuracy. */
  'rewards.trainModel': { input: RewardModelRequest, output: z.object({ jobId: id }) },
  'campaigns.retrain': {
    input: RetrainRequest,
    output: z.object({
      dataset: z.string(),
      version: z.number().int().positive(),
      runId: id,
      jobId: id,
      model: z.string(),
      nextCampaign: z.string(),
      annotators: z.array(z.string()),
      warnings: z.array(z.string()),
    }),
  },
  /** What campaigns.retrain would do, before it starts: names, evidence against the minimums, refusals and warnings. */
  'campaigns.retrainPlan': { input: RetrainRequest, output: RetrainPlan },
  ...ratingMethods,
  'results.get': { input: ResultsRequest, output: Results },
  /**
   * results.get's figures as one self-contained HTML file (inline styles and SVG charts, no script,
   * nothing fetched): `alol report` writes it, a browser saves it as `filename`. The counts say what
   * it covers.
   */
  'results.report': {
    input: ResultsRequest,
    output: z.object({
      html: z.string(),
      filename: z.string(),
      campaigns: z.array(z.string()),
      systems: z.array(z.string()),
      comparisons: z.number().int().nonnegative(),
      models: z.number().int().nonnegative(),
      runs: z.number().int().nonnegative(),
    }),
  },
  'jobs.get': { input: z.object({ jobId: id }).strict(), output: Job },
  'jobs.list': {
    input: z.object({ limit: z.number().int().min(1).max(200).default(20) }).strict(),
    output: z.array(Job),
  },
  'jobs.cancel': { input: z.object({ jobId: id }).strict(), output: z.object({ cancelled: z.boolean() }) },
} as const;

export const JobProgress = z.object({
  jobId: id,
  kind: JobKind,
  phase: z.string(),
  done: z.number().nonnegative(),
  total: z.number().nonnegative().nullable(),
  message: z.string().optional(),
});
export type JobProgress = z.infer<typeof JobProgress>;

export const events = {
  'runs.step': RunStep,
  'jobs.progress': JobProgress,
  'jobs.finished': Job,
} as const;

export type Methods = typeof methods;
export type MethodName = keyof Methods;
export type Input<M extends MethodName> = z.input<Methods[M]['input']>;
export type ParsedInput<M extends MethodName> = z.output<Methods[M]['input']>;
export type Output<M extends MethodName> = z.output<Methods[M]['output']>;
export type EventName = keyof typeof events;
export type EventPayload<E extends EventName> = z.output<(typeof events)[E]>;

export const methodNames = Object.keys(methods) as MethodName[];

export function isMethodName(value: unknown): value is MethodName {
  return typeof value === 'string' && Object.hasOwn(methods, value);
}

/** The handlers a backend must provide: one per method, checked by the compiler. */
export type Handlers = { [M in MethodName]: (input: ParsedInput<M>) => Promise<Output<M>> | Output<M> };

/** An error as it crosses any boundary. */
export class AppError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly issues?: ImportIssue[],
  ) {
    super(message);
    this.name = 'AppError';
  }
  toShape(): AppErrorShape {
    return { code: this.code, message: this.message, ...(this.issues ? { issues: this.issues } : {}) };
  }
  static from(shape: AppErrorShape): AppError {
    return new AppError(shape.code, shape.message, shape.issues);
  }
}
