/**
 * The studio backend: one project's database, services and handlers, composed once and served by
 * any adapter. Plain classes with their dependencies passed in, so the CLI, the HTTP server, the
 * Electron backend process and the tests all use the same instances.
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDb, schemaVersion, type Db } from '../db/openDb';
import { ensureProject, type ProjectPaths } from '../core/project';
import { DatasetStore } from '../data/datasetStore';
import { UploadStore } from '../data/uploadStore';
import { JobStore } from '../jobs/jobStore';
import { JobService } from '../jobs/jobService';
import { EventBus } from '../core/eventBus';
import { createDispatch, type Dispatch } from './dispatch';
import { AppError, type AppInfo, type Handlers, type RunConfig } from '../../shared/contract';
import { initTensorBackend, type ForcedTensorBackend } from '../lm/tensorBackend';
import { ModelStore } from '../models/modelStore';
import { RunStore } from '../alol/runStore';
import { checkRunData } from '../alol/runData';
import { storeDemoTask } from '../data/demo/storeDemo';
import { SampleStore } from '../samples/sampleStore';
import { loadReward, scoreAll } from '../rewards/index';
import { exportModel, modelFolder, tokenize } from '../models/modelOps';
import { ratingsContent } from '../rating/exportRatings';
import { version } from '../core/version';
import { CampaignStore } from '../rating/campaignStore';
import { RatingService } from '../rating/ratingService';
import { createCampaign, createCampaignHandlers } from './handlers/campaigns';
import { campaignResults } from '../report/results';
import { Retrainer } from '../rating/retrain';
import { browseItems } from '../rating/itemBrowser';

export interface BackendOptions {
  projectDir: string;
  shell: AppInfo['shell'];
  /** A tensor backend the user forced (--backend, ALOL_BACKEND); jobs get the same. */
  forcedTensorBackend: ForcedTensorBackend | null;
  /** The built job entry; defaults to job.js beside the running bundle. */
  jobEntry?: string;
  /** How the HTTP server serving this backend is bound (app.info's `server`); none outside HTTP. */
  server?: () => AppInfo['server'];
}

export interface Backend {
  paths: ProjectPaths;
  db: Db;
  campaigns: CampaignStore;
  bus: EventBus;
  dispatch: Dispatch;
  jobs: JobService;
  close(): void;
}

export function defaultJobEntry(): string {
  return fileURLToPath(new URL('./job.js', import.meta.url));
}

export function createBackend(options: BackendOptions): Backend {
  const paths = ensureProject(options.projectDir);
  const db = openDb(paths.db);
  const bus = new EventBus();
  const datasets = new DatasetStore(db);
  const uploads = new UploadStore(paths.uploads);
  const jobStore = new JobStore(db);
  jobStore.markInterrupted();
  const jobs = new JobService({
    store: jobStore,
    bus,
    projectDir: paths.dir,
    entry: options.jobEntry ?? defaultJobEntry(),
    env: options.forcedTensorBackend ? { ALOL_BACKEND: options.forcedTensorBackend.name } : {},
  });
  const models = new ModelStore(db);
  const runs = new RunStore(db);
  const samples = new SampleStore(db);
  runs.markInterrupted();
  /** Starts (or resumes) a run's job; the run's status follows the job's end. */
  const startRunJob = (runId: number): number => {
    const jobId = jobs.start('train', { runId }, (job) => {
      if (job.status === 'succeeded') {
        runs.finish(runId, 'succeeded', { summary: job.result ?? {} });
        // Defined below (it starts runs through this function); a job ends long after both exist.
        retrainer.runEnded(runId);
      } else if (job.status === 'cancelled') {
        runs.finish(runId, 'cancelled', { error: job.error ?? { code: 'cancelled', message: 'cancelled' } });
      } else {
        const crashed = job.error?.code === 'crashed' || job.error?.code === 'interrupted';
        runs.finish(runId, crashed ? 'interrupted' : 'failed', { error: job.error ?? { code: 'failed', message: 'the run failed' } });
      }
    });
    runs.setJob(runId, jobId);
    return jobId;
  };

  /** A run's row, after checking everything it names exists (and its output does not). */
  const createRun = (config: RunConfig): number => {
    if (models.has(config.out)) throw new AppError('conflict', `a model named "${config.out}" exists already`);
    models.get(config.init);
    if (config.ref) models.get(config.ref);
    checkRunData(config, datasets.get(config.data, config.dataVersion));
    return runs.create(config, `run-${Date.now().toString(36)}`);
  };
  const campaigns = new CampaignStore(db);
  const ratings = new RatingService(db, campaigns);
  const retrainer = new Retrainer({
    db,
    datasets,
    models,
    runs,
    campaigns,
    createRun,
    startRunJob,
    createCampaign: (input) => void createCampaign({ db, jobs, models, datasets, campaigns }, input),
  });
  retrainer.recover();

  const handlers: Handlers = {
    'app.info': async () => ({
      version,
      projectDir: paths.dir,
      schemaVersion: schemaVersion(db),
      shell: options.shell,
      tensorBackend: await initTensorBackend(options.forcedTensorBackend),
      server: options.server?.() ?? null,
    }),
    'datasets.list': () => datasets.list(),
    'datasets.get': ({ dataset, version }) => datasets.get(dataset, version),
    'datasets.demo': ({ name, seed, trainPrompts }) => {
      storeDemoTask(datasets, name, { seed, trainPrompts });
      return datasets.get(name);
    },
    'datasets.examples': ({ dataset, version, offset, limit }) => datasets.examples(dataset, version, offset, limit),
    'datasets.pairs': ({ dataset, version, offset, limit }) => datasets.pairs(dataset, version, offset, limit),
    'uploads.create': ({ fileName, size }) => ({ uploadId: uploads.create(fileName, size) }),
    'uploads.append': ({ uploadId, offset, base64 }) => ({ received: uploads.append(uploadId, offset, base64) }),
    'imports.start': ({ source, name, format, fields }) => {
      const file =
        source.kind === 'upload' ? uploads.resolve(source.uploadId) : { path: source.path, fileName: basename(source.path) };
      const cleanup = source.kind === 'upload' ? () => uploads.remove(source.uploadId) : undefined;
      const jobId = jobs.start('import', { path: file.path, displayName: file.fileName, name, format, fields }, cleanup);
      return { jobId };
    },
    'models.list': () => models.list(),
    'models.get': ({ model }) => models.get(model),
    'models.import': ({ path, name }) => {
      if (models.has(name)) throw new AppError('conflict', `a model named "${name}" exists already`);
      return { jobId: jobs.start('model.import', { path, name }) };
    },
    'models.create': (input) => {
      if (models.has(input.name)) throw new AppError('conflict', `a model named "${input.name}" exists already`);
      datasets.get(input.dataset, input.version);
      return { jobId: jobs.start('model.create', input) };
    },
    'models.export': ({ model, path }) => exportModel(paths, models.get(model), path),
    'models.download': ({ model, file }) => ({ filename: file, base64: readFileSync(join(modelFolder(paths, models.get(model)), file)).toString('base64') }),
    'ratings.download': ({ campaign, format, criterion, rule, helpfulWeight }) => {
      const { rows, content, card } = ratingsContent(db, campaigns.get(campaign), format, { rule, helpfulWeight }, criterion);
      const base = `${campaign}-${format}${criterion === 'both' ? '' : `-${criterion}`}`;
      return { filename: `${base}.jsonl`, content, rows, card: { filename: `${base}.card.md`, content: card } };
    },
    'models.tokenize': ({ model, text }) => tokenize(paths, models.get(model), text),
    'models.logprobs': (input) => {
      models.get(input.model);
      return { jobId: jobs.start('logprobs', input) };
    },
    'models.generate': (input) => {
      models.get(input.model);
      return { jobId: jobs.start('generate', input) };
    },
    'runs.start': (config) => {
      const runId = createRun(config);
      return { runId, jobId: startRunJob(runId) };
    },
    'runs.list': () => runs.list(),
    'runs.get': ({ runId }) => runs.get(runId),
    'runs.metrics': ({ runId, sinceStep }) => (runs.get(runId), runs.metrics(runId, sinceStep)),
    'runs.cancel': ({ runId }) => {
      const run = runs.get(runId);
      return { cancelled: run.status === 'running' && run.jobId !== null && jobs.cancel(run.jobId) };
    },
    'runs.resume': ({ runId }) => {
      const run = runs.get(runId);
      if (run.status === 'running' || run.status === 'succeeded') throw new AppError('conflict', `run ${runId} is ${run.status}; only a stopped run resumes`);
      return { runId, jobId: startRunJob(runId) };
    },
    'samples.create': (input) => {
      models.get(input.model);
      if ('dataset' in input.prompts) datasets.get(input.prompts.dataset, input.prompts.version);
      return { jobId: jobs.start('sample', input) };
    },
    'samples.list': ({ model, source, offset, limit }) => samples.page({ model, source }, offset, limit),
    'rewards.score': async ({ reward, dataset, version, items }) => {
      const fn = await loadReward(reward, { projectDir: paths.dir, initTensors: () => initTensorBackend(options.forcedTensorBackend) });
      // A dataset's responses: its examples', then each pair's chosen and rejected (a preference file is pairs only).
      const rows = items ?? [
        ...[...datasets.eachExample(dataset as string, version)].map((e) => ({ prompt: e.prompt, response: e.response })),
        ...[...datasets.eachPair(dataset as string, version)].flatMap((p) => [
          { prompt: p.prompt, response: p.chosen },
          { prompt: p.prompt, response: p.rejected },
        ]),
      ];
      const scored = await scoreAll(fn, rows);
      const mean = scored.rewards.length > 0 ? scored.rewards.reduce((a, b) => a + b, 0) / scored.rewards.length : null;
      return {
        source: scored.source,
        count: rows.length,
        mean,
        rows: rows.map((r, i) => ({
          ...r,
          reward: scored.rewards[i] as number,
          components: Object.fromEntries(Object.entries(scored.components).map(([name, column]) => [name, column[i] as number])),
        })),
      };
    },
    ...createCampaignHandlers({ paths, db, jobs, models, datasets, campaigns, ratings, retrainer }),
    'campaigns.browse': (input) => browseItems(db, campaigns.get(input.campaign).id, input),
    'campaigns.retrainPlan': (input) => retrainer.plan(input),
    'results.get': (input) => campaignResults(db, input),
    'jobs.get': ({ jobId }) => jobStore.get(jobId),
    'jobs.list': ({ limit }) => jobStore.list(limit),
    'jobs.cancel': ({ jobId }) => ({ cancelled: jobs.cancel(jobId) }),
  };

  return {
    paths,
    db,
    campaigns,
    bus,
    dispatch: createDispatch(handlers),
    jobs,
    close() {
      jobs.stopAll();
      db.close();
    },
  };
}
