import {
  datasetName,
  parseJobResult,
  UPLOAD_CHUNK_BYTES,
  type AppErrorShape,
  type FieldMapping,
  type ImportFormat,
  type ImportSummary,
  type Job,
  type JobProgress,
} from '../../../../shared/contract';
import { bytesToBase64 } from '../../lib/base64';
import { AppError, errorShape, type Client } from '../../lib/client';
import { bytes, capitalise, count, datasetNameFromFile } from '../../lib/format';
import { JobWatcher } from '../../lib/jobWatcher';

export const fieldKeys = ['prompt', 'response', 'reward', 'chosen', 'rejected', 'completion', 'label'] as const;
export type FieldKey = (typeof fieldKeys)[number];

export type Stage = 'idle' | 'uploading' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/**
 * Share of the one progress bar given to the upload; the import job fills the rest. The upload is a
 * local copy, usually quicker than parsing, validating and writing the rows, hence less than half.
 */
const UPLOAD_SHARE = 0.3;

function emptyFields(): Record<FieldKey, string> {
  return { prompt: '', response: '', reward: '', chosen: '', rejected: '', completion: '', label: '' };
}

class Cancelled extends Error {}

/** The import form and the one import it may be running: upload, job, progress, outcome. */
export class ImportState {
  readonly #client: Client;
  readonly #onFinished: () => void;

  #file = $state.raw<File | null>(null);
  #name = $state.raw('');
  #nameTouched = false;
  format = $state<ImportFormat>('auto');
  /** Deep state: the mapping inputs bind to its keys one by one. */
  fields = $state<Record<FieldKey, string>>(emptyFields());
  /** Bumped to give the file input a fresh element, the only way to clear what it shows. */
  #formKey = $state.raw(0);

  #stage = $state.raw<Stage>('idle');
  #fraction = $state.raw(0);
  #phase = $state.raw('');
  #summary = $state.raw<ImportSummary | null>(null);
  #error = $state.raw<AppErrorShape | null>(null);
  #jobId: number | null = null;
  #cancelRequested = false;

  readonly busy = $derived(this.#stage === 'uploading' || this.#stage === 'running');
  readonly nameProblem: string | null = $derived.by(() => {
    if (this.#name.trim() === '') return null;
    const checked = datasetName.safeParse(this.#name);
    return checked.success ? null : (checked.error.issues[0]?.message ?? 'not a valid name');
  });
  readonly canSubmit = $derived(
    this.#file !== null && this.#name.trim() !== '' && this.nameProblem === null && !this.busy,
  );

  constructor(client: Client, onFinished: () => void) {
    this.#client = client;
    this.#onFinished = onFinished;
  }

  get file(): File | null {
    return this.#file;
  }
  get name(): string {
    return this.#name;
  }
  set name(value: string) {
    this.#name = value;
    // Once someone types a name, choosing another file must not overwrite it; clearing it gives control back.
    this.#nameTouched = value !== '';
  }
  get formKey(): number {
    return this.#formKey;
  }
  get stage(): Stage {
    return this.#stage;
  }
  get fraction(): number {
    return this.#fraction;
  }
  get phase(): string {
    return this.#phase;
  }
  get summary(): ImportSummary | null {
    return this.#summary;
  }
  get error(): AppErrorShape | null {
    return this.#error;
  }

  chooseFile(file: File | null): void {
    this.#file = file;
    if (file && !this.#nameTouched) this.#name = datasetNameFromFile(file.name);
  }

  async start(): Promise<void> {
    const file = this.#file;
    if (!file || !this.canSubmit) return;
    const name = this.#name.trim();
    const format = this.format;
    const fields: FieldMapping = {};
    for (const [key, value] of Object.entries($state.snapshot(this.fields))) {
      if (value.trim() !== '') fields[key as FieldKey] = value.trim();
    }

    this.#stage = 'uploading';
    this.#fraction = 0;
    this.#phase = `Uploading ${bytes(0)} of ${bytes(file.size)}`;
    this.#summary = null;
    this.#error = null;
    this.#jobId = null;
    this.#cancelRequested = false;
    // Listening before the job exists: its events may overtake the answer to imports.start.
    const watcher = new JobWatcher(this.#client);
    try {
      const { uploadId } = await this.#client.call('uploads.create', { fileName: file.name, size: file.size });
      for (let offset = 0; offset < file.size; offset += UPLOAD_CHUNK_BYTES) {
        if (this.#cancelRequested) throw new Cancelled();
        const slice = file.slice(offset, offset + UPLOAD_CHUNK_BYTES);
        const base64 = bytesToBase64(new Uint8Array(await slice.arrayBuffer()));
        await this.#client.call('uploads.append', { uploadId, offset, base64 });
        const sent = offset + slice.size;
        this.#fraction = (UPLOAD_SHARE * sent) / file.size;
        this.#phase = `Uploading ${bytes(sent)} of ${bytes(file.size)}`;
      }
      if (this.#cancelRequested) throw new Cancelled();
      this.#fraction = UPLOAD_SHARE;
      this.#phase = 'Starting the import';
      const { jobId } = await this.#client.call('imports.start', {
        source: { kind: 'upload', uploadId },
        name,
        format,
        fields,
      });
      this.#jobId = jobId;
      this.#stage = 'running';
      if (this.#cancelRequested) void this.cancel();
      const job = await watcher.wait(jobId, (progress) => this.#progress(progress));
      this.#end(job);
    } catch (error) {
      if (error instanceof Cancelled) {
        this.#stage = 'cancelled';
      } else {
        this.#stage = 'failed';
        this.#error = errorShape(error);
      }
    } finally {
      watcher.close();
      this.#jobId = null;
      this.#onFinished();
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

  #progress(progress: JobProgress): void {
    const { phase, done, total, message } = progress;
    // Without a total the job's share cannot be known; the bar holds where it is and the text moves.
    if (total !== null && total > 0) {
      this.#fraction = UPLOAD_SHARE + (1 - UPLOAD_SHARE) * Math.min(1, done / total);
    }
    const amount = total !== null ? `${count(done)} of ${count(total)}` : done > 0 ? count(done) : '';
    this.#phase = [capitalise(phase), amount, message ?? ''].filter((part) => part !== '').join(' · ');
  }

  #end(job: Job): void {
    if (job.status === 'succeeded') {
      const summary = parseJobResult('import', job.result);
      if (!summary.success) {
        throw new AppError('bad_response', 'The import finished but its summary has an unexpected shape');
      }
      this.#stage = 'succeeded';
      this.#fraction = 1;
      this.#summary = summary.data;
      this.#reset();
    } else if (job.status === 'cancelled') {
      this.#stage = 'cancelled';
    } else {
      this.#stage = 'failed';
      this.#error = job.error ?? { code: 'failed', message: 'The import failed without saying why' };
    }
  }

  /** After a success the form starts over; after a failure it keeps everything, to fix and retry. */
  #reset(): void {
    this.#file = null;
    this.#name = '';
    this.#nameTouched = false;
    this.format = 'auto';
    this.fields = emptyFields();
    this.#formKey += 1;
  }
}
