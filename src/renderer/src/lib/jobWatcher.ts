/**
 * Follows one job to its end. Subscribe before starting the job: events that arrive before the
 * job id is known are kept per id. The finished event can still be missed (the event stream was
 * not connected yet, or reconnected at the wrong moment), so `jobs.get` is asked once at once and
 * then every few seconds until the job is no longer running.
 */
import type { Job, JobProgress } from '../../../shared/contract';
import type { Client } from './client';

const POLL_MS = 2000;

export class JobWatcher {
  readonly #client: Client;
  readonly #progress = new Map<number, JobProgress>();
  readonly #finished = new Map<number, Job>();
  readonly #unsubscribe: Array<() => void>;
  #target: { jobId: number; onProgress: (progress: JobProgress) => void; settle: (job: Job) => void } | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(client: Client) {
    this.#client = client;
    this.#unsubscribe = [
      client.on('jobs.progress', (progress) => {
        if (this.#target?.jobId === progress.jobId) this.#target.onProgress(progress);
        else this.#progress.set(progress.jobId, progress);
      }),
      client.on('jobs.finished', (job) => {
        if (this.#target?.jobId === job.id) this.#target.settle(job);
        else this.#finished.set(job.id, job);
      }),
    ];
  }

  wait(jobId: number, onProgress: (progress: JobProgress) => void): Promise<Job> {
    return new Promise<Job>((resolve, reject) => {
      let settled = false;
      const settle = (job: Job): void => {
        if (settled) return;
        settled = true;
        this.#stopPolling();
        this.#target = null;
        resolve(job);
      };
      const early = this.#finished.get(jobId);
      if (early) return settle(early);
      const progress = this.#progress.get(jobId);
      if (progress) onProgress(progress);
      this.#target = { jobId, onProgress, settle };

      const poll = async (): Promise<void> => {
        try {
          const job = await this.#client.call('jobs.get', { jobId });
          if (job.status !== 'running') return settle(job);
        } catch (error) {
          if (settled) return;
          settled = true;
          this.#target = null;
          return reject(error);
        }
        if (!settled) this.#timer = setTimeout(() => void poll(), POLL_MS);
      };
      void poll();
    });
  }

  close(): void {
    this.#stopPolling();
    this.#target = null;
    for (const off of this.#unsubscribe) off();
  }

  #stopPolling(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
