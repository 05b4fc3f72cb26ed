/** What a job's code is handed in the job process: its store, its project, and ways to report and stop. */
import type { JobProgress } from '../../shared/contract';
import type { StudioEvent } from '../core/eventBus';
import type { ProjectPaths } from '../core/project';
import type { Db } from '../db/openDb';

export interface JobContext {
  jobId: number;
  db: Db;
  paths: ProjectPaths;
  progress: (update: Pick<JobProgress, 'phase' | 'done' | 'total'> & { message?: string }) => void;
  /** Sends a contract event to the studio (run metrics as they come). */
  emit: (event: StudioEvent) => void;
  signal: AbortSignal;
}
