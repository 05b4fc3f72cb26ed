/**
 * What each kind of job does, given its parameters. Runs wherever it is called: in the job process
 * for the UI, in-process for the CLI. The trainer-style plain switch keeps every kind in sight.
 */
import { z } from 'zod';
import type { Db } from '../db/openDb';
import { DatasetStore } from '../data/datasetStore';
import { importFile } from '../data/importService';
import { datasetName, FieldMapping, ImportFormat, type JobProgress } from '../../shared/contract';

export const ImportJobParams = z
  .object({ path: z.string(), displayName: z.string(), name: datasetName, format: ImportFormat, fields: FieldMapping })
  .strict();
export type ImportJobParams = z.infer<typeof ImportJobParams>;

export interface JobContext {
  db: Db;
  progress: (update: Pick<JobProgress, 'phase' | 'done' | 'total'> & { message?: string }) => void;
  signal: AbortSignal;
}

export async function runJob(kind: 'import', params: unknown, ctx: JobContext): Promise<Record<string, unknown>> {
  switch (kind) {
    case 'import': {
      const p = ImportJobParams.parse(params);
      return importFile(new DatasetStore(ctx.db), {
        ...p,
        signal: ctx.signal,
        onProgress: (phase, done, total) => ctx.progress({ phase, done, total }),
      });
    }
  }
}
