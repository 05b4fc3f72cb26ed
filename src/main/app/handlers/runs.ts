/**
 * The contract's run methods, and the two steps every run goes through (also taken by retraining):
 * createRun checks everything a config names and stores the run; startRunJob starts or resumes its
 * job, and the run's status follows the job's end.
 */
import { join } from 'node:path';
import { AppError, resumableErrorCodes, type Handlers, type RunConfig } from '../../../shared/contract';
import { loraTargetsProblem } from '../../../shared/lora';
import { chooseFormat } from '../../models/promptFormat';
import { checkRunData } from '../../alol/runData';
import { checkRewardModules } from '../../rewards/rewardSpec';
import type { RunStore } from '../../alol/runStore';
import { latestCheckpointStep } from '../../lm/checkpoint';
import type { DatasetStore } from '../../data/datasetStore';
import type { JobService } from '../../jobs/jobService';
import type { ModelStore } from '../../models/modelStore';

type RunMethods = 'runs.start' | 'runs.list' | 'runs.get' | 'runs.metrics' | 'runs.cancel' | 'runs.resume';

export interface RunLauncher {
  createRun(config: RunConfig): number;
  startRunJob(runId: number): number;
}

export function runLauncher(d: {
  runs: RunStore;
  models: ModelStore;
  datasets: DatasetStore;
  jobs: JobService;
  onSucceeded: (runId: number) => void;
  /** The project folder a reward's scoring modules must be in (checked when a run is created). */
  projectDir?: string;
}): RunLauncher {
  const { runs, models, datasets, jobs } = d;
  return {
    createRun(config) {
      if (models.has(config.out)) throw new AppError('conflict', `a model named "${config.out}" exists already`);
      const init = models.get(config.init);
      if (config.ref) models.get(config.ref);
      // Which targets fit depends on the init model's family (GPT-2: no gate; q, k, v fused).
      const loraProblem = config.lora && loraTargetsProblem(models.get(config.init).shape.family, config.lora.targets);
      if (loraProblem)
        throw new AppError('invalid_input', `lora.targets: ${loraProblem} (init model "${config.init}")`);
      if (config.reward && d.projectDir !== undefined) checkRewardModules(config.reward, d.projectDir);
      checkRunData(config, datasets.get(config.data, config.dataVersion));
      // The format is stored resolved: a run resumed later encodes as it started, whatever the default then.
      const format = chooseFormat(config.format, init);
      return runs.create({ ...config, format }, `run-${Date.now().toString(36)}`);
    },
    startRunJob(runId) {
      const jobId = jobs.start('train', { runId }, (job) => {
        if (job.status === 'succeeded') {
          runs.finish(runId, 'succeeded', { summary: job.result ?? {} });
          d.onSucceeded(runId);
        } else if (job.status === 'cancelled') {
          runs.finish(runId, 'cancelled', { error: job.error ?? { code: 'cancelled', message: 'cancelled' } });
        } else {
          // Stopped by accident (a crash, a lost GPU device): a resume continues it. Else it failed.
          const resumable = resumableErrorCodes.includes(job.error?.code ?? '');
          runs.finish(runId, resumable ? 'interrupted' : 'failed', {
            error: job.error ?? { code: 'failed', message: 'the run failed' },
          });
        }
      });
      runs.setJob(runId, jobId);
      return jobId;
    },
  };
}

export function runHandlers(d: {
  runs: RunStore;
  jobs: JobService;
  launcher: RunLauncher;
  /** The project folder, where a run's checkpoints are (runs/<folder>/checkpoint). */
  projectDir: string;
}): Pick<Handlers, RunMethods> {
  const { runs, jobs, launcher } = d;
  return {
    'runs.start': (config) => {
      const runId = launcher.createRun(config);
      return { runId, jobId: launcher.startRunJob(runId) };
    },
    'runs.list': () => runs.list(),
    'runs.get': ({ runId }) => {
      const run = runs.get(runId);
      return { ...run, lastCheckpoint: latestCheckpointStep(join(d.projectDir, 'runs', run.folder, 'checkpoint')) };
    },
    'runs.metrics': ({ runId, sinceStep }) => (runs.get(runId), runs.metrics(runId, sinceStep)),
    'runs.cancel': ({ runId }) => {
      const run = runs.get(runId);
      return { cancelled: run.status === 'running' && run.jobId !== null && jobs.cancel(run.jobId) };
    },
    'runs.resume': ({ runId }) => {
      const run = runs.get(runId);
      if (run.status === 'running' || run.status === 'succeeded')
        throw new AppError('conflict', `run ${runId} is ${run.status}; only a stopped run resumes`);
      return { runId, jobId: launcher.startRunJob(runId) };
    },
  };
}
