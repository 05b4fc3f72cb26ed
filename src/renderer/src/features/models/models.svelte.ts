import { modelFiles, type ModelSummary, type Output } from '../../../../shared/contract';
import { base64Blob } from '../../lib/download';
import type { Client } from '../../lib/client';
import { PathExport, type Download } from '../../ui/pathExport.svelte';
import { ListedState } from '../../app/listed.svelte';

export type ExportResult = Output<'models.export'>;

export type ExportDtype = 'f32' | 'bf16';

/** Exporting one model to a folder: the destination typed, the weights' dtype, the call, the files it wrote. */
export class ExportState extends PathExport<ExportResult> {
  readonly #client: Client;
  readonly model: string;
  readonly #files: readonly (typeof modelFiles)[number][];
  /** model.safetensors in F32 (exact) or BF16 (half the size, rounded to nearest even). */
  dtype = $state<ExportDtype>('f32');

  constructor(client: Client, model: string, summary?: Pick<ModelSummary, 'shape' | 'chatTemplate'>) {
    super();
    this.#client = client;
    this.model = model;
    // The files every model has, then those a Llama-family model or a templated tokenizer brings.
    const [config, weights, tokenizer] = modelFiles;
    this.#files = [
      config,
      weights,
      tokenizer,
      ...(summary?.shape.family === 'llama' ? (['generation_config.json'] as const) : []),
      ...(summary?.chatTemplate ? (['tokenizer_config.json'] as const) : []),
    ];
  }

  protected write(path: string): Promise<ExportResult> {
    return this.#client.call('models.export', { model: this.model, path, dtype: this.dtype });
  }

  override get downloads(): { key: string; label: string }[] {
    return this.#files.map((file) => ({ key: file, label: file }));
  }

  protected override async fetchDownload(key: string): Promise<Download> {
    const file = modelFiles.find((f) => f === key);
    if (!file) throw new Error(`a model has no file ${key}`);
    const { filename, base64 } = await this.#client.call('models.download', { model: this.model, file });
    return { filename, blob: base64Blob(base64) };
  }
}

/** The project's models, and the one whose export form is open. */
export class ModelsState extends ListedState<ModelSummary> {
  readonly #client: Client;
  #exporting = $state.raw<ExportState | null>(null);

  constructor(client: Client) {
    super();
    this.#client = client;
  }

  get exporting(): ExportState | null {
    return this.#exporting;
  }

  protected fetchList(): Promise<ModelSummary[]> {
    return this.#client.call('models.list', {});
  }

  /** The export form closes with its model. */
  protected override listed(list: ModelSummary[]): void {
    const exporting = this.#exporting;
    if (exporting && !list.some((model) => model.name === exporting.model)) this.#exporting = null;
  }

  /** Opens the export form under a model's row, or closes it when it is that model's already. */
  toggleExport(model: string): void {
    const summary = this.list.find((m) => m.name === model);
    this.#exporting = this.#exporting?.model === model ? null : new ExportState(this.#client, model, summary);
  }

  closeExport(): void {
    this.#exporting = null;
  }
}
