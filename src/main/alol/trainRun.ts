/**
 * One training run, start to finish, in a job process: data -> tokens -> rewards -> (for A-LoL
 * variants) value head and advantages -> sampling -> the chosen loss -> checkpoints -> a new
 * model. Everything random is drawn from one Rng whose state is checkpointed with the weights and
 * the optimizer, so a run killed at any moment resumes from its last checkpoint and ends with the
 * same weights as a run never interrupted.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError, type RunConfig } from '../../shared/contract';
import { loadsReference } from '../../shared/algorithms';
import { chooseFormat } from '../models/promptFormat';
import type { JobContext } from '../jobs/jobContext';
import { DatasetStore } from '../data/datasetStore';
import { ModelStore } from '../models/modelStore';
import { copyTokenizerFiles, loadModel, modelFolder, storeModel } from '../models/modelOps';
import { readLatestCheckpoint, writeCheckpoint } from '../lm/checkpoint';
import { killPoint } from '../core/killPoint';
import type { NamedTensors } from '../lm/config';
import type { CausalLm } from '../lm/causalLm';
import { shapeOf, writeModelFolder, type ModelConfig } from '../models/modelFamily';
import { encodeFormatted, padRight, type Example as TokenExample } from '../lm/batch';
import { PackedExamples } from '../lm/packedExamples';
import { sequenceLogprobs, tokenLogprobs } from '../lm/logprobs';
import { recomputeLayers, wasmHeapShortfall } from '../lm/trainingMemory';
import { AdamW } from '../lm/optim';
import { LoraAdapters, writePeftAdapter } from '../lm/lora';
import { constantSchedule, cosineWithWarmup } from '../lm/schedules';
import { trainStep } from '../lm/trainer';
import { Rng } from '../core/rng';
import { loadReward, scoreAll } from '../rewards/index';
import { computeLoss, lossNeeds, type LossInputs } from './losses/index';
import { RunStore } from './runStore';
import { fitAdvantages, VALUE_HOLD_OUT } from './advantageStage';
import { splitHeldOut } from './valueTargets';
import { samplerFor, stepsFor } from './prioritySampler';
import {
  checkRunData,
  exampleRows,
  LABEL_CHOSEN,
  LABEL_REJECTED,
  LABEL_REWARD,
  pairResponses,
  splitOf,
} from './runData';

/** Bumped when what a checkpoint holds changes, so an old one is refused rather than misread. */
const CHECKPOINT_FORMAT = 1;

interface Item {
  prompt: string;
  response: string;
  /** Its tokens' index in the run's PackedExamples. */
  example: number;
  reward: number | null;
}

/** The indices of a pair's two encoded examples. */
interface PairItem {
  chosen: number;
  rejected: number;
}

/** Real tokens of a sequence, not the padding its batch adds. */
const tokenCount = (e: TokenExample): number => e.prompt.length + e.response.length;

/** Per-token log-probs with the response mask shifted to line up with them: lp[b, t] scores token t+1. */
function responseLogps(
  model: CausalLm,
  examples: TokenExample[],
  padId: number,
  dropoutSeed: number | null,
  recompute = false,
): { lp: tf.Tensor2D; mask: tf.Tensor2D } {
  const batch = padRight(examples, { padId });
  const lp = tokenLogprobs(model, batch, {
    ...(dropoutSeed === null ? {} : { training: { dropoutSeed } }),
    ...(recompute ? { recompute } : {}),
  });
  const mask = tf.tidy(() => {
    const full = tf.tensor2d(batch.responseMask, [batch.batchSize, batch.length]);
    return tf.slice(full, [0, 1], [batch.batchSize, batch.length - 1]) as tf.Tensor2D;
  });
  return { lp, mask };
}

/** pi_ref's log-probs for one micro-batch: sequence sums of a pair's two responses, or per-token for examples. */
interface ReferenceLogps {
  chosen?: tf.Tensor1D;
  rejected?: tf.Tensor1D;
  lp?: tf.Tensor2D;
}

/** What a run trains: the policy's weights, or only its LoRA adapters. */
type Trained = Pick<CausalLm, 'params' | 'weights'>;

function checkpointTensors(policy: Trained, optimizer: AdamW): NamedTensors {
  const named: NamedTensors = new Map();
  for (const [name, t] of policy.weights()) named.set(`policy/${name}`, t);
  const state = optimizer.state();
  for (const [name, t] of state.m) named.set(`adam.m/${name}`, t);
  for (const [name, t] of state.v) named.set(`adam.v/${name}`, t);
  return named;
}

function restore(policy: Trained, optimizer: AdamW, tensors: NamedTensors, optimizerStep: number): void {
  const take = (prefix: string) =>
    new Map(
      [...tensors]
        .filter(([name]) => name.startsWith(prefix))
        .map(([name, t]) => [name.slice(prefix.length), t] as const),
    );
  for (const [name, t] of take('policy/')) {
    const variable = policy.params.get(name);
    if (!variable) throw new Error(`checkpoint holds ${name}, which the model does not have`);
    variable.assign(tf.tensor(t.data, t.shape));
  }
  optimizer.loadState({ step: optimizerStep, m: take('adam.m/'), v: take('adam.v/') });
}

/** What the run trained on, for its summary: where the items came from, how many, their rewards. */
function dataReport(
  source: string,
  trainItems: number,
  heldOutItems: number,
  rewards: Float32Array | null,
  labels: boolean,
): Record<string, unknown> {
  const report: Record<string, unknown> = { source, trainItems, heldOutItems };
  if (rewards && rewards.length > 0) {
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    for (const r of rewards) {
      min = Math.min(min, r);
      max = Math.max(max, r);
      sum += r;
    }
    report.rewards = { count: rewards.length, mean: sum / rewards.length, min, max };
    if (labels) {
      // Counted by exact value: the two counts sum to the items exactly when every label is 1 or 0.
      let chosen = 0;
      let rejected = 0;
      for (const r of rewards) {
        if (r === LABEL_CHOSEN) chosen++;
        else if (r === LABEL_REJECTED) rejected++;
      }
      report.labels = { chosen, rejected };
    }
  }
  return report;
}

export async function trainRun(ctx: JobContext, runId: number): Promise<Record<string, unknown>> {
  const runs = new RunStore(ctx.db);
  const run = runs.get(runId);
  const cfg: RunConfig = run.config;
  const needs = lossNeeds(cfg.algo);
  const models = new ModelStore(ctx.db);
  // A run killed after storing its model and before its job could report it: resumed, it finds the
  // model its own (the source names the run) and keeps it, instead of refusing the name as taken.
  const storedEarlier = models.has(cfg.out) ? models.get(cfg.out) : null;
  if (storedEarlier && !storedEarlier.source.startsWith(`run ${runId}: `))
    throw new AppError('conflict', `a model named "${cfg.out}" exists already`);
  const initModel = models.get(cfg.init);
  const refModel = models.get(cfg.ref ?? cfg.init);
  const tokenizerOf = (m: typeof initModel) => readFileSync(join(modelFolder(ctx.paths, m), 'tokenizer.json'), 'utf8');
  if (tokenizerOf(initModel) !== tokenizerOf(refModel)) {
    throw new AppError(
      'invalid_input',
      `models "${initModel.name}" and "${refModel.name}" have different tokenizers; a run needs one`,
    );
  }
  const dir = join(ctx.paths.dir, 'runs', run.folder);
  mkdirSync(dir, { recursive: true });

  // The wasm heap's ceiling, checked before anything loads: the weights, their gradients unless
  // LoRA trains, pi_ref's copy where the run loads one apart from a LoRA base (trainingMemory.ts).
  if (tf.getBackend() === 'wasm') {
    const copies = cfg.lora ? 1 : 2 + (loadsReference(cfg.algo) ? 1 : 0);
    const shortfall = wasmHeapShortfall(initModel.parameters, copies);
    if (shortfall) throw new AppError('invalid_input', `model "${initModel.name}": ${shortfall}`);
  }
  ctx.progress({ phase: 'loading', done: 0, total: null });
  const { model: policy, tokenizer } = await loadModel(ctx.paths, initModel);
  // pi_ref's log-probs in the loss, or the value head fitted on it (a_lol_ref_free: only the latter).
  const usesReference = needs.referenceLogprobs || needs.valueHeadOnReference;
  // LoRA: only the adapters train, and the frozen base with them switched off is pi_ref (no second copy).
  let lora: LoraAdapters | null = null;
  try {
    lora = cfg.lora ? LoraAdapters.attach(policy, cfg.lora, new Rng(cfg.seed + 7919)) : null;
  } catch (error) {
    policy.dispose();
    throw new AppError('invalid_input', error instanceof Error ? error.message : String(error));
  }
  const reference = lora
    ? usesReference
      ? lora.reference()
      : null
    : usesReference
      ? (await loadModel(ctx.paths, refModel)).model
      : null;
  const trained: Trained = lora ?? policy;
  const eos = policy.config.eosTokenId;
  const context = policy.config.nPositions;
  const optimizer = new AdamW(trained.params, { lr: cfg.lr, weightDecay: cfg.weightDecay });
  try {
    // Data: the train split where the data has splits; held-out prompts feed the value head.
    const datasets = new DatasetStore(ctx.db);
    const dataset = datasets.get(cfg.data, cfg.dataVersion);
    checkRunData(cfg, dataset);
    let items: Item[] = [];
    let heldOut: Item[] = [];
    let heldOutFrom: 'validation split' | 'training prompts held out of training' = 'validation split';
    const pairs: PairItem[] = [];
    const encoded = new PackedExamples();
    // Runs stored before formats existed trained on the raw text; createRun stores every new run's.
    const format = cfg.format ?? 'raw';
    // Refuses a chat run whose model has no template (any more), naming the model.
    chooseFormat(format, { name: initModel.name, chatTemplate: tokenizer.chatTemplate !== undefined });
    const encode = (prompt: string, response: string, where: string) => {
      try {
        return encoded.push(encodeFormatted(tokenizer, eos, context, prompt, response, format));
      } catch (error) {
        throw new AppError(
          'invalid_input',
          `dataset "${dataset.name}" ${where}: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    };
    if (needs.pairs) {
      // Streamed from SQLite: only the encoded train pairs are held, not every row with its metadata.
      for (const p of datasets.eachPair(dataset.name, dataset.version)) {
        if ((splitOf(p.metadata) ?? 'train') !== 'train') continue;
        pairs.push({
          chosen: encode(p.prompt, p.chosen, `line ${p.line}`),
          rejected: encode(p.prompt, p.rejected, `line ${p.line}`),
        });
      }
      if (pairs.length === 0)
        throw new AppError('invalid_input', `dataset "${dataset.name}" has no preference pairs for ${cfg.algo}`);
    } else {
      // A pairs dataset's responses are single responses here, each with its pair's label as its data reward.
      // Streamed from SQLite, one row at a time: the train and validation rows (or, without
      // splits, all of them) are encoded as they come; other splits are never held.
      const rows = cfg.pairs
        ? pairResponses(datasets.eachPair(dataset.name, dataset.version), cfg.pairs)
        : exampleRows(datasets.eachExample(dataset.name, dataset.version));
      const bySplit = { train: [] as Item[], validation: [] as Item[], none: [] as Item[] };
      let hasSplits = false;
      for (const e of rows) {
        hasSplits ||= e.split !== null;
        const list =
          e.split === null ? bySplit.none : e.split === 'train' || e.split === 'validation' ? bySplit[e.split] : null;
        list?.push({
          prompt: e.prompt,
          response: e.response,
          example: encode(e.prompt, e.response, `prompt ${JSON.stringify(e.prompt.slice(0, 60))}`),
          reward: e.reward,
        });
      }
      items = hasSplits ? bySplit.train : bySplit.none;
      heldOut = hasSplits ? bySplit.validation : [];
      if (needs.signal === 'advantage' && heldOut.length === 0) {
        // V must be fitted on prompts the policy never trains on, or its estimate of those prompts'
        // returns leaks into their advantages: without a validation split, 10% of the training
        // prompts (seeded, by prompt) become the value head's targets and leave training.
        // By prompt text, not by the prompt's ids: a prompt too long for the context keeps as much
        // of its end as each response leaves room for, so the two responses of one pair may carry
        // different prompt ids, and a split by ids could train on one while holding out the other.
        // splitHeldOut keys rows by their ids: one number per distinct prompt text stands in.
        const promptNumber = new Map<string, number>();
        const keyed = items.map((item) => {
          let n = promptNumber.get(item.prompt);
          if (n === undefined) promptNumber.set(item.prompt, (n = promptNumber.size));
          return { item, promptIds: [n] };
        });
        const split = splitHeldOut(keyed, { fraction: VALUE_HOLD_OUT, seed: cfg.seed });
        heldOut = split.heldOut.map((r) => r.item);
        items = split.rest.map((r) => r.item);
        heldOutFrom = 'training prompts held out of training';
      }
      if (items.length === 0)
        throw new AppError('invalid_input', `dataset "${dataset.name}" has no examples to train ${cfg.algo} on`);
    }

    // Rewards: the data's column, or a function scoring every response.
    let rewards: Float32Array | null = null;
    let rewardSource = 'none';
    if (needs.signal !== null) {
      if (cfg.reward === 'column' || cfg.reward === LABEL_REWARD) {
        // checkRunData let label through only with pairs, whose every response carries its label.
        const missing = items.findIndex((i) => i.reward === null);
        if (missing >= 0)
          throw new AppError(
            'invalid_input',
            `${cfg.algo} needs rewards, and example ${missing + 1} of "${dataset.name}" has none: give --reward`,
          );
        rewards = Float32Array.from(items, (i) => i.reward as number);
        rewardSource = cfg.reward === LABEL_REWARD ? 'label (chosen 1, rejected 0)' : 'column:reward';
      } else {
        ctx.progress({ phase: 'scoring', done: 0, total: items.length });
        const fn = await loadReward(cfg.reward, { projectDir: ctx.paths.dir });
        const scored = await scoreAll(
          fn,
          items.map((i) => ({ prompt: i.prompt, response: i.response })),
        );
        rewards = Float32Array.from(scored.rewards);
        rewardSource = fn.name;
      }
    }

    // Advantages (A-LoL variants), cached in the run folder under a key of everything they depend on.
    let advantageReport: Record<string, unknown> | null = null;
    let positiveFraction = 1;
    let signal: Float32Array | null = rewards;
    if (needs.signal === 'advantage') {
      if (!reference || !rewards) throw new Error('advantages need the reference and rewards');
      const stage = await fitAdvantages(ctx, {
        dir,
        // A pair's label is the data's own reward, as a column is: no function to score the
        // reference's decodes, so V is fitted to the held-out responses' labels (rewardSpec keeps
        // "label" in the cache key).
        config: cfg.reward === LABEL_REWARD ? { ...cfg, reward: 'column' } : cfg,
        reference,
        referenceSha: refModel.weightsSha256,
        datasetVersionId: dataset.id,
        tokenizer,
        items: items.map((i, k) => ({ prompt: i.prompt, promptIds: encoded.prompt(i.example), reward: rewards![k]! })),
        heldOut: heldOut.map((i) => ({ prompt: i.prompt, promptIds: encoded.prompt(i.example), reward: i.reward })),
        heldOutFrom,
        rewardSpec: cfg.reward,
      });
      signal = stage.advantages;
      advantageReport = stage.report;
      positiveFraction = Number(stage.report.positiveFraction);
    }

    const sampler = samplerFor(needs.signal, {
      count: needs.pairs ? pairs.length : items.length,
      ...(signal && needs.signal === 'advantage' ? { advantages: signal } : {}),
      ...(signal && needs.signal === 'reward' ? { rewards: signal } : {}),
    });
    const totalSteps = needs.signal === 'advantage' ? stepsFor(cfg.steps, positiveFraction) : cfg.steps;
    const schedule =
      cfg.schedule === 'cosine'
        ? cosineWithWarmup({ lr: cfg.lr, warmupSteps: cfg.warmup, totalSteps })
        : constantSchedule(cfg.lr);

    // Resume from the newest checkpoint whose files match their manifest's hashes, or start from the
    // seed: a torn or damaged newer one is passed over for the one before it, and the steps between
    // are replayed to the same weights.
    const checkpointDir = join(dir, 'checkpoint');
    let rng = new Rng(cfg.seed);
    let step = 0;
    let last: Record<string, number> = {};
    const latest = readLatestCheckpoint(checkpointDir);
    for (const s of latest.skipped) console.error(`run ${runId}: checkpoint passed over: ${s.reason}`);
    const saved = latest.found?.state ?? null;
    if (saved) {
      if (saved.extra.format !== CHECKPOINT_FORMAT)
        throw new Error(
          `checkpoint in ${latest.found!.dir} has format ${String(saved.extra.format)}, expected ${CHECKPOINT_FORMAT}`,
        );
      restore(trained, optimizer, saved.optimizer, Number(saved.extra.optimizerStep));
      rng = new Rng(saved.rng);
      step = saved.step;
      last = (saved.extra.metrics as Record<string, number> | undefined) ?? {};
    }
    // Metrics logged after the checkpoint (with none, every one) are written anew.
    runs.rewindTo(runId, step);
    runs.progress(runId, step, totalSteps);
    const padId = eos;
    const batchOf = <T>(list: T[], idx: number[]) => idx.map((i) => list[i] as T);
    // Layers recomputed in the backward pass where keeping their activations would crowd the heap
    // (trainingMemory.ts): estimated at a micro-batch of the longest sequences this run has. The
    // policy's config is its family's (a CausalLm's is typed by what every family shares).
    const recompute = recomputeLayers(
      shapeOf(policy.config as ModelConfig),
      Math.ceil(cfg.batch / cfg.gradAccum),
      Math.min(policy.config.nPositions, encoded.longest()),
    );
    const referenceLogps = (idx: number[]): ReferenceLogps => {
      if (reference === null || (!needs.pairs && !needs.referenceLogprobs)) return {};
      if (needs.pairs) {
        const drawn = batchOf(pairs, idx);
        const side = (key: 'chosen' | 'rejected') =>
          sequenceLogprobs(
            reference,
            padRight(
              drawn.map((p) => encoded.get(p[key])),
              { padId },
            ),
          );
        return { chosen: side('chosen'), rejected: side('rejected') };
      }
      const examples = batchOf(items, idx).map((i) => encoded.get(i.example));
      return { lp: responseLogps(reference, examples, padId, null).lp };
    };

    const started = Date.now();
    let tokensSeen = 0;
    while (step < totalSteps) {
      // A step is synchronous TensorFlow.js work: yield once per step so a cancel message gets in.
      await new Promise<void>((resolve) => setImmediate(resolve));
      ctx.signal.throwIfAborted();
      const indices = sampler.drawMany(rng, cfg.batch);
      const groups: number[][] = [];
      const per = Math.ceil(indices.length / cfg.gradAccum);
      for (let i = 0; i < indices.length; i += per) groups.push(indices.slice(i, i + per));
      const micro = groups.map((idx) => ({ idx, dropoutSeed: rng.seed() }));
      const lossMetrics: Record<string, number[]> = {};
      // pi_ref's log-probs before the gradient tape: inside the loss, TF.js would record the
      // reference's whole forward pass, every activation kept until the backward pass, for
      // gradients no parameter needs.
      const refLogps = new Map(micro.map((mb) => [mb, referenceLogps(mb.idx)]));
      let result: ReturnType<typeof trainStep>;
      try {
        result = trainStep({
          params: trained.params,
          optimizer,
          microBatches: micro,
          lr: schedule(step),
          maxGradNorm: cfg.maxGradNorm,
          loss: (mb) => {
            const inputs: LossInputs = {};
            if (needs.pairs) {
              const drawn = batchOf(pairs, mb.idx);
              const chosen = padRight(
                drawn.map((p) => encoded.get(p.chosen)),
                { padId },
              );
              const rejected = padRight(
                drawn.map((p) => encoded.get(p.rejected)),
                { padId },
              );
              inputs.policyChosen = sequenceLogprobs(policy, chosen, {
                training: { dropoutSeed: mb.dropoutSeed },
                recompute,
              });
              inputs.policyRejected = sequenceLogprobs(policy, rejected, {
                training: { dropoutSeed: mb.dropoutSeed + 1 },
                recompute,
              });
              inputs.refChosen = refLogps.get(mb)!.chosen;
              inputs.refRejected = refLogps.get(mb)!.rejected;
              for (const p of drawn) tokensSeen += encoded.tokenCount(p.chosen) + encoded.tokenCount(p.rejected);
            } else {
              const examples = batchOf(items, mb.idx).map((i) => encoded.get(i.example));
              const { lp, mask } = responseLogps(policy, examples, padId, mb.dropoutSeed, recompute);
              inputs.lp = lp;
              inputs.mask = mask;
              for (const e of examples) tokensSeen += tokenCount(e);
              if (needs.referenceLogprobs) inputs.lpRef = refLogps.get(mb)!.lp;
              if (needs.signal === 'reward')
                inputs.reward = tf.tensor1d(mb.idx.map((i) => (rewards as Float32Array)[i]!));
              if (needs.signal === 'advantage')
                inputs.advantage = tf.tensor1d(mb.idx.map((i) => (signal as Float32Array)[i]!));
            }
            const { loss, metrics } = computeLoss(cfg.algo, inputs, {
              eps: cfg.eps,
              beta: cfg.beta,
              klBeta: cfg.klBeta,
            });
            for (const [name, value] of Object.entries(metrics)) (lossMetrics[name] ??= []).push(value);
            return loss;
          },
        });
      } finally {
        for (const refs of refLogps.values()) for (const t of Object.values(refs)) t.dispose();
      }
      step += 1;
      killPoint('step');
      const seconds = (Date.now() - started) / 1000;
      last = {
        loss: result.loss,
        grad_norm: result.gradNorm,
        learning_rate: schedule(step - 1),
        tokens_per_second: tokensSeen / Math.max(seconds, 1e-3),
        ...Object.fromEntries(
          Object.entries(lossMetrics)
            .filter(([n]) => n !== 'loss')
            .map(([n, v]) => [n, v.reduce((a, b) => a + b, 0) / v.length]),
        ),
      };
      runs.record(runId, step, totalSteps, last);
      ctx.emit({ name: 'runs.step', payload: { runId, step, totalSteps, metrics: last } });
      ctx.progress({ phase: 'training', done: step, total: totalSteps });
      if (step % cfg.checkpointEvery === 0 || step === totalSteps) {
        // The step's metrics go with it (the finite ones: JSON holds no NaN), for the summary of a run
        // resumed from its final checkpoint.
        const metrics = Object.fromEntries(Object.entries(last).filter(([, v]) => Number.isFinite(v)));
        writeCheckpoint(
          checkpointDir,
          {
            step,
            rng: rng.state(),
            optimizer: checkpointTensors(trained, optimizer),
            extra: { format: CHECKPOINT_FORMAT, optimizerStep: optimizer.step, runId, metrics },
          },
          { onStage: () => killPoint('checkpoint') },
        );
      }
    }

    ctx.progress({ phase: 'saving', done: totalSteps, total: totalSteps });
    // Under LoRA the stored model is the base with the adapters merged in (W + alpha/r B A), and the
    // PEFT adapter folder is kept beside it (adapter/) and in the run folder.
    const weights = lora ? lora.merged() : policy.weights();
    const loraNote = lora ? ` (${initModel.name} + LoRA r=${lora.config.r}, merged)` : '';
    if (lora) writePeftAdapter(join(dir, 'adapter'), lora, initModel.name);
    const store: typeof storeModel = storedEarlier ? () => Promise.resolve(storedEarlier) : storeModel;
    killPoint('saving');
    const stored = await store(
      ctx,
      {
        name: cfg.out,
        origin: 'trained',
        source: `run ${runId}: ${cfg.algo} on ${dataset.name} v${dataset.version}${loraNote}`,
        parentId: initModel.id,
        tokenizer: initModel.tokenizer,
      },
      async (folder) => {
        // The init model's config: a Llama config keeps its architecture, rope and end ids.
        const config = initModel.config as ModelConfig;
        writeModelFolder(folder, config, weights, { metadata: { run: String(runId), algo: cfg.algo } });
        // The init model's tokenizer files as they are (an imported tokenizer_config.json stays byte for byte).
        copyTokenizerFiles(modelFolder(ctx.paths, initModel), folder);
        if (lora) writePeftAdapter(join(folder, 'adapter'), lora, initModel.name);
        return config;
      },
    );
    killPoint('saving');
    const summary = {
      model: stored.name,
      steps: totalSteps,
      format,
      // Whether each layer's activations were recomputed in the backward pass (trainingMemory.ts).
      recomputeLayers: recompute,
      rewardSource,
      data: dataReport(
        needs.pairs ? 'pairs' : cfg.pairs ? `pairs (${cfg.pairs})` : 'examples',
        needs.pairs ? pairs.length : items.length,
        heldOut.length,
        rewards,
        cfg.reward === LABEL_REWARD && needs.signal !== null,
      ),
      finalMetrics: last,
      ...(advantageReport ? { advantages: advantageReport } : {}),
      ...(lora
        ? {
            lora: {
              ...lora.config,
              trainableParameters: [...lora.params.values()].reduce((n, v) => n + v.size, 0),
              adapterTensors: lora.params.size,
              baseTensors: policy.params.size,
              baseParameters: [...policy.params.values()].reduce((n, v) => n + v.size, 0),
              // Every tf.Variable alive: the one base model's weights and the adapters (and AdamW's
              // moments where they are tensors), no reference copy.
              tfVariables: Object.keys(tf.engine().state.registeredVariables).length,
              adapter: join('runs', run.folder, 'adapter'),
            },
          }
        : {}),
    };
    writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary, null, 2));
    return summary;
  } finally {
    optimizer.dispose();
    lora?.dispose();
    policy.dispose();
    reference?.dispose();
  }
}
