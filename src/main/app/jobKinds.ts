/**
 * What each kind of job does, given its parameters. Runs in a job process, one job per process.
 * A plain switch keeps every kind in sight; parameters are parsed again here because they cross a
 * process boundary.
 */
import { join } from 'node:path';
import { z } from 'zod';
import type { JobContext } from '../jobs/jobContext';
import { DatasetStore } from '../data/datasetStore';
import { importFile } from '../data/importService';
import { initTensorBackend, requestedTensorBackend } from '../lm/tensorBackend';
import { adapterSummary, assertWebgpuAlive } from '../lm/webgpu';
import { latestCheckpointStep } from '../lm/checkpoint';
import { engineFailure, type FailureContext } from '../jobs/engineFailure';
import { RunStore } from '../alol/runStore';
import { createModel, generateText, importModel, scoreLogprobs } from '../models/modelOps';
import { trainRun } from '../alol/trainRun';
import { sampleJob } from '../samples/sampleJob';
import { campaignJob } from '../rating/campaignJob';
import { rewardModelJob } from '../rating/rewardModelTraining';
import {
  AppError,
  datasetName,
  FieldMapping,
  ImportFormat,
  methods,
  ModelSummary,
  parseJobResult,
  type JobKind,
  type JobResult,
  type JobResults,
  type TensorBackendName,
  type TensorBackendReport,
} from '../../shared/contract';

export const ImportJobParams = z
  .object({ path: z.string(), displayName: z.string(), name: datasetName, format: ImportFormat, fields: FieldMapping })
  .strict();
export type ImportJobParams = z.infer<typeof ImportJobParams>;

/** The backend this job process computes on, once started: what an engine failure is read against. */
let backendInUse: TensorBackendReport | null = null;

/** The tensor backend for jobs that need one: the same choice, and the same override, as the studio's. */
async function startTensorBackend(): Promise<TensorBackendName> {
  backendInUse = await initTensorBackend(requestedTensorBackend(undefined, process.env));
  return backendInUse.chosen;
}

/**
 * Runs one job's code, in the job process, and returns its result as the job's kind promises it.
 * An engine failure (out of memory, a lost GPU device) ends it with a clear message (engineFailure).
 */
export async function executeJob<K extends JobKind>(kind: K, params: unknown, ctx: JobContext): Promise<JobResult<K>> {
  try {
    const result = await execute(kind, params, ctx);
    // A device fault after the job's last read would leave its results computed on nothing.
    assertWebgpuAlive();
    return checkedResult(kind, result);
  } catch (error) {
    throw (await engineFailure(error, failureContext(kind, params, ctx))) ?? error;
  }
}

function failureContext(kind: JobKind, params: unknown, ctx: JobContext): FailureContext {
  const context: FailureContext = { backend: backendInUse?.chosen ?? null, what: `the ${kind} job`, kind };
  const runId = kind === 'train' ? (params as { runId?: unknown }).runId : undefined;
  if (typeof runId !== 'number') return context;
  try {
    const checkpointStep = lastCheckpoint(ctx, runId);
    return { ...context, what: `run ${runId}`, resume: { command: `alol run resume ${runId}`, checkpointStep } };
  } catch {
    return context;
  }
}

/** The step of a run's last whole checkpoint (trainRun keeps them in runs/<folder>/checkpoint), or null. */
function lastCheckpoint(ctx: JobContext, runId: number): number | null {
  return latestCheckpointStep(join(ctx.paths.dir, 'runs', new RunStore(ctx.db).get(runId).folder, 'checkpoint'));
}

/** Keeps on the run the backend (and WebGPU adapter) its job computes on. */
function recordRunBackend(ctx: JobContext, runId: number): void {
  const report = backendInUse;
  if (!report) return;
  new RunStore(ctx.db).recordBackend(runId, {
    backend: report.chosen,
    adapter: report.adapter ? adapterSummary(report.adapter) : null,
    // Where training goes on from: the last checkpoint, or the start.
    fromStep: lastCheckpoint(ctx, runId) ?? 0,
  });
}

/**
 * A result as it will arrive, checked against its kind's schema before it leaves the job process:
 * it crosses as JSON (a NaN arrives as null), and a shape the contract does not promise fails the
 * job here rather than a reader later.
 */
export function checkedResult<K extends JobKind>(kind: K, result: unknown): JobResult<K> {
  const parsed = parseJobResult(kind, result === undefined ? undefined : JSON.parse(JSON.stringify(result)));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(result)'}: ${i.message}`).join('; ');
    throw new AppError('internal', `the ${kind} job's result does not match the contract: ${problems}`);
  }
  return parsed.data;
}

/** The job's code; results of functions typed as a plain record are checked by checkedResult alone. */
async function execute(kind: JobKind, params: unknown, ctx: JobContext): Promise<unknown> {
  switch (kind) {
    case 'import': {
      const p = ImportJobParams.parse(params);
      return (await importFile(new DatasetStore(ctx.db), {
        ...p,
        signal: ctx.signal,
        onProgress: (phase, done, total) => ctx.progress({ phase, done, total }),
      })) satisfies JobResults['import'];
    }
    case 'model.import':
      return ModelSummary.parse(await importModel(ctx, methods['models.import'].input.parse(params)));
    case 'model.create': {
      await startTensorBackend();
      return ModelSummary.parse(await createModel(ctx, methods['models.create'].input.parse(params)));
    }
    case 'generate': {
      const tensorBackend = await startTensorBackend();
      return {
        ...(await generateText(ctx, methods['models.generate'].input.parse(params))),
        tensorBackend,
      } satisfies JobResults['generate'];
    }
    case 'train': {
      const { runId } = z.object({ runId: z.number().int().positive() }).parse(params);
      await startTensorBackend();
      recordRunBackend(ctx, runId);
      return await trainRun(ctx, runId);
    }
    case 'sample': {
      const tensorBackend = await startTensorBackend();
      return { ...(await sampleJob(ctx, methods['samples.create'].input.parse(params))), tensorBackend };
    }
    case 'campaign': {
      await startTensorBackend();
      return await campaignJob(ctx, z.object({ campaignId: z.number().int().positive() }).parse(params).campaignId);
    }
    case 'reward-model': {
      const tensorBackend = await startTensorBackend();
      return { ...(await rewardModelJob(ctx, params)), tensorBackend };
    }
    case 'logprobs': {
      const tensorBackend = await startTensorBackend();
      const p = methods['models.logprobs'].input.parse(params);
      return { ...(await scoreLogprobs(ctx, p)), tensorBackend } satisfies JobResults['logprobs'];
    }
  }
}
