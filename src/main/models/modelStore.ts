/**
 * The models table: each model's origin, shape, tokenizer and checkpoint folder in the project.
 * The config column holds the model's config (GptConfig, or a LlamaConfig, which names its
 * architecture: the family follows from it) with facts of the folder beside it, "dtype" (the
 * weights' dtype as imported), "chatTemplate" (whether tokenizer_config.json has one) and "lora"
 * (the settings of the LoRA adapter merged in, whose PEFT folder is adapter/); rows written before
 * those were kept read as F32 without a template, which every such model was, and without an adapter.
 */
import type { Db } from '../db/openDb';
import { AppError, type LoraSettings, type ModelSummary } from '../../shared/contract';
import { shapeOf, type ModelConfig } from './modelFamily';

interface ModelRow {
  id: number;
  name: string;
  origin: ModelSummary['origin'];
  source: string;
  parent: string | null;
  config: string;
  parameters: number;
  tokenizer: string;
  folder: string;
  weights_sha256: string;
  created_at: string;
}

export interface NewModel {
  name: string;
  origin: ModelSummary['origin'];
  source: string;
  parentId?: number | null;
  config: ModelConfig;
  parameters: number;
  dtype: string;
  chatTemplate: boolean;
  /** The LoRA adapter merged into the weights (its folder is adapter/), or null. */
  lora: LoraSettings | null;
  tokenizer: string;
  /** Relative to the project's models folder. */
  folder: string;
  weightsSha256: string;
}

export interface StoredModel extends ModelSummary {
  config: ModelConfig;
  weightsSha256: string;
}

export class ModelStore {
  private readonly q;

  constructor(db: Db) {
    const select = `SELECT m.*, p.name AS parent FROM models m LEFT JOIN models p ON p.id = m.parent_id`;
    this.q = {
      list: db.prepare<[], ModelRow>(`${select} ORDER BY m.name`),
      byName: db.prepare<[string], ModelRow>(`${select} WHERE m.name = ?`),
      insert: db.prepare(
        `INSERT INTO models (name, origin, source, parent_id, config, parameters, tokenizer, folder, weights_sha256, created_at)
         VALUES (@name, @origin, @source, @parentId, @config, @parameters, @tokenizer, @folder, @weightsSha256, @createdAt)`,
      ),
    };
  }

  list(): StoredModel[] {
    return this.q.list.all().map(toModel);
  }

  get(name: string): StoredModel {
    const row = this.q.byName.get(name);
    if (!row) throw new AppError('not_found', `no model named "${name}"`);
    return toModel(row);
  }

  has(name: string): boolean {
    return this.q.byName.get(name) !== undefined;
  }

  add(model: NewModel, now = new Date()): StoredModel {
    if (this.has(model.name)) throw new AppError('conflict', `a model named "${model.name}" exists already`);
    const { dtype, chatTemplate, lora, ...row } = model;
    this.q.insert.run({
      ...row,
      parentId: model.parentId ?? null,
      config: JSON.stringify({ ...model.config, dtype, chatTemplate, ...(lora ? { lora } : {}) }),
      createdAt: now.toISOString(),
    });
    return this.get(model.name);
  }
}

function toModel(row: ModelRow): StoredModel {
  const {
    dtype = 'F32',
    chatTemplate = false,
    lora,
    ...config
  } = JSON.parse(row.config) as ModelConfig & { dtype?: string; chatTemplate?: boolean; lora?: LoraSettings };
  return {
    id: row.id,
    name: row.name,
    origin: row.origin,
    source: row.source,
    parent: row.parent,
    shape: shapeOf(config),
    parameters: row.parameters,
    dtype,
    chatTemplate,
    adapter: lora ? { ...lora, base: row.parent, folder: `models/${row.folder}/adapter` } : null,
    tokenizer: row.tokenizer,
    folder: row.folder,
    createdAt: row.created_at,
    config,
    weightsSha256: row.weights_sha256,
  };
}
