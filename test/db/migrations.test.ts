import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate, openDb, schemaVersion, SchemaTooNewError } from '../../src/main/db/openDb';
import { SCHEMA_VERSION } from '../../src/main/db/migrations';
import { useTempDir } from '../helpers/tempDir';

const tempDir = useTempDir();

function schemaOf(file: string): string[] {
  const db = new Database(file, { readonly: true });
  const rows = db
    .prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name")
    .all();
  db.close();
  return rows.map((r) => JSON.stringify(r));
}

describe('openDb and migrations', () => {
  it('creates a new file at the current schema version with WAL and foreign keys on', () => {
    const file = join(tempDir(), 'studio.db');
    const db = openDb(file);
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
    expect(tables).toEqual(
      expect.arrayContaining(['datasets', 'dataset_versions', 'examples', 'preference_pairs', 'jobs']),
    );
    db.close();
  });

  it('upgrades from an empty file and from every earlier version to the same schema', () => {
    const reference = join(tempDir(), 'reference.db');
    openDb(reference).close();
    for (let from = 0; from < SCHEMA_VERSION; from++) {
      const file = join(tempDir(), `from-${from}.db`);
      const old = new Database(file);
      migrate(old, file, from);
      expect(schemaVersion(old)).toBe(from);
      old.close();
      const db = openDb(file);
      expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
      db.close();
      expect(schemaOf(file)).toEqual(schemaOf(reference));
    }
  });

  it('refuses a database made by a newer studio, and leaves it untouched', () => {
    const file = join(tempDir(), 'future.db');
    const future = new Database(file);
    future.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    future.close();
    expect(() => openDb(file)).toThrow(SchemaTooNewError);
    const db = new Database(file);
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION + 1);
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table'").pluck().get()).toBe(0);
    db.close();
  });

  it('enforces foreign keys: an example cannot point at a missing dataset version', () => {
    const db = openDb(join(tempDir(), 'fk.db'));
    expect(() =>
      db.prepare("INSERT INTO examples (version_id, line, prompt, response) VALUES (999, 1, 'p', 'r')").run(),
    ).toThrow(/FOREIGN KEY/);
    db.close();
  });
});
