import type { AppErrorShape, JobKind, JobProgress } from '../../shared/contract';
import type { StudioEvent } from '../core/eventBus';

/** Messages between the backend and a job process, over the fork IPC channel. */
export type ToJob =
  { type: 'start'; jobId: number; kind: JobKind; params: unknown; projectDir: string } | { type: 'cancel' };

export type FromJob =
  | ({ type: 'progress' } & Pick<JobProgress, 'phase' | 'done' | 'total' | 'message'>)
  | { type: 'event'; event: StudioEvent }
  | { type: 'result'; result: Record<string, unknown> }
  | { type: 'error'; error: AppErrorShape };
