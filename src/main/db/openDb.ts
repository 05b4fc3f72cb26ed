import Database from 'better-sqlite3';
import { migrations, SCHEMA_VERSION } from './migrations';

export type Db = Database.Database;

export class SchemaTooNewError extends Error {
  constructor(file: string, found: number) {
    super(
      `${file}: schema version ${found} is newer than this A-LoL Studio understands (${SCHEMA_VERSION}); ` +
        'update the studio rather than open this project with an older one',
    );
    this.name = 'SchemaTooNewError';
  }
}

/**
 * The only way to get a connection: WAL so the job process and the UI read and write side by side,
 * foreign keys on, a busy timeout for the other process's write lock, synchronous=FULL because
 * ratings are few and precious; then the migrations.
 */
export function openDb(file: string, options: { readonly?: boolean } = {}): Db {
  const db = new Database(file, { readonly: options.readonly ?? false });
  try {
    db.pragma('busy_timeout = 10000');
    if (!options.readonly) db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('synchronous = FULL');
    if (!options.readonly) migrate(db, file);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings the file up to SCHEMA_VERSION one step per immediate transaction, so a crash mid-way loses
 * nothing. Foreign keys are off while a step runs (SQLite's procedure for rebuilding a table: with
 * them on, dropping the old table would cascade into the rows that point at it) and every
 * reference is checked before the step commits.
 */
export function migrate(db: Db, file: string, target = SCHEMA_VERSION): void {
  const found = schemaVersion(db);
  if (found > SCHEMA_VERSION) throw new SchemaTooNewError(file, found);
  if (found >= target) return;
  const foreignKeys = db.pragma('foreign_keys', { simple: true }) as number;
  db.pragma('foreign_keys = OFF');
  try {
    for (let version = found; version < target; version++) {
      const step = migrations[version];
      if (step === undefined) throw new Error(`missing migration ${version + 1}`);
      db.transaction(() => {
        db.exec(step);
        const broken = db.pragma('foreign_key_check') as unknown[];
        if (broken.length > 0)
          throw new Error(`${file}: migration ${version + 1} would leave ${broken.length} broken references`);
        db.pragma(`user_version = ${version + 1}`);
      }).immediate();
    }
  } finally {
    db.pragma(`foreign_keys = ${foreignKeys === 1 ? 'ON' : 'OFF'}`);
  }
}
