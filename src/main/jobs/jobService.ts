/**
 * Runs jobs in their own processes (child_process.fork of the built job entry) and turns their
 * messages into contract events. The backend stays responsive whatever a job does, and a job that
 * dies is recorded as failed rather than left running.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import type { EventBus } from '../core/eventBus';
import type { JobStore } from './jobStore';
import type { FromJob, ToJob } from './jobMessages';
import { events, type AppErrorShape, type Job } from '../../shared/contract';

const CANCEL_GRACE_MS = 5000;
/** How often the end of a job is written again while the store refuses it (a full disk). */
const RECORD_RETRY_MS = 2000;

/**
 * Runs `record` (a job's end, written to the store) now, and while the store refuses it (a full
 * disk, a read-only folder) again every RECORD_RETRY_MS, instead of throwing out of a child
 * process's event handler, which would end the whole studio. Meanwhile the job reads as running; a
 * studio stopped before the write lands marks it interrupted at its next start, as after a crash.
 */
function untilStored(jobId: number, record: () => void): void {
  try {
    record();
  } catch (error) {
    console.error(
      `job ${jobId} ended, but its end could not be stored yet (trying again): ${(error as Error).message}`,
    );
    setTimeout(() => untilStored(jobId, record), RECORD_RETRY_MS).unref();
  }
}
/** Nice value of job processes (0 is the server's own; 19 the lowest priority). */
const JOB_NICENESS = 10;

export interface JobServiceOptions {
  store: JobStore;
  bus: EventBus;
  projectDir: string;
  /** Extra environment for job processes (a forced tensor backend). */
  env?: NodeJS.ProcessEnv;
  /** The built job entry (out/main/job.js). */
  entry: string;
  /** The Node binary for job processes: always plain Node, so native modules load as built. */
  execPath?: string;
}

export class JobService {
  private readonly running = new Map<number, { child: ChildProcess; cancelled: boolean }>();

  constructor(private readonly options: JobServiceOptions) {}

  /** Starts a job and returns its id at once; `cleanup` runs when it ends, however it ends. */
  start(kind: Job['kind'], params: Record<string, unknown>, cleanup?: (job: Job) => void): number {
    const { store, bus } = this.options;
    const jobId = store.create(kind, params);
    const child = fork(this.options.entry, [], {
      execPath: this.options.execPath ?? process.execPath,
      env: { ...process.env, ...this.options.env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // A job is plain Node running the built entry: no loader hooks of the parent (tsx, vitest).
      execArgv: [],
    });
    // Jobs are batch work (training, sampling, imports): below the server's priority, so annotators'
    // requests are answered first on a busy machine (bench/serve-load.bench.ts).
    if (child.pid !== undefined) {
      try {
        setPriority(child.pid, JOB_NICENESS);
      } catch {
        // Not permitted here (some containers): the job runs at the server's priority.
      }
    }
    const entry = { child, cancelled: false };
    this.running.set(jobId, entry);
    let outcome: { result: Record<string, unknown> } | { error: AppErrorShape } | null = null;

    child.on('message', (message: FromJob) => {
      if (message.type === 'progress') {
        bus.emit('jobs.progress', {
          jobId,
          kind,
          phase: message.phase,
          done: message.done,
          total: message.total,
          ...(message.message ? { message: message.message } : {}),
        });
      } else if (message.type === 'event') {
        // A job's events cross a process boundary: only what the contract allows goes on.
        const { name, payload } = message.event;
        const parsed = events[name]?.safeParse(payload);
        if (parsed?.success) bus.publish(message.event);
        else console.error(`job ${jobId} sent a ${String(name)} event outside the contract`);
      } else if (message.type === 'result') outcome = { result: message.result };
      else outcome = { error: message.error };
    });
    const record = (exit: string) => {
      const job = entry.cancelled
        ? store.finish(jobId, 'cancelled', { error: { code: 'cancelled', message: 'cancelled by the user' } })
        : outcome && 'result' in outcome
          ? store.finish(jobId, 'succeeded', { result: outcome.result })
          : store.finish(jobId, 'failed', {
              error: outcome?.error ?? { code: 'crashed', message: `the job process ended without a result (${exit})` },
            });
      cleanup?.(job);
      bus.emit('jobs.finished', job);
    };
    const finish = (exit: string) => {
      if (!this.running.delete(jobId)) return;
      untilStored(jobId, () => record(exit));
    };
    // 'close', not 'exit': it comes after the last message on the IPC channel.
    child.on('close', (code, signal) => finish(signal ? `signal ${signal}` : `exit code ${code}`));
    child.on('error', (error) => {
      outcome ??= { error: { code: 'crashed', message: `the job process could not run: ${error.message}` } };
      finish('spawn error');
    });
    child.send({ type: 'start', jobId, kind, params, projectDir: this.options.projectDir } satisfies ToJob);
    return jobId;
  }

  cancel(jobId: number): boolean {
    const entry = this.running.get(jobId);
    if (!entry) return false;
    entry.cancelled = true;
    entry.child.send({ type: 'cancel' } satisfies ToJob);
    setTimeout(() => entry.child.kill('SIGKILL'), CANCEL_GRACE_MS).unref();
    return true;
  }

  /** The process id of a running job, or null when it is not running here. */
  processId(jobId: number): number | null {
    return this.running.get(jobId)?.child.pid ?? null;
  }

  /** Ends every running job; for shutdown. */
  stopAll(): void {
    for (const [jobId] of this.running) this.cancel(jobId);
  }
}
