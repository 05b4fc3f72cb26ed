import {
  parseJobResult,
  type AppErrorShape,
  type Job,
  type JobKind,
  type JobProgress,
  type JobResult,
} from '../../../shared/contract';
import { errorShape, type Client } from '../lib/client';
import { capitalise } from '../lib/format';
import { JobWatcher } from '../lib/jobWatcher';
import { phaseText } from '../lib/phases';

export type RunStage = 'idle' | 'starting' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/**
 * One job of a kind at a time, from the call that starts it to its outcome: stage, progress,
 * result or error. The forms of the Models screen each hold one; the result is read with the
 * contract's schema of the job's kind (jobResults), since it crosses the contract as a plain record.
 */
export class JobRun<K extends JobKind> {
  readonly #client: Client;
  readonly #kind: K;
  readonly #what: string;

  #stage = $state.raw<RunStage>('idle');
  /** null while the job cannot say how far along it is: the bar is then indeterminate. */
  #fraction = $state.raw<number | null>(null);
  #phase = $state.raw('');
  #value = $state.raw<JobResult<K> | null>(null);
  #error = $state.raw<AppErrorShape | null>(null);
  #jobId: number | null = null;
  #cancelRequested = false;

  readonly busy = $derived(this.#stage === 'starting' || this.#stage === 'running');

  /** `kind` is the kind of job it starts; `what` names it in messages: "The model creation failed without saying why". */
  constructor(client: Client, kind: K, what: string) {
    this.#client = client;
    this.#kind = kind;
    this.#what = what;
  }

  get stage(): RunStage {
    return this.#stage;
  }
  get fraction(): number | null {
    return this.#fraction;
  }
  get phase(): string {
    return this.#phase;
  }
  get value(): JobResult<K> | null {
    return this.#value;
  }
  get error(): AppErrorShape | null {
    return this.#error;
  }

  /** Starts the job with `start` and follows it; resolves with the result, or null if there is none. */
  async run(start: () => Promise<{ jobId: number }>): Promise<JobResult<K> | null> {
    if (this.busy) return null;
    this.#stage = 'starting';
    this.#fraction = null;
    this.#phase = 'Starting';
    this.#value = null;
    this.#error = null;
    this.#jobId = null;
    this.#cancelRequested = false;
    // Listening before the job exists: its events may overtake the answer to the start call.
    const watcher = new JobWatcher(this.#client);
    try {
      const { jobId } = await start();
      this.#jobId = jobId;
      this.#stage = 'running';
      if (this.#cancelRequested) void this.cancel();
      const job = await watcher.wait(jobId, (progress) => this.#progress(progress));
      return this.#end(job);
    } catch (error) {
      this.#stage = 'failed';
      this.#error = errorShape(error);
      return null;
    } finally {
      watcher.close();
      this.#jobId = null;
    }
  }

  async cancel(): Promise<void> {
    this.#cancelRequested = true;
    const jobId = this.#jobId;
    if (jobId === null) return;
    this.#phase = 'Cancelling';
    try {
      await this.#client.call('jobs.cancel', { jobId });
    } catch (error) {
      // The job goes on; its end (or the failure to reach it) still arrives through the watcher.
      this.#phase = `Could not cancel: ${errorShape(error).message}`;
    }
  }

  /** Forgets the last outcome (not a running job). */
  clear(): void {
    if (this.busy) return;
    this.#stage = 'idle';
    this.#value = null;
    this.#error = null;
  }

  #progress(progress: JobProgress): void {
    const { done, total } = progress;
    this.#fraction = total !== null && total > 0 ? Math.min(1, done / total) : null;
    this.#phase = phaseText(progress);
  }

  #end(job: Job): JobResult<K> | null {
    if (job.status === 'succeeded') {
      const parsed = parseJobResult(this.#kind, job.result);
      if (!parsed.success) {
        this.#stage = 'failed';
        this.#error = {
          code: 'bad_response',
          message: `${capitalise(this.#what)} finished but its result has an unexpected shape`,
        };
        return null;
      }
      this.#stage = 'succeeded';
      this.#fraction = 1;
      this.#value = parsed.data;
      return parsed.data;
    }
    if (job.status === 'cancelled') {
      this.#stage = 'cancelled';
    } else {
      this.#stage = 'failed';
      this.#error = job.error ?? { code: 'failed', message: `${capitalise(this.#what)} failed without saying why` };
    }
    return null;
  }
}
