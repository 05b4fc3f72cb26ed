import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../../src/main/db/openDb';
import { DatasetStore } from '../../src/main/data/datasetStore';
import { importFile } from '../../src/main/data/importService';
import { AppError } from '../../src/shared/contract';
import { useTempDir } from '../helpers/tempDir';

const tempDir = useTempDir();
const dbs: Db[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
});
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

function openStore(): { db: Db; store: DatasetStore } {
  const db = openDb(join(tempDir(), 'studio.db'));
  dbs.push(db);
  return { db, store: new DatasetStore(db) };
}

/** Every row of every data table: "unchanged" means exactly this, before and after. */
function snapshot(db: Db): unknown {
  return ['datasets', 'dataset_versions', 'examples', 'preference_pairs'].map((t) =>
    db.prepare(`SELECT * FROM ${t} ORDER BY id`).all(),
  );
}

const good = '{"prompt": "p", "response": "r", "reward": 0.5}\n';
const gzipped = gzipSync(Buffer.from(good.repeat(2000)));

const malformed: { name: string; content: string | Buffer; line: number; field?: string; message: RegExp }[] = [
  { name: 'bad-json.jsonl', content: good + '{"prompt": "p", "response": \n', line: 2, message: /JSON/i },
  {
    name: 'missing-field.jsonl',
    content: good + '{"prompt": "p", "reward": 1}\n',
    line: 2,
    field: 'response',
    message: /missing|required/i,
  },
  {
    name: 'wrong-type.jsonl',
    content: good + good + '{"prompt": "p", "response": "r", "reward": "high"}\n',
    line: 3,
    field: 'reward',
    message: /number/i,
  },
  { name: 'empty.jsonl', content: '', line: 0, message: /no records|empty/i },
  {
    name: 'latin1.jsonl',
    content: Buffer.concat([
      Buffer.from(good),
      Buffer.from('{"prompt": "caf'),
      Buffer.from([0xe9]),
      Buffer.from('", "response": "r"}\n'),
    ]),
    line: 2,
    message: /UTF-8/,
  },
  {
    name: 'huge-line.jsonl',
    content: good + `{"prompt": "${'x'.repeat(10 * 1024 * 1024)}", "response": "r"}\n`,
    line: 2,
    message: /longer than|limit|MiB|MB/i,
  },
  {
    name: 'truncated.jsonl.gz',
    content: gzipped.subarray(0, Math.floor(gzipped.length / 2)),
    line: -1,
    message: /gzip|truncated|unexpected end|corrupt/i,
  },
];

describe('import service: all or nothing', () => {
  it('stores a good file as one new version with its summary', async () => {
    const { store } = openStore();
    const summary = await importFile(store, {
      path: fixture('triples.jsonl'),
      name: 'triples',
      format: 'auto',
      fields: {},
    });
    expect(summary).toMatchObject({
      version: 1,
      examples: 5,
      rewardMin: 0,
      rewardMax: 1,
      duplicates: 1,
      emptyResponses: 1,
    });
    expect(summary.rewardMean).toBeCloseTo((1 + 0 + 0.8 + 0.1 + 1) / 5, 10);
  });

  for (const bad of malformed) {
    it(`refuses ${bad.name} with a clear error and leaves the database unchanged`, async () => {
      const { db, store } = openStore();
      await importFile(store, { path: fixture('hh-pairs.jsonl'), name: 'existing', format: 'auto', fields: {} });
      const before = snapshot(db);
      const file = join(tempDir(), bad.name);
      writeFileSync(file, bad.content);
      const error = await importFile(store, { path: file, name: 'existing', format: 'auto', fields: {} }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(AppError);
      const appError = error as AppError;
      expect(appError.code).toBe('import_invalid');
      expect(appError.message).toContain(bad.name);
      const issue = appError.issues?.[0];
      expect(issue?.file).toBe(bad.name);
      if (bad.line >= 0) expect(issue?.line).toBe(bad.line);
      else expect(issue?.line).toBeGreaterThan(0);
      if (bad.field) expect(issue?.field).toBe(bad.field);
      expect(issue?.message).toMatch(bad.message);
      expect(snapshot(db)).toEqual(before);
    });
  }

  it('rolls back every row when the database fails part-way through the write', async () => {
    const { db, store } = openStore();
    const before = snapshot(db);
    db.exec(`CREATE TRIGGER fail_third AFTER INSERT ON examples WHEN (SELECT count(*) FROM examples) >= 3
             BEGIN SELECT RAISE(ABORT, 'disk trouble'); END`);
    await expect(
      importFile(store, { path: fixture('triples.jsonl'), name: 'triples', format: 'auto', fields: {} }),
    ).rejects.toThrow(/disk trouble/);
    expect(snapshot(db)).toEqual(before);
  });
});
