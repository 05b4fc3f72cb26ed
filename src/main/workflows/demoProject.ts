/**
 * What `npm start` does with a project: the whole loop on the built-in demo task, step by step,
 * each step a job the studio shows as it runs: the demo dataset, a model made from it, the
 * reference (NLL), then A-LoL and an NLL baseline from the reference side by side (one per core),
 * their responses to the test prompts, and a rating campaign comparing them, ready for the local
 * annotator. Every step first looks for its result, so a later start (or one after a crash)
 * continues where the last stopped and a finished project is left as it is. A project with data
 * of its own and no demo dataset is not touched.
 */
import type { Backend } from '../app/backend';
import { AppError, type Input } from '../../shared/contract';
import { call, jobEnd } from '../app/calls';
import { DEMO } from '../../shared/demo';

export { DEMO };

/** Sizes of the loop: chosen so the whole of it takes a few minutes on 2 CPU cores (README). */
export interface DemoSizes {
  trainPrompts: number;
  model: Pick<Input<'models.create'>, 'layers' | 'dim' | 'heads' | 'context' | 'vocab'>;
  refSteps: number;
  steps: number;
  batch: number;
  lr: number;
  valueEpochs: number;
  maxNewTokens: number;
  items: number;
}

export const DEMO_SIZES: DemoSizes = {
  trainPrompts: 400,
  model: { layers: 2, dim: 128, heads: 4, context: 128, vocab: 512 },
  refSteps: 800,
  steps: 100,
  batch: 16,
  lr: 2e-3,
  valueEpochs: 10,
  maxNewTokens: 48,
  items: 24,
};

export interface DemoOutcome {
  campaign: string;
  annotator: number;
}

async function succeeded(backend: Backend, jobId: number, what: string): Promise<void> {
  const job = await jobEnd(backend, jobId);
  if (job.status !== 'succeeded')
    throw new AppError(job.error?.code ?? job.status, `${what}: ${job.error?.message ?? job.status}`);
}

/** Runs the loop; resolves with the campaign to rate and the local annotator, or null for a project that is not the demo's. */
export async function seedDemoProject(
  backend: Backend,
  log: (line: string) => void,
  sizes: DemoSizes = DEMO_SIZES,
): Promise<DemoOutcome | null> {
  const datasets = await call(backend, 'datasets.list', {});
  const models = await call(backend, 'models.list', {});
  const hasDemo = datasets.some((d) => d.name === DEMO.dataset);
  if (!hasDemo && (datasets.length > 0 || models.length > 0)) return null;
  const started = Date.now();
  const elapsed = () => `${Math.round((Date.now() - started) / 1000)} s`;
  const hasModel = async (name: string) => (await call(backend, 'models.list', {})).some((m) => m.name === name);

  // Progress lines for the terminal: each job's phase, at most every few seconds.
  let lastLine = 0;
  const off = backend.bus.subscribe((event) => {
    if (event.name !== 'jobs.progress' || Date.now() - lastLine < 5000) return;
    lastLine = Date.now();
    const p = event.payload;
    log(`  ${p.kind}: ${p.phase} ${p.done}${p.total ? `/${p.total}` : ''}`);
  });
  try {
    if (!hasDemo) {
      await call(backend, 'datasets.demo', { name: DEMO.dataset, trainPrompts: sizes.trainPrompts });
      log(
        `Demo: created the dataset "${DEMO.dataset}" (the built-in task: helpful and safe replies to scored prompts)`,
      );
    }
    if (!(await hasModel(DEMO.base))) {
      log(`Demo: creating the model "${DEMO.base}" (a tokenizer trained on the data, a fresh GPT-2)`);
      const { jobId } = await call(backend, 'models.create', {
        name: DEMO.base,
        dataset: DEMO.dataset,
        ...sizes.model,
        seed: 0,
      });
      await succeeded(backend, jobId, `creating ${DEMO.base}`);
    }
    const common = {
      data: DEMO.dataset,
      batch: sizes.batch,
      lr: sizes.lr,
      seed: 1,
      valueEpochs: sizes.valueEpochs,
      maxNewTokens: sizes.maxNewTokens,
    };
    await train(
      backend,
      log,
      { ...common, algo: 'nll', init: DEMO.base, out: DEMO.ref, steps: sizes.refSteps },
      'the reference policy (NLL on the data)',
    );
    // Two runs, one per core: wasm trains on one thread per process.
    await Promise.all([
      train(
        backend,
        log,
        { ...common, algo: 'a_lol', init: DEMO.ref, ref: DEMO.ref, out: DEMO.alol, steps: sizes.steps, reward: 'demo' },
        'A-LoL from the reference',
      ),
      train(
        backend,
        log,
        { ...common, algo: 'nll', init: DEMO.ref, out: DEMO.nll, steps: sizes.steps },
        'the NLL baseline from the reference',
      ),
    ]);
    const campaigns = await call(backend, 'campaigns.list', {});
    let campaign = campaigns.find((c) => c.name === DEMO.campaign);
    if (!campaign || campaign.status === 'failed') {
      const name = campaign ? `${DEMO.campaign}-${campaigns.length + 1}` : DEMO.campaign;
      log(`Demo: sampling both models on ${sizes.items} test prompts for the campaign "${name}"`);
      const { jobId } = await call(backend, 'campaigns.create', {
        name,
        models: [DEMO.alol, DEMO.nll],
        prompts: { dataset: DEMO.dataset, split: 'test' },
        n: sizes.items,
        gold: 2,
        repeatSwapped: 0.1,
        seed: 1,
        settings: { maxNewTokens: sizes.maxNewTokens },
      });
      await succeeded(backend, jobId, `preparing campaign ${name}`);
      campaign = await call(backend, 'campaigns.get', { campaign: name });
    } else if (campaign.status === 'preparing' && campaign.jobId !== null) {
      await jobEnd(backend, campaign.jobId);
    }
    const { annotator } = await call(backend, 'annotators.add', {
      campaign: campaign.name,
      name: DEMO.annotator,
      link: false,
    });
    log(
      `Demo: ready to rate in ${elapsed()}: campaign "${campaign.name}" (${DEMO.alol} against ${DEMO.nll}, sides hidden and shuffled)`,
    );
    return { campaign: campaign.name, annotator: annotator.id };
  } finally {
    off();
  }
}

/** Trains `out` unless it exists; a run of it that stopped is resumed from its last checkpoint. */
async function train(
  backend: Backend,
  log: (line: string) => void,
  config: Input<'runs.start'>,
  what: string,
): Promise<void> {
  if ((await call(backend, 'models.list', {})).some((m) => m.name === config.out)) return;
  const stopped = (await call(backend, 'runs.list', {})).find(
    (r) => r.outModel === config.out && r.status !== 'succeeded' && r.status !== 'running',
  );
  log(`Demo: ${stopped ? 'resuming' : 'training'} "${config.out}": ${what}, ${config.steps} steps`);
  const { runId, jobId } = stopped
    ? await call(backend, 'runs.resume', { runId: stopped.id })
    : await call(backend, 'runs.start', config);
  await succeeded(backend, jobId, `run ${runId} (${config.out})`);
}
