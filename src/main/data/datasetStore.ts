/** Queries over datasets, their versions, examples and preference pairs. Prepared once per connection. */
import { randomBytes } from 'node:crypto';
import type { Db } from '../db/openDb';
import { processAlive } from '../jobs/jobStore';
import { storageFailure } from '../core/storageErrors';
import { AppError, type DatasetSummary, type Example, type ImportSummary, type Pair } from '../../shared/contract';
import type { ParsedExample, ParsedPair } from './import/parseFile';

export interface NewVersion {
  name: string;
  format: string;
  sourceFile: string;
  sourceSha256: string;
  sourceBytes: number;
  summary: Omit<ImportSummary, 'version'>;
  examples: readonly ParsedExample[];
  pairs: readonly ParsedPair[];
}

interface VersionRow {
  id: number;
  dataset_id: number;
  name: string;
  version: number;
  versions: number;
  format: string;
  source_file: string;
  summary: string;
  created_at: string;
  examples: number;
  pairs: number;
}

const json = (value: Record<string, unknown> | null): string | null => (value === null ? null : JSON.stringify(value));
const parseJson = (text: string | null): Record<string, unknown> | null =>
  text === null ? null : (JSON.parse(text) as Record<string, unknown>);

export class DatasetStore {
  private readonly q;

  constructor(private readonly db: Db) {
    const versionColumns = `
      v.id, v.dataset_id, d.name, v.version, v.format, v.source_file, v.summary, v.created_at,
      (SELECT count(*) FROM dataset_versions WHERE dataset_id = d.id) AS versions,
      (SELECT count(*) FROM examples WHERE version_id = v.id) AS examples,
      (SELECT count(*) FROM preference_pairs WHERE version_id = v.id) AS pairs`;
    this.q = {
      latest: db.prepare<[], VersionRow>(`
        SELECT ${versionColumns} FROM datasets d
        JOIN dataset_versions v ON v.dataset_id = d.id
        WHERE v.version = (SELECT max(version) FROM dataset_versions WHERE dataset_id = d.id)
          AND d.name NOT LIKE '${STAGING_PREFIX}%'
        ORDER BY d.name`),
      version: db.prepare<[string, number | null], VersionRow>(`
        SELECT ${versionColumns} FROM datasets d
        JOIN dataset_versions v ON v.dataset_id = d.id
        WHERE d.name = ? AND v.version = coalesce(?, (SELECT max(version) FROM dataset_versions WHERE dataset_id = d.id))`),
      datasetByName: db.prepare<[string], { id: number }>('SELECT id FROM datasets WHERE name = ?'),
      insertDataset: db.prepare<[string, string]>('INSERT INTO datasets (name, created_at) VALUES (?, ?)'),
      nextVersion: db.prepare<[number], { next: number }>(
        'SELECT coalesce(max(version), 0) + 1 AS next FROM dataset_versions WHERE dataset_id = ?',
      ),
      insertVersion: db.prepare(
        `INSERT INTO dataset_versions (dataset_id, version, format, source_file, source_sha256, source_bytes, summary, created_at)
         VALUES (@datasetId, @version, @format, @sourceFile, @sourceSha256, @sourceBytes, @summary, @createdAt)`,
      ),
      insertExample: db.prepare(
        `INSERT INTO examples (version_id, line, prompt, response, reward, reward_source, metadata)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      moveVersion: db.prepare<[number, number, string, number]>(
        'UPDATE dataset_versions SET dataset_id = ?, version = ?, summary = ? WHERE id = ?',
      ),
      deleteDataset: db.prepare<[number]>('DELETE FROM datasets WHERE id = ?'),
      staging: db.prepare<[string], { id: number; name: string }>('SELECT id, name FROM datasets WHERE name LIKE ?'),
      insertPair: db.prepare(
        'INSERT INTO preference_pairs (version_id, line, prompt, chosen, rejected, metadata) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      examples: db.prepare<[number, number, number], ExampleRow>(
        'SELECT id, line, prompt, response, reward, reward_source, metadata FROM examples WHERE version_id = ? ORDER BY id LIMIT ? OFFSET ?',
      ),
      exampleTexts: db.prepare<[number], { prompt: string; response: string }>(
        'SELECT prompt, response FROM examples WHERE version_id = ? ORDER BY id',
      ),
      pairTexts: db.prepare<[number], { prompt: string; chosen: string; rejected: string }>(
        'SELECT prompt, chosen, rejected FROM preference_pairs WHERE version_id = ? ORDER BY id',
      ),
      pairs: db.prepare<[number, number, number], PairRow>(
        'SELECT id, line, prompt, chosen, rejected, metadata FROM preference_pairs WHERE version_id = ? ORDER BY id LIMIT ? OFFSET ?',
      ),
    };
  }

  list(): DatasetSummary[] {
    return this.q.latest.all().map(toSummary);
  }

  get(name: string, version?: number): DatasetSummary {
    const row = this.q.version.get(name, version ?? null);
    if (!row) {
      const known = this.q.datasetByName.get(name);
      throw new AppError(
        'not_found',
        known ? `dataset "${name}" has no version ${version}` : `no dataset named "${name}"`,
      );
    }
    return toSummary(row);
  }

  examples(
    name: string,
    version: number | undefined,
    offset: number,
    limit: number,
  ): { total: number; offset: number; rows: Example[] } {
    const summary = this.get(name, version);
    return { total: summary.examples, offset, rows: this.q.examples.all(summary.id, limit, offset).map(toExample) };
  }

  pairs(
    name: string,
    version: number | undefined,
    offset: number,
    limit: number,
  ): { total: number; offset: number; rows: Pair[] } {
    const summary = this.get(name, version);
    return { total: summary.pairs, offset, rows: this.q.pairs.all(summary.id, limit, offset).map(toPair) };
  }

  /** Every example of a version (for jobs that train on or sample from all of it). */
  allExamples(name: string, version?: number): Example[] {
    // LIMIT -1: SQLite's "no limit".
    return this.examples(name, version, 0, -1).rows;
  }

  allPairs(name: string, version?: number): Pair[] {
    return this.pairs(name, version, 0, -1).rows;
  }

  /** Every example of a version, read from the database one row at a time (nothing else may use the connection meanwhile). */
  *eachExample(name: string, version?: number): Generator<Example> {
    const summary = this.get(name, version);
    for (const row of this.q.examples.iterate(summary.id, -1, 0)) yield toExample(row);
  }

  *eachPair(name: string, version?: number): Generator<Pair> {
    const summary = this.get(name, version);
    for (const row of this.q.pairs.iterate(summary.id, -1, 0)) yield toPair(row);
  }

  /** Every text of a version (prompts with their responses, chosen and rejected), streamed from the database. */
  *texts(name: string, version?: number): Generator<string> {
    const summary = this.get(name, version);
    for (const e of this.q.exampleTexts.iterate(summary.id)) yield e.prompt + e.response;
    for (const p of this.q.pairTexts.iterate(summary.id)) {
      yield p.prompt + p.chosen;
      yield p.prompt + p.rejected;
    }
  }

  /**
   * Writes a whole new version: all of it is stored, or none of it, and no other writer waits long.
   * One transaction of a large import would hold SQLite's single write lock for its whole length
   * (300,000 rows: about 0.8 s on an idle machine, seconds under load), and every rating, run step
   * and CLI write of the studio waits behind it. So the rows go in under a staging dataset whose
   * name no user can give (it starts with "/", which names refuse) in transactions of CHUNK rows,
   * and a last short transaction moves the finished version under its real name. Until then
   * nothing lists or finds it. A failure deletes the staging rows; a process killed part way
   * leaves them to the next write of a version, which removes staging sets whose process is gone.
   */
  addVersion(input: NewVersion, now = new Date()): ImportSummary {
    const createdAt = now.toISOString();
    // Inside a caller's transaction, chunks would commit nothing early: one step, as before.
    if (this.db.inTransaction) return this.commitVersion(this.stageVersion(input, createdAt), input, createdAt);
    let staged: { datasetId: number; versionId: number } | null = null;
    try {
      this.removeAbandonedStaging();
      const version = this.db.transaction(() => this.stageVersion(input, createdAt, false)).immediate();
      staged = version;
      this.insertRows(version.versionId, input);
      return this.db.transaction(() => this.commitVersion(version, input, createdAt)).immediate();
    } catch (error) {
      try {
        if (staged) this.q.deleteDataset.run(staged.datasetId);
      } catch {
        // The store refuses even the delete (a full disk, a read-only folder): the next write of a
        // version removes these rows. The first error is the one to report.
      }
      throw storageFailure(error, this.db.name) ?? error;
    }
  }

  /** A staging dataset with an empty version (rows too, when `withRows`, for a caller's transaction). */
  private stageVersion(
    input: NewVersion,
    createdAt: string,
    withRows = true,
  ): { datasetId: number; versionId: number } {
    const stagingName = `${STAGING_PREFIX}${process.pid}/${randomBytes(6).toString('hex')}`;
    const datasetId = Number(this.q.insertDataset.run(stagingName, createdAt).lastInsertRowid);
    const versionId = Number(
      this.q.insertVersion.run({
        datasetId,
        version: 1,
        format: input.format,
        sourceFile: input.sourceFile,
        sourceSha256: input.sourceSha256,
        sourceBytes: input.sourceBytes,
        summary: '{}',
        createdAt,
      }).lastInsertRowid,
    );
    if (withRows) this.insertRows(versionId, input, false);
    return { datasetId, versionId };
  }

  /** The rows, CHUNK to a transaction (or all in the caller's, when `chunked` is false). */
  private insertRows(versionId: number, input: NewVersion, chunked = true): void {
    const rows: (() => void)[] = [
      ...input.examples.map(
        (e) => () =>
          this.q.insertExample.run(versionId, e.line, e.prompt, e.response, e.reward, e.rewardSource, json(e.metadata)),
      ),
      ...input.pairs.map(
        (p) => () => this.q.insertPair.run(versionId, p.line, p.prompt, p.chosen, p.rejected, json(p.metadata)),
      ),
    ];
    for (let start = 0; start < rows.length; start += CHUNK) {
      const chunk = rows.slice(start, start + CHUNK);
      const write = () => chunk.forEach((insert) => insert());
      if (!chunked) {
        write();
        continue;
      }
      this.db.transaction(write).immediate();
      // SQLite's lock is not fair: a waiting writer sleeps in its busy handler and polls, and a
      // writer that takes the lock again at once wins every time (measured: a rating submit
      // waited out the whole 1.4 s of 300 back-to-back chunks). A pause as long as a chunk lets
      // the waiters in; it costs about 1.5 s per 300,000 rows.
      if (start + CHUNK < rows.length) Atomics.wait(PAUSE, 0, 0, YIELD_MS);
    }
  }

  /** Moves a staged version under its real name as the next version, and drops the staging dataset. */
  private commitVersion(
    staged: { datasetId: number; versionId: number },
    input: NewVersion,
    createdAt: string,
  ): ImportSummary {
    const datasetId =
      this.q.datasetByName.get(input.name)?.id ??
      Number(this.q.insertDataset.run(input.name, createdAt).lastInsertRowid);
    const version = this.q.nextVersion.get(datasetId)?.next ?? 1;
    const summary: ImportSummary = { ...input.summary, version };
    this.q.moveVersion.run(datasetId, version, JSON.stringify(summary), staged.versionId);
    this.q.deleteDataset.run(staged.datasetId);
    return summary;
  }

  /** Staging sets left by processes that are gone (killed part way through a write). */
  private removeAbandonedStaging(): void {
    for (const { id, name } of this.q.staging.all(`${STAGING_PREFIX}%`)) {
      const pid = Number(name.slice(STAGING_PREFIX.length).split('/')[0]);
      if (pid !== process.pid && !processAlive(pid))
        this.db.transaction(() => this.q.deleteDataset.run(id)).immediate();
    }
  }
}

/** Staging datasets' names start with this; dataset names cannot (they start with a letter or digit). */
const STAGING_PREFIX = '/staging/';
/** Rows per transaction while a version is staged: about 8 ms of the write lock at full speed. */
const CHUNK = 2000;
/** The pause after each chunk, for other writers waiting on the lock. */
const YIELD_MS = 10;
/** Atomics.wait's cell: a synchronous sleep (the writes themselves are synchronous). */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

interface ExampleRow {
  id: number;
  line: number;
  prompt: string;
  response: string;
  reward: number | null;
  reward_source: string | null;
  metadata: string | null;
}

interface PairRow {
  id: number;
  line: number;
  prompt: string;
  chosen: string;
  rejected: string;
  metadata: string | null;
}

function toSummary(row: VersionRow): DatasetSummary {
  return {
    id: row.id,
    name: row.name,
    version: row.version,
    versions: row.versions,
    examples: row.examples,
    pairs: row.pairs,
    format: row.format,
    sourceFile: row.source_file,
    createdAt: row.created_at,
    summary: JSON.parse(row.summary) as ImportSummary,
  };
}

function toExample(row: ExampleRow): Example {
  return {
    id: row.id,
    line: row.line,
    prompt: row.prompt,
    response: row.response,
    reward: row.reward,
    rewardSource: row.reward_source,
    metadata: parseJson(row.metadata),
  };
}

function toPair(row: PairRow): Pair {
  return {
    id: row.id,
    line: row.line,
    prompt: row.prompt,
    chosen: row.chosen,
    rejected: row.rejected,
    metadata: parseJson(row.metadata),
  };
}
