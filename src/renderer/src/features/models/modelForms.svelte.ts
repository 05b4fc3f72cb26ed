import { methods, modelFamilies, modelName, type DatasetSummary, type ModelSummary } from '../../../../shared/contract';
import type { Client } from '../../lib/client';
import { fieldIssues } from '../../lib/issues';
import { pathProblem } from '../../lib/paths';
import { chosenOrFirst } from '../../lib/choice';
import { JobRun } from '../../app/jobRun.svelte';

const createInput = methods['models.create'].input;

export const shapeKeys = ['layers', 'dim', 'heads', 'context', 'vocab', 'seed'] as const;
export type ShapeKey = (typeof shapeKeys)[number];

/** The contract's defaults, read from its schema rather than repeated here. */
export const shapeDefaults: Record<ShapeKey, number> = pickShape(
  createInput.parse({ name: 'defaults', dataset: 'defaults' }),
);

/** The contract's bounds per field, for the inputs' min and max. */
export const shapeBounds: Record<ShapeKey, { min: number | null; max: number | null }> = {
  layers: bounds(createInput.shape.layers.unwrap()),
  dim: bounds(createInput.shape.dim.unwrap()),
  heads: bounds(createInput.shape.heads.unwrap()),
  context: bounds(createInput.shape.context.unwrap()),
  vocab: bounds(createInput.shape.vocab.unwrap()),
  seed: bounds(createInput.shape.seed.unwrap()),
};

/** Llama-only shape fields; empty takes the backend's default (kvHeads = heads, ffn ≈ 8/3 dim). */
export const llamaKeys = ['kvHeads', 'ffn'] as const;
export type LlamaKey = (typeof llamaKeys)[number];
export type Architecture = (typeof modelFamilies)[number];
export const architectures = modelFamilies;

export const llamaBounds: Record<LlamaKey, { min: number | null; max: number | null }> = {
  kvHeads: bounds(createInput.shape.kvHeads.unwrap()),
  ffn: bounds(createInput.shape.ffn.unwrap()),
};

function pickShape(input: Record<ShapeKey, number>): Record<ShapeKey, number> {
  const { layers, dim, heads, context, vocab, seed } = input;
  return { layers, dim, heads, context, vocab, seed };
}

function bounds(schema: { minValue: number | null; maxValue: number | null }): {
  min: number | null;
  max: number | null;
} {
  return { min: schema.minValue, max: schema.maxValue };
}

/** Which message, if any, the contract has for a model name; none while it is still empty. */
function nameProblem(name: string): string | null {
  if (name.trim() === '') return null;
  const checked = modelName.safeParse(name);
  return checked.success ? null : (checked.error.issues[0]?.message ?? 'not a valid name');
}

function defaultShape(): Record<ShapeKey, number | null> {
  return { ...shapeDefaults };
}

/**
 * GPT-2's parameter count for a shape, the LM head tied to the token embeddings: embeddings, then
 * per layer 12·d² + 13·d (attention and MLP weights and biases, two layer norms), then the final norm.
 */
export function estimateParameters(shape: { vocab: number; context: number; dim: number; layers: number }): number {
  const { vocab, context, dim: d, layers } = shape;
  return vocab * d + context * d + layers * (12 * d * d + 13 * d) + 2 * d;
}

/** Llama's MLP width when none is given: 8/3 of dim, up to a multiple of 8 (as the backend's default). */
export function defaultFfn(dim: number): number {
  return Math.ceil((8 * dim) / 3 / 8) * 8;
}

/**
 * A `model new --arch llama` model's parameter count, embeddings tied to the head, no biases: the
 * embeddings, then per layer q and o (d·d each), k and v (d·kv·headDim each), gate, up and down
 * (d·ffn each) and two RMSNorm weights, then the final norm.
 */
export function estimateLlamaParameters(shape: {
  vocab: number;
  dim: number;
  layers: number;
  heads: number;
  kvHeads: number;
  ffn: number;
}): number {
  const { vocab, dim: d, layers, heads, kvHeads, ffn } = shape;
  const kv = kvHeads * (d / heads);
  return vocab * d + layers * (2 * d * d + 2 * d * kv + 3 * d * ffn + 2 * d) + d;
}

/** The "New model" form: name, dataset, shape, and the models.create job it starts. */
export class CreateModelState {
  readonly #client: Client;
  readonly #datasets: () => DatasetSummary[];
  readonly #onCreated: (model: ModelSummary) => void;
  readonly run: JobRun<'model.create'>;

  name = $state('');
  #dataset = $state.raw('');
  /** Deep state: the number inputs bind to its keys one by one; an empty input is null. */
  shape = $state<Record<ShapeKey, number | null>>(defaultShape());
  arch = $state<Architecture>('gpt2');
  /** Llama only; empty (null) takes the default. */
  llama = $state<Record<LlamaKey, number | null>>({ kvHeads: null, ffn: null });

  readonly dataset = $derived.by(() => chosenOrFirst(this.#datasets(), this.#dataset));
  readonly nameProblem = $derived(nameProblem(this.name));
  /** The contract's complaint per shape field, checked as the person types. */
  readonly shapeProblems: Partial<Record<ShapeKey | LlamaKey, string>> = $derived.by(() => {
    const checked = createInput.safeParse({ name: 'check', dataset: 'check', ...this.#input() });
    // An empty Llama field is not missing: it takes the default.
    const values = { ...this.shape, kvHeads: this.llama.kvHeads ?? undefined, ffn: this.llama.ffn ?? undefined };
    return checked.success ? {} : fieldIssues(checked.error, [...shapeKeys, ...llamaKeys], values);
  });
  readonly estimate: number | null = $derived.by(() => {
    const { vocab, context, dim, layers, heads } = this.shape;
    if (vocab === null || context === null || dim === null || layers === null || heads === null) return null;
    if (Object.keys(this.shapeProblems).length > 0) return null;
    if (this.arch === 'llama') {
      const kvHeads = this.llama.kvHeads ?? heads;
      const ffn = this.llama.ffn ?? defaultFfn(dim);
      return estimateLlamaParameters({ vocab, dim, layers, heads, kvHeads, ffn });
    }
    return estimateParameters({ vocab, context, dim, layers });
  });
  readonly canSubmit = $derived.by(
    () =>
      this.name.trim() !== '' &&
      this.nameProblem === null &&
      this.dataset !== '' &&
      Object.keys(this.shapeProblems).length === 0 &&
      !this.run.busy,
  );

  constructor(client: Client, datasets: () => DatasetSummary[], onCreated: (model: ModelSummary) => void) {
    this.#client = client;
    this.#datasets = datasets;
    this.#onCreated = onCreated;
    this.run = new JobRun(client, 'model.create', 'the model creation');
  }

  get datasetChoice(): string {
    return this.dataset;
  }
  set datasetChoice(value: string) {
    this.#dataset = value;
  }

  resetShape(): void {
    this.shape = defaultShape();
    this.llama = { kvHeads: null, ffn: null };
  }

  async start(): Promise<void> {
    if (!this.canSubmit) return;
    const input = { name: this.name.trim(), dataset: this.dataset, ...this.#input() };
    const model = await this.run.run(() => this.#client.call('models.create', input));
    if (model) {
      // The shape stays, for the next model of the same kind; the name must change anyway.
      this.name = '';
      this.#onCreated(model);
    }
  }

  /** The architecture and shape fields; an empty shape field is left to the schema to call required. */
  #input(): { arch: Architecture } & Partial<Record<ShapeKey | LlamaKey, number>> {
    const input: { arch: Architecture } & Partial<Record<ShapeKey | LlamaKey, number>> = { arch: this.arch };
    for (const key of shapeKeys) {
      const value = this.shape[key];
      // A missing key would take the schema's default, so an emptied field is sent as NaN to be refused.
      input[key] = value ?? Number.NaN;
    }
    if (this.arch === 'llama') {
      for (const key of llamaKeys) {
        const value = this.llama[key];
        if (value !== null) input[key] = value;
      }
    }
    return input;
  }
}

/** The "Import a Hugging Face folder" form and its models.import job. */
export class ModelImportState {
  readonly #client: Client;
  readonly #onImported: (model: ModelSummary) => void;
  readonly run: JobRun<'model.import'>;
  path = $state('');
  name = $state('');

  readonly pathProblem = $derived(pathProblem(this.path));
  readonly nameProblem = $derived(nameProblem(this.name));
  readonly canSubmit = $derived.by(
    () =>
      this.path.trim() !== '' &&
      this.pathProblem === null &&
      this.name.trim() !== '' &&
      this.nameProblem === null &&
      !this.run.busy,
  );

  constructor(client: Client, onImported: (model: ModelSummary) => void) {
    this.#client = client;
    this.#onImported = onImported;
    this.run = new JobRun(client, 'model.import', 'the import');
  }

  async start(): Promise<void> {
    if (!this.canSubmit) return;
    const input = { path: this.path.trim(), name: this.name.trim() };
    const model = await this.run.run(() => this.#client.call('models.import', input));
    if (model) {
      this.path = '';
      this.name = '';
      this.#onImported(model);
    }
  }
}
