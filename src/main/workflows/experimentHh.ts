/**
 * The paper's own setting at small scale: Anthropic HH-RLHF (harmless-base) preference pairs, a
 * reward model learned from them, and A-LoL trained on both sides of every pair with that model's
 * rewards, against NLL on the chosen replies and DPO on the pairs.
 *
 * Protocol (everything through the backend's dispatch, model jobs in job processes):
 * 1. The bundled file's pairs are split by prompt, seeded: `heldOutShare` of the prompts (whole,
 *    with all their pairs) are held out as the test split, the rest are the train split; the split
 *    travels with each pair as its `split` field, so training reads only the train split.
 * 2. Per seed: a fresh small model (its tokenizer from the data), pi_ref by NLL on the train split's
 *    chosen replies, a reward model on pi_ref's states from the train split's pairs
 *    (rewards.trainModel; it keeps a share of the train prompts for its own early stopping), then
 *    from pi_ref: nll on the chosen replies, dpo on the pairs, and A-LoL variants on both replies of
 *    every pair (pairs: both) with the reward model's rewards.
 * 3. Greedy decodes of held-out prompts, scored by that seed's reward model; paired differences
 *    against pi_ref and NLL with two-level bootstrap intervals (as the demo experiment). The reward
 *    model's accuracy on every held-out pair (its chosen scored above its rejected) with a Wilson
 *    interval says how far its scores can be trusted.
 * Settings are fixed in advance (no selection): nothing here looks at the held-out prompts before
 * the final decodes.
 */
import { gunzipSync } from 'node:zlib';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBackend } from '../app/backend';
import { call } from '../app/calls';
import type { ForcedTensorBackend } from '../lm/tensorBackend';
import { Rng } from '../core/rng';
import { splitTranscripts } from '../data/import/hhTranscript';
import { summarizeResponses } from '../report/index';
import { wilson } from '../stats/winRates';
import { AppError, type Algo, type TensorBackendReport, type RunConfig } from '../../shared/contract';
import {
  formatSystemsTable,
  summarizeSystems,
  summarizeVerdicts,
  type ModelShapeOptions,
  type SystemRun,
  type SystemSummary,
} from './experiment';
import { experimentJobs, PrioritySlots } from './experimentJobs';
import type { BootstrapSettings } from './experimentStats';

export interface HhPreset {
  algos: Algo[];
  model: ModelShapeOptions;
  /** Share of the prompts held out (whole) as the test split, and the seed of that choice. */
  heldOutShare: number;
  splitSeed: number;
  budget: {
    refSteps: number;
    refBatch: number;
    refLr: number;
    steps: number;
    batch: number;
    lr: number;
    run?: Partial<Pick<RunConfig, 'eps' | 'beta' | 'klBeta' | 'maxGradNorm' | 'valueEpochs' | 'maxNewTokens'>>;
  };
  /** The reward model: its training, and the share of train prompts it keeps for its own early stopping. */
  rm: { epochs: number; batch: number; lr: number; heldOut: number };
  seeds: number[];
  /** Held-out prompts decoded and scored (the first N of the test split, in its seeded order). */
  testPrompts: number;
  maxNewTokens: number;
  parallel: number;
  bootstrap: BootstrapSettings;
  reductions?: string[];
}

export interface HhOptions extends HhPreset {
  projectDir: string;
  jobEntry: string;
  /** The HH-RLHF JSONL file (gzip or plain): {chosen, rejected} transcripts per line. */
  dataFile: string;
  forcedTensorBackend?: ForcedTensorBackend | null;
  tag?: string;
  onLog?: (line: string) => void;
}

export const HH_ALGOS: Algo[] = ['nll', 'dpo', 'a_lol', 'a_lol_seq'];

export const HH_PRESETS: Record<'full' | 'quick', HhPreset> = {
  /**
   * Sized for a shared 2-core machine, next to the demo experiment: a 2-layer d 96 GPT with a
   * 256-token context (HH dialogues are long; longer ones are cut by the trainer), 2 seeds, 80
   * held-out prompts. Settings chosen in advance from the demo's scale, not tuned on this data.
   */
  full: {
    algos: HH_ALGOS,
    model: { layers: 2, dim: 96, heads: 4, context: 256, vocab: 2048 },
    heldOutShare: 0.2,
    splitSeed: 1,
    budget: {
      refSteps: 400,
      refBatch: 8,
      refLr: 2e-3,
      steps: 100,
      batch: 8,
      lr: 1e-3,
      run: { valueEpochs: 5, maxNewTokens: 48 },
    },
    rm: { epochs: 5, batch: 16, lr: 1e-3, heldOut: 0.1 },
    seeds: [1, 2],
    testPrompts: 80,
    maxNewTokens: 48,
    parallel: 2,
    bootstrap: { resamples: 2000, seed: 1 },
  },
  /** A pipeline check on the real file with a tiny model. Not for claims. */
  quick: {
    algos: ['nll', 'dpo', 'a_lol'],
    model: { layers: 1, dim: 32, heads: 2, context: 128, vocab: 400 },
    heldOutShare: 0.2,
    splitSeed: 1,
    budget: {
      refSteps: 3,
      refBatch: 4,
      refLr: 1e-3,
      steps: 2,
      batch: 4,
      lr: 1e-3,
      run: { valueEpochs: 1, maxNewTokens: 4 },
    },
    rm: { epochs: 1, batch: 32, lr: 1e-3, heldOut: 0.1 },
    seeds: [1],
    testPrompts: 6,
    maxNewTokens: 4,
    parallel: 2,
    bootstrap: { resamples: 200, seed: 1 },
  },
};

export interface HhRewardModelResult {
  seed: number;
  name: string;
  /** What the reward-model job reported (its own held-out share of the train prompts). */
  job: { trainPairs: number; heldOutPairs: number; heldOutAccuracy: number | null; low: number; high: number };
  /** On every pair of the test split's prompts: chosen scored above rejected; ties count as wrong. */
  test: { pairs: number; correct: number; ties: number; accuracy: number; low: number; high: number };
}

export interface HhResults {
  format: 'alol-experiment-hh/1';
  task: 'hh';
  backend: TensorBackendReport;
  settings: Omit<HhPreset, 'reductions'>;
  reductions: string[];
  data: {
    file: string;
    lines: number;
    skipped: number;
    pairs: number;
    prompts: number;
    trainPrompts: number;
    trainPairs: number;
    testPrompts: number;
    testPairs: number;
  };
  rewardModels: HhRewardModelResult[];
  /** The evaluated held-out prompts, in the order of every rewards row. */
  prompts: string[];
  /** The test pairs' own replies scored by each seed's reward model: per seed, per prompt (mean over its pairs). */
  dataRewards: { chosen: number[][]; rejected: number[][] };
  systems: SystemRun[];
  summary: SystemSummary[];
  seconds: number;
}

interface HhPair {
  chosen: string;
  rejected: string;
  prompt: string;
}

/** The file's pairs with their prompts; lines without a shared assistant turn are skipped (counted). */
export function readHhPairs(file: string): { pairs: HhPair[]; lines: number; skipped: number } {
  const raw = readFileSync(file);
  const text = (file.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
  const pairs: HhPair[] = [];
  let lines = 0;
  let skipped = 0;
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    lines += 1;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch (error) {
      throw new AppError(
        'invalid_input',
        `${file}:${i + 1}: not JSON (${error instanceof Error ? error.message : String(error)})`,
      );
    }
    const r = o as { chosen?: unknown; rejected?: unknown };
    if (typeof r.chosen !== 'string')
      throw new AppError('invalid_input', `${file}:${i + 1}: field "chosen" must be a string`);
    if (typeof r.rejected !== 'string')
      throw new AppError('invalid_input', `${file}:${i + 1}: field "rejected" must be a string`);
    const split = splitTranscripts(r.chosen, r.rejected);
    if (!split) skipped += 1;
    else pairs.push({ chosen: r.chosen, rejected: r.rejected, prompt: split.prompt });
  }
  return { pairs, lines, skipped };
}

/** Prompts in a seeded order, the first `share` of them (at least one) held out whole. */
export function splitByPrompt(
  pairs: readonly HhPair[],
  share: number,
  seed: number,
): { test: string[]; train: Set<string> } {
  const prompts = [...new Set(pairs.map((p) => p.prompt))];
  new Rng(seed).shuffle(prompts);
  const n = Math.max(1, Math.round(prompts.length * share));
  return { test: prompts.slice(0, n), train: new Set(prompts.slice(n)) };
}

const round4 = (x: number) => Math.round(x * 10_000) / 10_000;
const meanOf = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export async function runHhExperiment(options: HhOptions): Promise<HhResults> {
  const started = Date.now();
  const { algos, budget, model, seeds } = options;
  if (!algos.includes('nll')) throw new AppError('invalid_input', 'runHhExperiment: nll must be among the algorithms');
  if (seeds.length === 0 || new Set(seeds).size !== seeds.length)
    throw new AppError('invalid_input', 'runHhExperiment: give distinct seeds');
  const tag = options.tag ?? `h${started.toString(36)}`;
  const log = (line: string) => options.onLog?.(`[${((Date.now() - started) / 1000).toFixed(0).padStart(5)}s] ${line}`);

  // 1. The split, written beside the project and imported like any user's file.
  const { pairs, lines, skipped } = readHhPairs(options.dataFile);
  const { test, train } = splitByPrompt(pairs, options.heldOutShare, options.splitSeed);
  const testSet = new Set(test);
  const splitFile = join(options.projectDir, `${tag}-hh-split.jsonl`);
  writeFileSync(
    splitFile,
    pairs
      .map((p) =>
        JSON.stringify({ chosen: p.chosen, rejected: p.rejected, split: testSet.has(p.prompt) ? 'test' : 'train' }),
      )
      .join('\n') + '\n',
  );
  const testPairs = pairs.filter((p) => testSet.has(p.prompt));
  const evalPrompts = test.slice(0, options.testPrompts);

  const backend = createBackend({
    projectDir: options.projectDir,
    shell: 'cli',
    forcedTensorBackend: options.forcedTensorBackend ?? null,
    jobEntry: options.jobEntry,
  });
  const slots = new PrioritySlots(options.parallel);
  const { job, train: trainRun, decode } = experimentJobs(backend, slots, log);
  try {
    const info = await call(backend, 'app.info', {});
    log(
      `project ${info.projectDir}; tensor backend ${info.tensorBackend.chosen} (${info.tensorBackend.reason}); ${options.parallel} job(s) at once`,
    );
    const dataset = `${tag}-hh`;
    await job(0, `import ${pairs.length} pairs`, () =>
      call(backend, 'imports.start', {
        source: { kind: 'path', path: splitFile },
        name: dataset,
        format: 'auto',
        fields: {},
      }),
    );
    const summary = await call(backend, 'datasets.get', { dataset });
    if (summary.pairs !== pairs.length)
      throw new Error(`the import holds ${summary.pairs} pairs, the file gave ${pairs.length}`);
    log(
      `data: ${lines} lines, ${skipped} skipped, ${pairs.length} pairs over ${train.size + test.length} prompts; held out ${test.length} prompts (${testPairs.length} pairs); decoding ${evalPrompts.length}`,
    );

    /** A reward's scores of (prompt, response) items, in order. */
    const score = async (reward: string, items: { prompt: string; response: string }[]): Promise<number[]> => {
      const out = await call(backend, 'rewards.score', { reward, items });
      if (out.rows.length !== items.length)
        throw new Error(`rewards.score gave ${out.rows.length} rows for ${items.length} items`);
      return out.rows.map((r) => r.reward);
    };

    const runSeed = async (priority: number, seed: number) => {
      const base = `${tag}-s${seed}`;
      await job(priority, `${base}: create model`, () =>
        call(backend, 'models.create', { name: `${base}-init`, dataset, ...model, seed }),
      );
      const ref = `${base}-ref`;
      const common = { data: dataset, seed, checkpointEvery: 1_000_000 } as const;
      const refSteps = await trainRun(priority, `${base}: pi_ref (nll on chosen, ${budget.refSteps} steps)`, {
        ...common,
        algo: 'nll',
        pairs: 'chosen',
        reward: 'label',
        init: `${base}-init`,
        out: ref,
        steps: budget.refSteps,
        batch: budget.refBatch,
        lr: budget.refLr,
      });
      const rmName = `${base}-rm`;
      const rmJob = await job(priority, `${base}: reward model`, () =>
        call(backend, 'rewards.trainModel', { dataset, split: 'train', base: ref, name: rmName, ...options.rm, seed }),
      );
      const r = rmJob.result as {
        pairs?: { train?: number; heldOut?: number };
        heldOutAccuracy?: number | null;
        heldOutInterval?: { low?: number; high?: number };
      } | null;
      const reward = `rm:${rmName}`;
      // The reward model on every held-out pair.
      const chosenScores = await score(
        reward,
        testPairs.map((p) => ({ prompt: p.prompt, response: p.chosen.slice(p.prompt.length) })),
      );
      const rejectedScores = await score(
        reward,
        testPairs.map((p) => ({ prompt: p.prompt, response: p.rejected.slice(p.prompt.length) })),
      );
      let correct = 0;
      let ties = 0;
      chosenScores.forEach((c, i) => {
        if (c > rejectedScores[i]!) correct += 1;
        else if (c === rejectedScores[i]!) ties += 1;
      });
      // The test split holds at least one prompt, so n > 0 and the interval exists.
      const w = wilson(correct, testPairs.length);
      const acc = { low: w.low ?? 0, high: w.high ?? 1 };
      const rm: HhRewardModelResult = {
        seed,
        name: rmName,
        job: {
          trainPairs: r?.pairs?.train ?? 0,
          heldOutPairs: r?.pairs?.heldOut ?? 0,
          heldOutAccuracy: r?.heldOutAccuracy ?? null,
          low: r?.heldOutInterval?.low ?? 0,
          high: r?.heldOutInterval?.high ?? 0,
        },
        test: {
          pairs: testPairs.length,
          correct,
          ties,
          accuracy: round4(correct / testPairs.length),
          low: round4(acc.low),
          high: round4(acc.high),
        },
      };
      log(
        `${base}: reward model accuracy on ${testPairs.length} held-out pairs ${(correct / testPairs.length).toFixed(3)} [${acc.low.toFixed(3)}, ${acc.high.toFixed(3)}] (its own held-out share: ${rm.job.heldOutAccuracy?.toFixed(3) ?? '?'})`,
      );
      const perPrompt = (scores: number[]) =>
        evalPrompts.map((prompt) =>
          round4(meanOf(testPairs.flatMap((p, i) => (p.prompt === prompt ? [scores[i]!] : [])))),
        );
      const dataRewards = { chosen: perPrompt(chosenScores), rejected: perPrompt(rejectedScores) };

      const evaluate = async (what: string, name: string) => {
        const generations = await decode(priority, what, name, evalPrompts, options.maxNewTokens);
        const rewards = await score(reward, generations);
        return { generations, rewards };
      };
      const refEval = evaluate(`${base}: pi_ref test`, ref);
      const outcomes = await Promise.all(
        algos.map(async (algo) => {
          const out = `${base}-${algo}`;
          const side: Partial<RunConfig> =
            algo === 'dpo' ? {} : algo === 'nll' ? { pairs: 'chosen', reward: 'label' } : { pairs: 'both', reward };
          const steps = await trainRun(priority, `${base}: ${algo}`, {
            ...common,
            ...budget.run,
            ...side,
            algo,
            init: ref,
            ref,
            out,
            steps: budget.steps,
            batch: budget.batch,
            lr: budget.lr,
          } as RunConfig);
          const e = await evaluate(`${base}: ${algo} test`, out);
          log(`${base}: ${algo} held-out rm reward ${meanOf(e.rewards).toFixed(4)} (${steps} steps)`);
          return [algo, { steps, ...e }] as const;
        }),
      );
      const refOutcome = { steps: refSteps, ...(await refEval) };
      log(`${base}: pi_ref held-out rm reward ${meanOf(refOutcome.rewards).toFixed(4)}`);
      return { rm, dataRewards, ref: refOutcome, algos: new Map(outcomes) };
    };

    const outcomes = await Promise.all(seeds.map((seed, i) => runSeed(i, seed)));
    const system = (
      label: string,
      algo: Algo | null,
      setting: { lr: number; steps: number },
      runs: { steps: number; generations: { response: string }[]; rewards: number[] }[],
    ): SystemRun => ({
      label,
      algo,
      setting,
      stepsTaken: runs.map((o) => o.steps),
      metrics: runs.map((o) => {
        const { count, reward, words, distinct1, distinct2, distinct3 } = summarizeResponses(
          o.generations.map((g, k) => ({ response: g.response, reward: o.rewards[k]!, helpfulness: 0, safety: 0 })),
        );
        return { count, reward, words, distinct1, distinct2, distinct3 };
      }),
      rewards: runs.map((o) => o.rewards.map(round4)),
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
          { lr: budget.lr, steps: budget.steps },
          outcomes.map((o) => o.algos.get(algo)!),
        ),
      ),
    ];
    const { reductions, ...settings } = options;
    return {
      format: 'alol-experiment-hh/1',
      task: 'hh',
      backend: info.tensorBackend,
      settings: {
        algos: settings.algos,
        model: settings.model,
        heldOutShare: settings.heldOutShare,
        splitSeed: settings.splitSeed,
        budget: settings.budget,
        rm: settings.rm,
        seeds: settings.seeds,
        testPrompts: settings.testPrompts,
        maxNewTokens: settings.maxNewTokens,
        parallel: settings.parallel,
        bootstrap: settings.bootstrap,
      },
      reductions: reductions ?? [],
      data: {
        file: options.dataFile.split('/').slice(-1)[0]!,
        lines,
        skipped,
        pairs: pairs.length,
        prompts: train.size + test.length,
        trainPrompts: train.size,
        trainPairs: pairs.length - testPairs.length,
        testPrompts: test.length,
        testPairs: testPairs.length,
      },
      rewardModels: outcomes.map((o) => o.rm),
      prompts: evalPrompts,
      dataRewards: {
        chosen: outcomes.map((o) => o.dataRewards.chosen),
        rejected: outcomes.map((o) => o.dataRewards.rejected),
      },
      systems,
      summary: summarizeSystems(systems, options.bootstrap),
      seconds: Math.round((Date.now() - started) / 1000),
    };
  } finally {
    backend.close();
  }
}

const f3 = (x: number) => x.toFixed(3);

/**
 * What the scores can and cannot say, from the figures themselves: every system is scored by a
 * reward model of modest accuracy, and the systems are trained (A-LoL) on that same model's scores.
 */
function rewardCaveat(r: HhResults): string {
  const mean2 = (t: number[][]) => meanOf(t.map((row) => meanOf(row)));
  const accuracy = meanOf(r.rewardModels.map((rm) => rm.test.accuracy));
  const chosen = mean2(r.dataRewards.chosen);
  const rejected = mean2(r.dataRewards.rejected);
  const ref = r.summary.find((x) => x.label === 'reference');
  return (
    `Read with care: the reward model picks the chosen reply on ${(100 * accuracy).toFixed(1)}% of held-out pairs (mean over seeds) and scores the data's own held-out chosen replies ` +
    `${f3(chosen)} against ${f3(rejected)} for the rejected ones, while pi_ref's greedy decodes score ${ref ? f3(ref.reward.mean) : '?'}. A-LoL is trained on this model's scores and judged by it, ` +
    'so a higher score here says the policy moved toward what this reward model prefers, which is weak evidence of more harmless or helpful replies at this accuracy.'
  );
}

/** The hh result as markdown: what was run, the reward models' accuracy, then the systems. */
export function formatHhTable(r: HhResults): string {
  const s = r.settings;
  const m = s.model;
  const mean2 = (t: number[][]) => meanOf(t.map((row) => meanOf(row)));
  const rmLines = r.rewardModels.map(
    (rm) =>
      `- seed ${rm.seed}: ${f3(rm.test.accuracy)} [${f3(rm.test.low)}, ${f3(rm.test.high)}] on the ${rm.test.pairs} held-out pairs (chosen above rejected; ${rm.test.ties} ties counted wrong); ` +
      `${rm.job.heldOutAccuracy === null ? '?' : f3(rm.job.heldOutAccuracy)} on its own early-stopping share (${rm.job.heldOutPairs} train pairs)`,
  );
  return [
    `A small-scale reproduction, not the paper's setting: ${r.data.file} (${r.data.pairs} pairs over ${r.data.prompts} prompts; ${r.data.skipped} lines without a prompt skipped), ` +
      `split by prompt (seed ${s.splitSeed}): ${r.data.trainPrompts} prompts (${r.data.trainPairs} pairs) to train on, ${r.data.testPrompts} (${r.data.testPairs} pairs) held out. ` +
      `Per seed (${s.seeds.join(', ')}): a fresh ${m.layers}-layer GPT (d ${m.dim}, ${m.heads} heads, context ${m.context}, vocab ${m.vocab}); pi_ref by NLL on the chosen replies ` +
      `(${s.budget.refSteps} steps of ${s.budget.refBatch}, lr ${s.budget.refLr}); a reward model on pi_ref's states from the train pairs (${s.rm.epochs} epochs); then from pi_ref, ` +
      `${s.budget.steps} steps of ${s.budget.batch} at lr ${s.budget.lr} each: nll on the chosen replies, dpo on the pairs, and ${s.algos.filter((a) => a.startsWith('a_lol')).join(', ')} on both replies of every pair ` +
      `with the reward model's rewards. Settings fixed in advance, not tuned. Greedy decodes (at most ${s.maxNewTokens} new tokens) of ${r.prompts.length} held-out prompts, scored by the same seed's reward model.`,
    '',
    "The reward model's accuracy on held-out prompts (95% Wilson interval):",
    '',
    ...rmLines,
    '',
    formatSystemsTable(r.summary, r.systems, 'setting (fixed)', [
      { label: "held-out chosen replies (the data's)", reward: mean2(r.dataRewards.chosen) },
      { label: "held-out rejected replies (the data's)", reward: mean2(r.dataRewards.rejected) },
    ]),
    '',
    summarizeVerdicts(r.summary),
    '',
    rewardCaveat(r),
    ...(r.reductions.length > 0
      ? ['', `Changed from the full preset to fit the time: ${r.reductions.join('; ')}.`]
      : []),
  ].join('\n');
}
