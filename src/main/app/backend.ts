/**
 * The studio backend: one project's database, services and handlers, composed once and served by
 * any adapter. Plain classes with their dependencies passed in, so the CLI, the HTTP server, the
 * Electron backend process and the tests all use the same instances.
 */
import { accessSync, constants } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDb, schemaVersion, type Db } from '../db/openDb';
import { ensureProject, type ProjectPaths } from '../core/project';
import { storageFailure } from '../core/storageErrors';
import { nameStore } from '../core/errors';
import { DatasetStore } from '../data/datasetStore';
import { UploadStore } from '../data/uploadStore';
import { JobStore } from '../jobs/jobStore';
import { JobService } from '../jobs/jobService';
import { EventBus } from '../core/eventBus';
import { createDispatch, type Dispatch } from './dispatch';
import { type AppInfo, type Handlers } from '../../shared/contract';
import { initTensorBackend, type ForcedTensorBackend } from '../lm/tensorBackend';
import { ModelStore } from '../models/modelStore';
import { RunStore } from '../alol/runStore';
import { SampleStore } from '../samples/sampleStore';
import { version } from '../core/version';
import { CampaignStore } from '../rating/campaignStore';
import { RatingService } from '../rating/ratingService';
import { createCampaign, createCampaignHandlers } from './handlers/campaigns';
import { dataHandlers } from './handlers/data';
import { modelHandlers } from './handlers/models';
import { resultHandlers } from './handlers/results';
import { runHandlers, runLauncher } from './handlers/runs';
import { sampleHandlers } from './handlers/samples';
import { Retrainer } from '../rating/retrain';

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

/**
 * The project's database; a read-only folder or a full disk says so, naming the file. SQLite says
 * only "unable to open database file" when it cannot create the WAL's shared-memory file beside
 * the database, so a failed open asks the folder itself whether it takes writes.
 */
function openProjectDb(file: string): Db {
  nameStore(file);
  try {
    return openDb(file);
  } catch (error) {
    throw storageFailure(error, file) ?? storageFailure(notWritable(dirname(file)), file) ?? error;
  }
}

function notWritable(dir: string): unknown {
  try {
    accessSync(dir, constants.W_OK);
    return null;
  } catch (error) {
    return error;
  }
}

export function createBackend(options: BackendOptions): Backend {
  const paths = ensureProject(options.projectDir);
  const db = openProjectDb(paths.db);
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
  // The launcher calls the retrainer when a run ends, long after both exist.
  const launcher = runLauncher({
    runs,
    models,
    datasets,
    jobs,
    onSucceeded: (runId) => retrainer.runEnded(runId),
    projectDir: paths.dir,
  });
  const campaigns = new CampaignStore(db);
  const ratings = new RatingService(db, campaigns);
  const retrainer = new Retrainer({
    db,
    datasets,
    models,
    runs,
    campaigns,
    createRun: launcher.createRun,
    startRunJob: launcher.startRunJob,
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
    ...dataHandlers({ datasets, uploads, jobs }),
    ...modelHandlers({ paths, models, datasets, jobs, db }),
    ...runHandlers({ runs, jobs, launcher, projectDir: paths.dir }),
    ...sampleHandlers({
      paths,
      models,
      datasets,
      samples,
      jobs,
      initTensors: () => initTensorBackend(options.forcedTensorBackend),
    }),
    ...createCampaignHandlers({ paths, db, jobs, models, datasets, campaigns, ratings, retrainer }),
    ...resultHandlers({ db, version }),
    'jobs.get': ({ jobId }) => jobStore.get(jobId),
    'jobs.list': ({ limit }) => jobStore.list(limit),
    'jobs.cancel': ({ jobId }) => ({ cancelled: jobs.cancel(jobId) }),
  };

  return {
    paths,
    db,
    campaigns,
    bus,
    dispatch: createDispatch(handlers, paths.db),
    jobs,
    close() {
      jobs.stopAll();
      db.close();
    },
  };
}
