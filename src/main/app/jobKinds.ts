/**
 * What each kind of job does, given its parameters. Runs in a job process, one job per process.
 * A plain switch keeps every kind in sight; parameters are parsed again here because they cross a
 * process boundary.
 */
import { z } from 'zod';
import type { JobContext } from '../jobs/jobContext';
import { DatasetStore } from '../data/datasetStore';
import { importFile } from '../data/importService';
import { initTensorBackend, requestedTensorBackend } from '../lm/tensorBackend';
import { createModel, generateText, importModel, scoreLogprobs } from '../models/modelOps';
import { trainRun } from '../alol/trainRun';
import { sampleJob } from '../samples/sampleJob';
import { campaignJob } from '../rating/campaignJob';
import { rewardModelJob } from '../rating/rewardModelTraining';
import {
  datasetName,
  FieldMapping,
  ImportFormat,
  methods,
  ModelSummary,
  type JobKind,
} from '../../shared/contract';

export const ImportJobParams = z
  .object({ path: z.string(), displayName: z.string(), name: datasetName, format: ImportFormat, fields: FieldMapping })
  .strict();
export type ImportJobParams = z.infer<typeof ImportJobParams>;


/** The tensor backend for jobs that need one: the same choice, and the same override, as the studio's. */
async function startTensorBackend(): Promise<string> {
  return (await initTensorBackend(requestedTensorBackend(undefined, process.env))).chosen;
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
      await startTensorBackend();
      return ModelSummary.parse(await createModel(ctx, methods['models.create'].input.parse(params)));
    }
    case 'generate': {
      const tensorBackend = await startTensorBackend();
      return { ...(await generateText(ctx, methods['models.generate'].input.parse(params))), tensorBackend };
    }
    case 'train': {
      await startTensorBackend();
      return trainRun(ctx, z.object({ runId: z.number().int().positive() }).parse(params).runId);
    }
    case 'sample': {
      await startTensorBackend();
      return sampleJob(ctx, methods['samples.create'].input.parse(params));
    }
    case 'campaign': {
      await startTensorBackend();
      return campaignJob(ctx, z.object({ campaignId: z.number().int().positive() }).parse(params).campaignId);
    }
    case 'reward-model': {
      const tensorBackend = await startTensorBackend();
      return { ...(await rewardModelJob(ctx, params)), tensorBackend };
    }
    case 'logprobs': {
      const tensorBackend = await startTensorBackend();
      const p = methods['models.logprobs'].input.parse(params);
      return { ...(await scoreLogprobs(ctx, p)), tensorBackend };
    }
  }
}
