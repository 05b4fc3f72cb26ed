import type { AppErrorShape, ModelSummary, Output } from '../../../shared/contract';
import { errorShape, type Client } from '../lib/client';

/**
 * Paths typed here are read on the machine that runs the studio, which is not always this
 * browser's: an absolute path is the only kind that means the same thing to both.
 */
export function pathProblem(path: string): string | null {
  const trimmed = path.trim();
  if (trimmed === '') return null;
  const absolute = trimmed.startsWith('/') || /^[A-Za-z]:[\\/]/.test(trimmed) || trimmed.startsWith('\\\\');
  return absolute ? null : 'must be an absolute path, such as /home/me/models/gpt2';
}

export type ExportResult = Output<'models.export'>;

/** Exporting one model to a folder: the destination typed, the call, the files it wrote. */
export class ExportState {
  readonly #client: Client;
  readonly model: string;
  #path = $state.raw('');
  #busy = $state.raw(false);
  #result = $state.raw<ExportResult | null>(null);
  #error = $state.raw<AppErrorShape | null>(null);

  readonly problem = $derived(pathProblem(this.#path));
  readonly canSubmit = $derived(this.#path.trim() !== '' && this.problem === null && !this.#busy);

  constructor(client: Client, model: string) {
    this.#client = client;
    this.model = model;
  }

  get path(): string {
    return this.#path;
  }
  set path(value: string) {
    this.#path = value;
  }
  get busy(): boolean {
    return this.#busy;
  }
  get result(): ExportResult | null {
    return this.#result;
  }
  get error(): AppErrorShape | null {
    return this.#error;
  }

  async start(): Promise<void> {
    if (!this.canSubmit) return;
    this.#busy = true;
    this.#result = null;
    this.#error = null;
    try {
      this.#result = await this.#client.call('models.export', { model: this.model, path: this.#path.trim() });
    } catch (error) {
      this.#error = errorShape(error);
    } finally {
      this.#busy = false;
    }
  }
}

/** The project's models, and the one whose export form is open. */
export class ModelsState {
  readonly #client: Client;
  #list = $state.raw<ModelSummary[]>([]);
  #loaded = $state.raw(false);
  #error = $state.raw<AppErrorShape | null>(null);
  #exporting = $state.raw<ExportState | null>(null);
  #request = 0;

  constructor(client: Client) {
    this.#client = client;
  }

  get list(): ModelSummary[] {
    return this.#list;
  }
  get loaded(): boolean {
    return this.#loaded;
  }
  get error(): AppErrorShape | null {
    return this.#error;
  }
  get exporting(): ExportState | null {
    return this.#exporting;
  }

  async refresh(): Promise<void> {
    const request = ++this.#request;
    try {
      const list = await this.#client.call('models.list', {});
      if (request !== this.#request) return;
      this.#list = list;
      this.#error = null;
      this.#loaded = true;
      const exporting = this.#exporting;
      if (exporting && !list.some((model) => model.name === exporting.model)) this.#exporting = null;
    } catch (error) {
      if (request === this.#request) this.#error = errorShape(error);
    }
  }

  /** Opens the export form under a model's row, or closes it when it is that model's already. */
  toggleExport(model: string): void {
    this.#exporting = this.#exporting?.model === model ? null : new ExportState(this.#client, model);
  }

  closeExport(): void {
    this.#exporting = null;
  }
}
