import type { AppErrorShape } from '../../../shared/contract';
import { errorShape } from '../lib/client';
import { saveFile } from '../lib/download';
import { pathProblem } from '../lib/paths';

/** A file the browser can save instead of a path on the backend's machine. */
export interface Download {
  filename: string;
  blob: Blob;
}

/**
 * Writing something to a path on the backend's machine: the destination typed, the call, what it
 * answered. In a browser (the studio served over HTTP, maybe from another machine) the same
 * content can be downloaded instead, one file per click.
 */
export abstract class PathExport<Result> {
  path = $state('');
  #busy = $state.raw(false);
  #result = $state.raw<Result | null>(null);
  #error = $state.raw<AppErrorShape | null>(null);
  #downloading = $state.raw<string | null>(null);
  #saved = $state.raw<string[]>([]);

  readonly problem = $derived(pathProblem(this.path));
  readonly canSubmit = $derived(
    this.path.trim() !== '' && this.problem === null && !this.#busy && this.#downloading === null,
  );

  get busy(): boolean {
    return this.#busy;
  }
  get result(): Result | null {
    return this.#result;
  }
  get error(): AppErrorShape | null {
    return this.#error;
  }
  /** The download under way, by its key. */
  get downloading(): string | null {
    return this.#downloading;
  }
  /** The files saved by downloads so far, in order. */
  get saved(): string[] {
    return this.#saved;
  }

  /** The call that writes to `path` (trimmed). */
  protected abstract write(path: string): Promise<Result>;

  /** What can be downloaded: a key and a label per file (none by default). */
  get downloads(): { key: string; label: string }[] {
    return [];
  }

  /** The file a download key names, fetched from the backend. */
  protected fetchDownload(key: string): Promise<Download> {
    return Promise.reject(new Error(`nothing to download as ${key}`));
  }

  async start(): Promise<void> {
    if (!this.canSubmit) return;
    this.#busy = true;
    this.#result = null;
    this.#error = null;
    try {
      this.#result = await this.write(this.path.trim());
    } catch (error) {
      this.#error = errorShape(error);
    } finally {
      this.#busy = false;
    }
  }

  async download(key: string): Promise<void> {
    if (this.#busy || this.#downloading !== null) return;
    this.#downloading = key;
    this.#error = null;
    try {
      const { filename, blob } = await this.fetchDownload(key);
      saveFile(filename, blob);
      this.#saved = [...this.#saved, filename];
    } catch (error) {
      this.#error = errorShape(error);
    } finally {
      this.#downloading = null;
    }
  }
}
