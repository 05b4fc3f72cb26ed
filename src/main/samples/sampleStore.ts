/** The samples table: responses sampled from models, with their decoding settings and rewards. */
import type { Db } from '../db/openDb';
import { GenerateSettings, PromptFormat, type Sample } from '../../shared/contract';

interface SampleRow {
  id: number;
  model: string;
  prompt: string;
  response: string;
  settings: string;
  rewards: string | null;
  source: string;
  created_at: string;
}

export interface NewSample {
  modelId: number;
  prompt: string;
  response: string;
  finishReason: Sample['finishReason'];
  settings: GenerateSettings;
  format: PromptFormat;
  rewards: Record<string, number> | null;
  source: string;
}

export class SampleStore {
  private readonly q;

  constructor(private readonly db: Db) {
    const filter = 'WHERE (@model IS NULL OR m.name = @model) AND (@source IS NULL OR s.source = @source)';
    this.q = {
      insert: db.prepare<[number, string, string, string, string | null, string, string]>(
        'INSERT INTO samples (model_id, prompt, response, settings, rewards, source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      page: db.prepare<{ model: string | null; source: string | null; limit: number; offset: number }, SampleRow>(
        `SELECT s.*, m.name AS model FROM samples s JOIN models m ON m.id = s.model_id ${filter} ORDER BY s.id LIMIT @limit OFFSET @offset`,
      ),
      count: db.prepare<{ model: string | null; source: string | null }, { n: number }>(
        `SELECT count(*) AS n FROM samples s JOIN models m ON m.id = s.model_id ${filter}`,
      ),
    };
  }

  /** Stores a batch in one transaction: a sampling job's responses land together or not at all. */
  addAll(samples: readonly NewSample[], now = new Date()): void {
    const at = now.toISOString();
    this.db
      .transaction(() => {
        for (const s of samples) {
          // The finish reason and the prompt format travel with the settings they resulted from.
          const settings = JSON.stringify({ ...s.settings, finishReason: s.finishReason, format: s.format });
          this.q.insert.run(
            s.modelId,
            s.prompt,
            s.response,
            settings,
            s.rewards ? JSON.stringify(s.rewards) : null,
            s.source,
            at,
          );
        }
      })
      .immediate();
  }

  page(
    filter: { model?: string | undefined; source?: string | undefined },
    offset: number,
    limit: number,
  ): { total: number; offset: number; rows: Sample[] } {
    const where = { model: filter.model ?? null, source: filter.source ?? null };
    return {
      total: this.q.count.get(where)?.n ?? 0,
      offset,
      rows: this.q.page.all({ ...where, limit, offset }).map(toSample),
    };
  }
}

function toSample(row: SampleRow): Sample {
  const {
    finishReason,
    format = 'raw',
    ...settings
  } = JSON.parse(row.settings) as GenerateSettings & {
    finishReason: Sample['finishReason'];
    /** Absent from samples stored before formats existed, which were all raw. */
    format?: PromptFormat;
  };
  return {
    id: row.id,
    model: row.model,
    prompt: row.prompt,
    response: row.response,
    finishReason,
    settings: GenerateSettings.parse(settings),
    format: PromptFormat.parse(format),
    rewards: row.rewards === null ? null : (JSON.parse(row.rewards) as Record<string, number>),
    source: row.source,
    createdAt: row.created_at,
  };
}
