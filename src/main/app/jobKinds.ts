/**
 * What each kind of job does, given its parameters. Runs in a job process, one job per process.
 * A plain switch keeps every kind in sight; parameters are parsed again here because they cross a
 * process boundary.
 */
import { z } from 'zod';
import type { Db } from '../db/openDb';
import type { ProjectPaths } from '../core/project';
import { DatasetStore } from '../data/datasetStore';
import { importFile } from '../data/importService';
import { initBackend, requestedBackend } from '../lm/tensorBackend';
import { createModel, generateText, importModel, scoreLogprobs } from '../models/modelOps';
import { trainRun } from '../alol/trainRun';
import { sampleJob } from '../samples/sampleJob';
import { campaignJob } from '../rating/campaignJob';
import { rewardModelJob } from '../rewards/rewardModel';
import type { StudioEvent } from '../core/eventBus';
import {
  datasetName,
  FieldMapping,
  ImportFormat,
  methods,
  ModelSummary,
  type JobKind,
  type JobProgress,
} from '../../shared/contract';

export const ImportJobParams = z
  .object({ path: z.string(), displayName: z.string(), name: datasetName, format: ImportFormat, fields: FieldMapping })
  .strict();
export type ImportJobParams = z.infer<typeof ImportJobParams>;

export interface JobContext {
  jobId: number;
  db: Db;
  paths: ProjectPaths;
  progress: (update: Pick<JobProgress, 'phase' | 'done' | 'total'> & { message?: string }) => void;
  /** Sends a contract event to the studio (run metrics as they come). */
  emit: (event: StudioEvent) => void;
  signal: AbortSignal;
}

/** The tensor backend for jobs that need one: the same choice, and the same override, as the studio's. */
async function tensorBackend(): Promise<string> {
  return (await initBackend(requestedBackend(undefined, process.env))).chosen;
}

export async function runJob(kind: JobKind, params: unknown, ctx: JobContext): Promise<Record<string, unknown>> {
  switch (kind) {
    case 'import': {
      const p = ImportJobParams.parse(params);
      return importFile(new DatasetStore(ctx.db), {
        ...p,
        signal: ctx.signal,
        onProgress: (phase, done, total) => ctx.progress({ phase, done, total }),
      });
    }
    case 'model.import':
      return ModelSummary.parse(await importModel(ctx, methods['models.import'].input.parse(params)));
    case 'model.create': {
      await tensorBackend();
      return ModelSummary.parse(await createModel(ctx, methods['models.create'].input.parse(params)));
    }
    case 'generate': {
      const backend = await tensorBackend();
      return { ...(await generateText(ctx, methods['models.generate'].input.parse(params))), backend };
    }
    case 'train': {
      await tensorBackend();
      return trainRun(ctx, z.object({ runId: z.number().int().positive() }).parse(params).runId);
    }
    case 'sample': {
      await tensorBackend();
      return sampleJob(ctx, methods['samples.create'].input.parse(params));
    }
    case 'campaign': {
      await tensorBackend();
      return campaignJob(ctx, z.object({ campaignId: z.number().int().positive() }).parse(params).campaignId);
    }
    case 'reward-model': {
      const backend = await tensorBackend();
      return { ...(await rewardModelJob(ctx, params)), backend };
    }
    case 'logprobs': {
      const backend = await tensorBackend();
      const p = methods['models.logprobs'].input.parse(params);
      return { ...(await scoreLogprobs(ctx, p)), backend };
    }
  }
}
