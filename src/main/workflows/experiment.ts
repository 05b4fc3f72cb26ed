/**
 * The paper's main comparison at small scale, on the built-in demo task (ALOL.md, "Claims worth
 * reproducing"): with the same data and the same update budget, do A-LoL variants reach a higher
 * mean reward than NLL, and than their own start pi_ref, on held-out test prompts?
 *
 * Protocol (everything through the backend's dispatch, every model job in a job process, exactly
 * as the UI and the CLI would do it):
 * 1. Selection, on dev only. One selection seed, on the first task's data: a fresh model, pi_ref by
 *    NLL, then every algorithm at every point of a small grid (learning rate x step budget) from
 *    pi_ref; each is decoded greedily on the dev prompts and scored. Dev is the demo data's
 *    validation split: its prompts are disjoint from test by construction, the policy never trains
 *    on them, and they are also where A-LoL's value head takes its targets (pi_ref's decodes of
 *    them). Each algorithm's setting with the best mean dev reward is frozen (ties: the first in
 *    grid order). Test prompts are never decoded before the settings are frozen.
 * 2. Evaluation: for each task (the demo data generated with a task seed) and each fresh seed (the
 *    model's initialisation, pi_ref's and each algorithm's data order and sampling), a fresh model,
 *    pi_ref by NLL, then every algorithm with its frozen setting, greedy decodes of every test
 *    prompt scored by scoreDemo. A later task's test prompts that are also dev prompts of the
 *    selection task are dropped from its evaluation (and counted).
 * 3. Statistics: per system the mean test reward, and the paired differences (same seed, same
 *    prompt) against pi_ref and against NLL, each with a 95% two-level bootstrap interval
 *    (experimentStats.ts). The results are plain data: bench/experiment.ts writes them as JSON and
 *    bench/experimentTable.ts makes the README's table from that file.
 *
 *   const results = await runExperiment({ ...EXPERIMENT_PRESETS.full, projectDir, jobEntry, onLog: console.log });
 *   console.log(formatExperimentTable(results));
 */
import { createBackend } from '../app/backend';
import { call } from '../app/calls';
import type { ForcedTensorBackend } from '../lm/tensorBackend';
import { AppError, RunConfig, type Algo, type TensorBackendReport, type Input } from '../../shared/contract';
import { scoreDemo } from '../data/demo/index';
import { summarizeResponses, type ResponseMetrics } from '../report/index';
import { experimentJobs, finishedDecodes, PrioritySlots } from './experimentJobs';
import {
  meanOfSeeds,
  pairedDifference,
  twoLevelBootstrap,
  verdict,
  type BootstrapSettings,
  type Interval,
} from './experimentStats';

export interface ModelShapeOptions {
  layers: number;
  dim: number;
  heads: number;
  context: number;
  vocab: number;
}

export interface ExperimentBudget {
  /** pi_ref: NLL steps, batch and learning rate from the freshly created model (fixed, not selected). */
  refSteps: number;
  refBatch: number;
  refLr: number;
  /** Every algorithm's batch (its learning rate and step budget come from the grid). */
  batch: number;
  /** pi_ref's other run settings (its schedule, say); RunConfig's defaults otherwise. */
  refRun?: Partial<Pick<RunConfig, 'schedule' | 'warmup' | 'weightDecay' | 'maxGradNorm' | 'gradAccum'>>;
  /** Other run settings every algorithm shares (eps, klBeta, beta, valueEpochs, ...); RunConfig's defaults otherwise. */
  run?: Partial<
    Pick<
      RunConfig,
      | 'eps'
      | 'beta'
      | 'klBeta'
      | 'maxGradNorm'
      | 'weightDecay'
      | 'valueDecodes'
      | 'valueEpochs'
      | 'maxNewTokens'
      | 'schedule'
      | 'warmup'
      | 'gradAccum'
    >
  >;
}

/** The settings tried per algorithm on dev: every learning rate with every step budget. */
export interface SelectionGrid {
  lr: number[];
  steps: number[];
}

export interface AlgoSetting {
  lr: number;
  steps: number;
}

/** The demo data generated with `taskSeed`, evaluated with fresh `seeds`. */
export interface TaskPlan {
  taskSeed: number;
  seeds: number[];
}

export interface ExperimentPreset {
  algos: Algo[];
  model: ModelShapeOptions;
  /** Training prompts of the demo data (validation and test: 100 prompts each). */
  trainPrompts: number;
  budget: ExperimentBudget;
  grid: SelectionGrid;
  /** Where settings are chosen: the dev prompts of this task, with this seed (not one of the evaluation seeds). */
  selection: { taskSeed: number; seed: number };
  /** The first task should be the selection's: its dev and test prompts are then disjoint by construction. */
  tasks: TaskPlan[];
  /** Longest greedy decode (EOS stops it earlier). */
  maxNewTokens: number;
  /** Jobs at once (each job process uses about one core on the wasm backend). */
  parallel: number;
  bootstrap: BootstrapSettings;
  /** Only the first N test (dev) prompts; a full run uses every one. */
  testPrompts?: number;
  devPrompts?: number;
  /** What was cut from the intended protocol to fit the time, in words (recorded in the results). */
  reductions?: string[];
}

export interface ExperimentOptions extends ExperimentPreset {
  /** The studio project to work in (a new temporary folder is the usual choice). */
  projectDir: string;
  /** The built job entry (out/main/job.js): jobs run in their own processes. */
  jobEntry: string;
  forcedTensorBackend?: ForcedTensorBackend | null;
  /** A prefix for the names of the datasets and models, so one project can hold several experiments. */
  tag?: string;
  /**
   * Picks up an interrupted run in the same project and tag: the datasets, models and training
   * runs and greedy decodes that finished are used as they are (training is deterministic in its
   * seed); the rest run.
   */
  resume?: boolean;
  onLog?: (line: string) => void;
}

/** The algorithms of ALOL.md, NLL (the baseline the others are compared with) first. */
export const EXPERIMENT_ALGOS: Algo[] = [
  'nll',
  'wbc',
  'dpo',
  'a_lol',
  'a_lol_ref_free',
  'a_lol_seq',
  'a_lol_kl',
  'r_lol',
  'r_gold',
];

/** The ones that matter most for the paper's claim, when time is short. */
export const CORE_ALGOS: Algo[] = ['nll', 'a_lol', 'a_lol_seq', 'a_lol_ref_free', 'wbc', 'dpo'];

export const EXPERIMENT_PRESETS: Record<'full' | 'quick', ExperimentPreset> = {
  /**
   * The full run, sized for a shared 2-core machine (wasm + BLAS, two jobs at once):
   * - model 2 layers, d 128, 4 heads, context 128, vocab 1024 (the BPE then spans whole words of
   *   this templated text: about 36 tokens a sequence);
   * - pi_ref: 1000 NLL steps of 16 at a constant 2e-3, fixed (the paper's pi_ref is a behaviour
   *   clone of the data; it is the start of every algorithm, not a setting being compared);
   * - grid per algorithm: lr 1e-3, 2e-3 or 4e-3 at a budget of 100 steps of 16, chosen on dev;
   * - the six algorithms that carry the claim (a_lol_kl, r_lol and r_gold are left out for time);
   * - selection seed 100 on task 1; evaluation seeds 1-5 on task 1 and 1-3 on task 2.
   */
  full: {
    algos: CORE_ALGOS,
    model: { layers: 2, dim: 128, heads: 4, context: 128, vocab: 1024 },
    trainPrompts: 400,
    budget: { refSteps: 1000, refBatch: 16, refLr: 2e-3, batch: 16 },
    grid: { lr: [1e-3, 2e-3, 4e-3], steps: [100] },
    selection: { taskSeed: 1, seed: 100 },
    tasks: [
      { taskSeed: 1, seeds: [1, 2, 3, 4, 5] },
      { taskSeed: 2, seeds: [1, 2, 3] },
    ],
    maxNewTokens: 64,
    parallel: 2,
    bootstrap: { resamples: 2000, seed: 1 },
  },
  /** Minutes become seconds: a tiny model, a few steps, a few prompts, 2 seeds. For tests, not for claims. */
  quick: {
    algos: ['nll', 'a_lol'],
    model: { layers: 1, dim: 32, heads: 2, context: 128, vocab: 300 },
    trainPrompts: 20,
    budget: { refSteps: 4, refBatch: 4, refLr: 1e-3, batch: 4, run: { valueEpochs: 1, maxNewTokens: 8 } },
    grid: { lr: [1e-3, 3e-3], steps: [2] },
    selection: { taskSeed: 1, seed: 100 },
    tasks: [{ taskSeed: 1, seeds: [1, 2] }],
    maxNewTokens: 8,
    parallel: 2,
    bootstrap: { resamples: 200, seed: 1 },
    testPrompts: 6,
    devPrompts: 4,
  },
};

/** One grid point's dev result. */
export interface GridResult extends AlgoSetting {
  algo: Algo;
  devReward: number;
  /** Optimizer steps the run took (A-LoL variants: budget x positive fraction). */
  stepsTaken: number;
}

export interface SelectionResult {
  taskSeed: number;
  seed: number;
  split: 'validation';
  /** Why dev is what it is, in words (recorded in the results). */
  note: string;
  devPrompts: number;
  /** The dev prompts themselves (disjoint from every evaluated test prompt). */
  prompts: string[];
  referenceDevReward: number;
  grid: GridResult[];
  chosen: Partial<Record<Algo, AlgoSetting>>;
}

export type SystemMetrics = Pick<
  ResponseMetrics,
  'count' | 'reward' | 'words' | 'distinct1' | 'distinct2' | 'distinct3'
> &
  Partial<Pick<ResponseMetrics, 'helpfulness' | 'safety'>>;

/** One system's test results on one task: per seed, per prompt (in the task's prompt order). */
export interface SystemRun {
  label: string;
  algo: Algo | null;
  /** The frozen setting it ran with (pi_ref: its own fixed steps and lr). */
  setting: AlgoSetting;
  stepsTaken: number[];
  /** Per seed; helpfulness and safety only where the reward has those parts (the demo's). */
  metrics: SystemMetrics[];
  /** seed x prompt test rewards, to 4 decimals. */
  rewards: number[][];
}

export interface SystemSummary {
  label: string;
  reward: Interval;
  /** Paired (seed, prompt) difference against pi_ref of the same seed; null for pi_ref itself. */
  vsReference: Interval | null;
  vsReferenceVerdict: string | null;
  /** Against NLL of the same seed; null for NLL and for pi_ref (whose comparison is NLL's vsReference). */
  vsNll: Interval | null;
  vsNllVerdict: string | null;
  /** Means over seeds of the per-seed figures (helpfulness and safety: null where the reward has no such parts). */
  helpfulness: number | null;
  safety: number | null;
  words: number;
  distinct2: number;
  stepsTaken: number;
}

export interface TaskResult {
  taskSeed: number;
  seeds: number[];
  trainExamples: number;
  /** The evaluated test prompts, in the order of every rewards row. */
  prompts: string[];
  /** Test prompts dropped because they are dev prompts of the selection task. */
  droppedAsDev: number;
  /** The test split's offline responses: each prompt's mean reward, and their mean. */
  data: { reward: number; perPrompt: number[] };
  systems: SystemRun[];
  summary: SystemSummary[];
}

/** Where a results file came from (bench/experiment.ts adds it when it writes the file). */
export interface Provenance {
  /** `git rev-parse HEAD`, followed by " dirty" when the tree had uncommitted changes. */
  commit: string;
  node: string;
  platform: string;
  cpus: number;
  /** The 1-minute load average when the run started: this machine is shared, and timings depend on it. */
  loadAverageAtStart: number;
  date: string;
}

export interface ExperimentResults {
  format: 'alol-experiment/1';
  task: 'demo';
  backend: TensorBackendReport;
  settings: Omit<ExperimentPreset, 'reductions'>;
  reductions: string[];
  selection: SelectionResult;
  tasks: TaskResult[];
  seconds: number;
}

interface Scored {
  prompt: string;
  response: string;
  reward: number;
  helpfulness: number;
  safety: number;
}

function scored(prompt: string, response: string): Scored {
  const s = scoreDemo(prompt, response);
  return { prompt, response, reward: s.reward, helpfulness: s.helpfulness, safety: s.safety };
}

const round4 = (x: number) => Math.round(x * 10_000) / 10_000;
const meanOf = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function checkPreset(p: ExperimentPreset): void {
  const bad = (what: string) => {
    throw new AppError('invalid_input', `runExperiment: ${what}`);
  };
  if (p.algos.length === 0) bad('give at least one algorithm');
  if (new Set(p.algos).size !== p.algos.length) bad('algorithms must be distinct');
  if (!p.algos.includes('nll')) bad('nll must be among the algorithms: every other one is compared with it');
  if (p.grid.lr.length === 0 || p.grid.steps.length === 0)
    bad('the grid needs at least one learning rate and one step budget');
  if (p.tasks.length === 0) bad('give at least one task');
  for (const t of p.tasks) {
    if (t.seeds.length === 0) bad(`task ${t.taskSeed}: give at least one seed`);
    if (new Set(t.seeds).size !== t.seeds.length) bad(`task ${t.taskSeed}: seeds must be distinct`);
    if (t.taskSeed === p.selection.taskSeed && t.seeds.includes(p.selection.seed))
      bad(`the selection seed ${p.selection.seed} is also an evaluation seed of task ${t.taskSeed}`);
  }
  if (new Set(p.tasks.map((t) => t.taskSeed)).size !== p.tasks.length) bad('task seeds must be distinct');
  if (!(Number.isInteger(p.parallel) && p.parallel >= 1))
    bad(`parallel must be a whole number >= 1, got ${p.parallel}`);
}

export async function runExperiment(options: ExperimentOptions): Promise<ExperimentResults> {
  checkPreset(options);
  const started = Date.now();
  const { algos, budget, grid, selection, model, maxNewTokens } = options;
  const tag = options.tag ?? `x${started.toString(36)}`;
  const log = (line: string) => options.onLog?.(`[${((Date.now() - started) / 1000).toFixed(0).padStart(5)}s] ${line}`);

  const backend = createBackend({
    projectDir: options.projectDir,
    shell: 'cli',
    forcedTensorBackend: options.forcedTensorBackend ?? null,
    jobEntry: options.jobEntry,
  });
  const slots = new PrioritySlots(options.parallel);
  try {
    const info = await call(backend, 'app.info', {});
    log(
      `project ${info.projectDir}; tag ${tag} (to resume: --project ${info.projectDir} --tag ${tag} --resume); tensor backend ${info.tensorBackend.chosen} (${info.tensorBackend.reason}); ${options.parallel} job(s) at once`,
    );

    // What an interrupted run in this project left finished: its models and their runs.
    const finishedModels = new Set(options.resume ? (await call(backend, 'models.list', {})).map((m) => m.name) : []);
    const finishedRuns = new Map(
      options.resume
        ? (await call(backend, 'runs.list', {}))
            .filter((r) => r.status === 'succeeded' && finishedModels.has(r.outModel))
            .map((r) => [r.outModel, { steps: r.totalSteps ?? r.step, config: r.config }])
        : [],
    );
    const knownDatasets = new Set(options.resume ? (await call(backend, 'datasets.list', {})).map((d) => d.name) : []);
    if (options.resume) log(`resuming: ${finishedModels.size} models, ${finishedRuns.size} finished runs kept`);

    // The data: one demo dataset per task seed, its split prompts read back from the store.
    const taskSeeds = [...new Set([selection.taskSeed, ...options.tasks.map((t) => t.taskSeed)])];
    const datasets = new Map<
      number,
      {
        name: string;
        test: string[];
        dev: string[];
        testRows: { prompt: string; response: string }[];
        trainExamples: number;
      }
    >();
    for (const taskSeed of taskSeeds) {
      const name = `${tag}-demo-t${taskSeed}`;
      const summary = knownDatasets.has(name)
        ? await call(backend, 'datasets.get', { dataset: name })
        : await call(backend, 'datasets.demo', { name, seed: taskSeed, trainPrompts: options.trainPrompts });
      const testRows: { prompt: string; response: string }[] = [];
      const dev = new Set<string>();
      let trainExamples = 0;
      for (let offset = 0; offset < summary.examples; offset += 500) {
        const page = await call(backend, 'datasets.examples', { dataset: name, offset, limit: 500 });
        for (const e of page.rows) {
          const split = e.metadata?.split;
          if (split === 'test') testRows.push({ prompt: e.prompt, response: e.response });
          else if (split === 'validation') dev.add(e.prompt);
          else if (split === 'train') trainExamples += 1;
        }
      }
      const test = [...new Set(testRows.map((r) => r.prompt))];
      datasets.set(taskSeed, { name, test, dev: [...dev], testRows, trainExamples });
      log(
        `task ${taskSeed}: ${summary.examples} examples (${trainExamples} train), ${summary.pairs} pairs; ${dev.size} dev (validation) and ${test.length} test prompts`,
      );
    }
    const selectionData = datasets.get(selection.taskSeed)!;
    const devPrompts =
      options.devPrompts === undefined ? selectionData.dev : selectionData.dev.slice(0, options.devPrompts);
    const devSet = new Set(selectionData.dev);

    const decoded = options.resume
      ? await finishedDecodes(backend)
      : new Map<string, { prompt: string; response: string }[]>();
    if (options.resume) log(`resuming: ${decoded.size} finished decodes kept`);
    const { job, train: trainJob, decode: decodeText } = experimentJobs(backend, slots, log, decoded);
    const train = async (priority: number, what: string, config: Input<'runs.start'>): Promise<number> => {
      const done = finishedRuns.get(config.out);
      if (done !== undefined) {
        // Kept only if it is the run this one would be: a changed setting under the same name is refused, not reused.
        const keys = [
          'algo',
          'data',
          'init',
          'ref',
          'steps',
          'batch',
          'lr',
          'seed',
          'reward',
          'schedule',
          'warmup',
          'eps',
          'beta',
          'klBeta',
          'valueEpochs',
          'maxNewTokens',
        ] as const;
        const parsed = RunConfig.parse(config);
        const differs = keys.filter((k) => JSON.stringify(done.config[k]) !== JSON.stringify(parsed[k]));
        if (differs.length > 0) {
          throw new AppError(
            'conflict',
            `${what}: the model "${config.out}" in this project was trained with other settings (${differs.join(', ')}); resume with the same settings, or use another --tag`,
          );
        }
        log(`${what}: kept from the interrupted run (${done.steps} steps)`);
        return done.steps;
      }
      return trainJob(priority, what, config);
    };
    const decode = async (
      priority: number,
      what: string,
      modelName: string,
      prompts: readonly string[],
    ): Promise<Scored[]> =>
      (await decodeText(priority, what, modelName, prompts, maxNewTokens)).map((g) => scored(g.prompt, g.response));

    /** A fresh model and pi_ref from it, for one seed of one task. */
    const reference = async (
      priority: number,
      taskSeed: number,
      seed: number,
      base: string,
    ): Promise<{ refName: string; steps: number }> => {
      const dataset = datasets.get(taskSeed)!.name;
      if (!finishedModels.has(`${base}-init`))
        await job(priority, `${base}: create model`, () =>
          call(backend, 'models.create', { name: `${base}-init`, dataset, ...model, seed }),
        );
      const refName = `${base}-ref`;
      const steps = await train(priority, `${base}: pi_ref (nll, ${budget.refSteps} steps)`, {
        data: dataset,
        seed,
        checkpointEvery: 1_000_000,
        reward: 'demo',
        ...budget.refRun,
        algo: 'nll',
        init: `${base}-init`,
        out: refName,
        steps: budget.refSteps,
        batch: budget.refBatch,
        lr: budget.refLr,
      });
      return { refName, steps };
    };

    const trainAlgo = (
      priority: number,
      taskSeed: number,
      seed: number,
      refName: string,
      algo: Algo,
      setting: AlgoSetting,
      out: string,
      what: string,
    ) =>
      train(priority, what, {
        data: datasets.get(taskSeed)!.name,
        seed,
        checkpointEvery: 1_000_000,
        reward: 'demo',
        ...budget.run,
        algo,
        init: refName,
        ref: refName,
        out,
        steps: setting.steps,
        batch: budget.batch,
        lr: setting.lr,
      });

    const points: AlgoSetting[] = grid.lr.flatMap((lr) => grid.steps.map((steps) => ({ lr, steps })));

    // 1. Selection on dev (priority 0: everything else waits for its decisions).
    const runSelection = async (): Promise<SelectionResult> => {
      const base = `${tag}-sel-t${selection.taskSeed}-s${selection.seed}`;
      const { refName } = await reference(0, selection.taskSeed, selection.seed, base);
      const refDev = decode(0, `${base}: pi_ref dev`, refName, devPrompts);
      const results = await Promise.all(
        algos.flatMap((algo) =>
          points.map(async (point, k): Promise<GridResult> => {
            const out = `${base}-${algo}-g${k}`;
            const stepsTaken = await trainAlgo(
              0,
              selection.taskSeed,
              selection.seed,
              refName,
              algo,
              point,
              out,
              `${base}: ${algo} lr ${point.lr} steps ${point.steps}`,
            );
            const devReward = meanOf(
              (await decode(0, `${base}: ${algo} g${k} dev`, out, devPrompts)).map((g) => g.reward),
            );
            log(
              `selection: ${algo} lr ${point.lr} steps ${point.steps}: dev reward ${devReward.toFixed(4)} (${stepsTaken} steps)`,
            );
            return { algo, ...point, devReward: round4(devReward), stepsTaken };
          }),
        ),
      );
      const chosen: Partial<Record<Algo, AlgoSetting>> = {};
      for (const algo of algos) {
        let best: GridResult | null = null;
        for (const r of results) if (r.algo === algo && (best === null || r.devReward > best.devReward)) best = r;
        chosen[algo] = { lr: best!.lr, steps: best!.steps };
        log(
          `selection: ${algo} frozen at lr ${best!.lr}, ${best!.steps} steps (dev reward ${best!.devReward.toFixed(4)})`,
        );
      }
      const referenceDevReward = round4(meanOf((await refDev).map((g) => g.reward)));
      return {
        taskSeed: selection.taskSeed,
        seed: selection.seed,
        split: 'validation',
        note:
          "dev = the demo data's validation split of the selection task: no prompt in common with its test split; the policy never trains on it; " +
          "A-LoL's value head also takes its targets there (pi_ref's decodes of these prompts), which is why a second task seed checks the frozen settings on other data",
        devPrompts: devPrompts.length,
        prompts: devPrompts,
        referenceDevReward,
        grid: results,
        chosen,
      };
    };
    const selectionPromise = runSelection();
    // The evaluation waits for it, so an error there must not also go unhandled here.
    selectionPromise.catch(() => undefined);

    // 2. Evaluation: the test prompts of each task, fixed before anything is decoded.
    const taskPrompts = new Map<number, { prompts: string[]; dropped: number }>();
    for (const plan of options.tasks) {
      const d = datasets.get(plan.taskSeed)!;
      const notDev = plan.taskSeed === selection.taskSeed ? d.test : d.test.filter((p) => !devSet.has(p));
      const prompts = options.testPrompts === undefined ? notDev : notDev.slice(0, options.testPrompts);
      if (prompts.length === 0) throw new AppError('invalid_input', `task ${plan.taskSeed} has no test prompts left`);
      taskPrompts.set(plan.taskSeed, { prompts, dropped: d.test.length - notDev.length });
    }

    type SeedOutcome = {
      ref: { steps: number; generations: Scored[] };
      algos: Map<Algo, { steps: number; generations: Scored[] }>;
    };
    const runSeed = async (priority: number, taskSeed: number, seed: number): Promise<SeedOutcome> => {
      const base = `${tag}-t${taskSeed}-s${seed}`;
      const prompts = taskPrompts.get(taskSeed)!.prompts;
      const { refName, steps: refSteps } = await reference(priority, taskSeed, seed, base);
      const { chosen } = await selectionPromise;
      const refEval = decode(priority, `${base}: pi_ref test`, refName, prompts);
      const outcomes = await Promise.all(
        algos.map(async (algo) => {
          const out = `${base}-${algo}`;
          const setting = chosen[algo]!;
          const steps = await trainAlgo(priority, taskSeed, seed, refName, algo, setting, out, `${base}: ${algo}`);
          const generations = await decode(priority, `${base}: ${algo} test`, out, prompts);
          log(
            `task ${taskSeed} seed ${seed}: ${algo} test reward ${meanOf(generations.map((g) => g.reward)).toFixed(4)} (${steps} steps)`,
          );
          return [algo, { steps, generations }] as const;
        }),
      );
      const refGenerations = await refEval;
      log(
        `task ${taskSeed} seed ${seed}: pi_ref test reward ${meanOf(refGenerations.map((g) => g.reward)).toFixed(4)}`,
      );
      return { ref: { steps: refSteps, generations: refGenerations }, algos: new Map(outcomes) };
    };

    // Every seed at once: the slots keep the machine at `parallel` jobs; the first task's seeds go first.
    let priority = 1;
    const seedRuns = options.tasks.map((plan) => ({
      plan,
      outcomes: Promise.all(plan.seeds.map((seed) => runSeed(priority++, plan.taskSeed, seed))),
    }));
    // Awaited one task at a time below; an earlier failure must not leave the later ones unhandled.
    for (const r of seedRuns) r.outcomes.catch(() => undefined);
    const selectionResult = await selectionPromise;
    const tasks: TaskResult[] = [];
    for (const { plan, outcomes: pending } of seedRuns) {
      const outcomes = await pending;
      const { prompts, dropped } = taskPrompts.get(plan.taskSeed)!;
      const d = datasets.get(plan.taskSeed)!;
      const system = (
        label: string,
        algo: Algo | null,
        setting: AlgoSetting,
        runs: { steps: number; generations: Scored[] }[],
      ): SystemRun => ({
        label,
        algo,
        setting,
        stepsTaken: runs.map((r) => r.steps),
        metrics: runs.map((r) => summarizeResponses(r.generations)),
        rewards: runs.map((r) => r.generations.map((g) => round4(g.reward))),
      });
      const systems: SystemRun[] = [
        system(
          'reference',
          null,
          { lr: budget.refLr, steps: budget.refSteps },
          outcomes.map((o) => o.ref),
        ),
        ...algos.map((algo) =>
          system(
            algo,
            algo,
            selectionResult.chosen[algo]!,
            outcomes.map((o) => o.algos.get(algo)!),
          ),
        ),
      ];
      const perPrompt = prompts.map((p) => {
        const rows = d.testRows.filter((r) => r.prompt === p);
        return round4(meanOf(rows.map((r) => scoreDemo(r.prompt, r.response).reward)));
      });
      tasks.push({
        taskSeed: plan.taskSeed,
        seeds: plan.seeds,
        trainExamples: d.trainExamples,
        prompts,
        droppedAsDev: dropped,
        data: { reward: round4(meanOf(perPrompt)), perPrompt },
        systems,
        summary: summarizeSystems(systems, options.bootstrap),
      });
    }
    const settings = options;
    return {
      format: 'alol-experiment/1',
      task: 'demo',
      backend: info.tensorBackend,
      settings: {
        algos: settings.algos,
        model: settings.model,
        trainPrompts: settings.trainPrompts,
        budget: settings.budget,
        grid: settings.grid,
        selection: settings.selection,
        tasks: settings.tasks,
        maxNewTokens: settings.maxNewTokens,
        parallel: settings.parallel,
        bootstrap: settings.bootstrap,
        ...(settings.testPrompts === undefined ? {} : { testPrompts: settings.testPrompts }),
        ...(settings.devPrompts === undefined ? {} : { devPrompts: settings.devPrompts }),
      },
      reductions: options.reductions ?? [],
      selection: selectionResult,
      tasks,
      seconds: Math.round((Date.now() - started) / 1000),
    };
  } finally {
    backend.close();
  }
}

/**
 * Per system: the mean test reward with its interval, and the paired differences against pi_ref
 * and NLL with theirs. Each comparison has its own bootstrap seed (derived from the settings' seed
 * and its place), so adding a system does not move the others' intervals.
 */
export function summarizeSystems(systems: readonly SystemRun[], bootstrap: BootstrapSettings): SystemSummary[] {
  const ref = systems.find((s) => s.algo === null);
  const nll = systems.find((s) => s.algo === 'nll');
  if (!ref || !nll) throw new RangeError('summarizeSystems: needs the reference and nll');
  return systems.map((s, i) => {
    const at = (k: number): BootstrapSettings => ({
      resamples: bootstrap.resamples,
      seed: bootstrap.seed * 1000 + i * 10 + k,
    });
    const vsReference = s === ref ? null : twoLevelBootstrap(pairedDifference(s.rewards, ref.rewards), at(1));
    const vsNll = s === ref || s === nll ? null : twoLevelBootstrap(pairedDifference(s.rewards, nll.rewards), at(2));
    const avg = (pick: (m: SystemMetrics) => number) => meanOf(s.metrics.map(pick));
    const part = (pick: (m: SystemMetrics) => number | undefined) =>
      s.metrics.every((m) => pick(m) !== undefined) ? avg((m) => pick(m)!) : null;
    return {
      label: s.label,
      reward: { ...twoLevelBootstrap(s.rewards, at(0)), mean: meanOfSeeds(s.rewards) },
      vsReference,
      vsReferenceVerdict: vsReference ? verdict(vsReference, 'pi_ref') : null,
      vsNll,
      vsNllVerdict: vsNll ? verdict(vsNll, 'NLL') : null,
      helpfulness: part((m) => m.helpfulness),
      safety: part((m) => m.safety),
      words: avg((m) => m.words),
      distinct2: avg((m) => m.distinct2),
      stepsTaken: meanOf(s.stepsTaken),
    };
  });
}

const f3 = (x: number) => x.toFixed(3);
const f3orDash = (x: number | null) => (x === null ? '-' : x.toFixed(3));
const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(3)}`;
const interval = (i: Interval) => `${signed(i.mean)} [${signed(i.lo)}, ${signed(i.hi)}]`;

/** One task's systems as a markdown table: reward with its interval, the paired differences and what they say. */
export function formatTaskTable(task: TaskResult): string {
  return formatSystemsTable(task.summary, task.systems, 'setting (chosen on dev)', [
    { label: "data (test split's responses)", reward: task.data.reward },
  ]);
}

/** Systems as a markdown table, with rows for the data's own responses (no interval) first. */
export function formatSystemsTable(
  summary: readonly SystemSummary[],
  systems: readonly SystemRun[],
  settingTitle: string,
  dataRows: { label: string; reward: number }[],
): string {
  const header = `| system | ${settingTitle} | test reward [95% CI] | − pi_ref [95% CI] | − NLL [95% CI] | verdict | helpful | safe | words | distinct-2 | steps |`;
  const rule = '|---|---|---|---|---|---|---|---|---|---|---|';
  const lines = [header, rule, ...dataRows.map((d) => `| ${d.label} | - | ${f3(d.reward)} | | | | | | | | |`)];
  for (const s of summary) {
    const run = systems.find((r) => r.label === s.label)!;
    const isRef = run.algo === null;
    const name = isRef ? 'reference (pi_ref)' : s.label;
    const setting = isRef
      ? `nll, lr ${run.setting.lr}, ${run.setting.steps} steps (fixed)`
      : `lr ${run.setting.lr}, ${run.setting.steps} steps`;
    const verdicts = [s.vsReferenceVerdict, s.vsNllVerdict].filter((v): v is string => v !== null).join('; ');
    lines.push(
      `| ${name} | ${setting} | ${f3(s.reward.mean)} [${f3(s.reward.lo)}, ${f3(s.reward.hi)}] | ${s.vsReference ? interval(s.vsReference) : '-'} | ${s.vsNll ? interval(s.vsNll) : '-'} | ${verdicts || '-'} | ${f3orDash(s.helpfulness)} | ${f3orDash(s.safety)} | ${s.words.toFixed(1)} | ${f3(s.distinct2)} | ${Math.round(s.stepsTaken)} |`,
    );
  }
  return lines.join('\n');
}

/**
 * The table's verdicts in one paragraph, computed from the same intervals (so the words cannot
 * drift from the figures): which systems beat NLL, which do not, and what NLL did to pi_ref.
 */
export function summarizeVerdicts(summary: readonly SystemSummary[]): string {
  const group = (pick: (s: SystemSummary) => Interval | null) => {
    const better: string[] = [];
    const same: string[] = [];
    const worse: string[] = [];
    for (const s of summary) {
      const i = pick(s);
      if (!i) continue;
      (i.lo > 0 ? better : i.hi < 0 ? worse : same).push(s.label);
    }
    const list = (xs: string[]) => (xs.length === 0 ? 'none' : xs.join(', '));
    return `better: ${list(better)}; no better, interval includes 0: ${list(same)}; worse: ${list(worse)}`;
  };
  const nll = summary.find((s) => s.label === 'nll');
  const nllRef = nll?.vsReference
    ? `NLL against its own start pi_ref: ${signed(nll.vsReference.mean)} [${signed(nll.vsReference.lo)}, ${signed(nll.vsReference.hi)}], ${nll.vsReferenceVerdict}. `
    : '';
  const others = summary.filter((s) => s.label !== 'nll');
  return `${nllRef}Against NLL (same seed, same prompt) — ${group((s) => s.vsNll)}. Against pi_ref — ${group((s) => (others.includes(s) ? s.vsReference : null))}.`;
}

/** The dev grid: each algorithm's dev reward at every setting, the chosen one in bold. */
export function formatSelectionTable(selection: SelectionResult): string {
  const points = [...new Map(selection.grid.map((g) => [`${g.lr}/${g.steps}`, { lr: g.lr, steps: g.steps }])).values()];
  const header = `| dev reward | ${points.map((p) => `lr ${p.lr}, ${p.steps} steps`).join(' | ')} |`;
  const rule = `|---|${points.map(() => '---').join('|')}|`;
  const algos = [...new Set(selection.grid.map((g) => g.algo))];
  const rows = algos.map((algo) => {
    const chosen = selection.chosen[algo];
    const cells = points.map((p) => {
      const g = selection.grid.find((x) => x.algo === algo && x.lr === p.lr && x.steps === p.steps);
      if (!g) return '-';
      const text = f3(g.devReward);
      return chosen && chosen.lr === p.lr && chosen.steps === p.steps ? `**${text}**` : text;
    });
    return `| ${algo} | ${cells.join(' | ')} |`;
  });
  return [header, rule, ...rows].join('\n');
}

/** The whole result as markdown: the selection grid, then one table per task. */
export function formatExperimentTable(results: ExperimentResults): string {
  const s = results.settings;
  const out: string[] = [
    `Selection on dev (${results.selection.devPrompts} validation prompts of task seed ${results.selection.taskSeed}, selection seed ${results.selection.seed}; pi_ref's dev reward ${f3(results.selection.referenceDevReward)}); the chosen setting in bold:`,
    '',
    formatSelectionTable(results.selection),
  ];
  for (const task of results.tasks) {
    out.push(
      '',
      `Task seed ${task.taskSeed}: ${task.seeds.length} seeds (${task.seeds.join(', ')}), ${task.prompts.length} test prompts` +
        (task.droppedAsDev > 0 ? ` (${task.droppedAsDev} dropped: dev prompts of the selection task)` : '') +
        `, greedy decodes of at most ${s.maxNewTokens} new tokens scored by the demo reward; intervals: two-level bootstrap over seeds and prompts (${s.bootstrap.resamples} resamples), differences paired by seed and prompt:`,
      '',
      formatTaskTable(task),
      '',
      summarizeVerdicts(task.summary),
    );
  }
  if (results.reductions.length > 0)
    out.push('', `Changed from the full preset (to fit the time on this machine): ${results.reductions.join('; ')}.`);
  return out.join('\n');
}
