import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DatasetStore } from '../../src/main/data/datasetStore';
import { storeDemoTask } from '../../src/main/data/demo';
import { openDb, type Db } from '../../src/main/db/openDb';
import { useTempDir } from '../helpers/tempDir';

const tempDir = useTempDir();
const dbs: Db[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
});

describe('storeDemoTask', () => {
  it('stores the task as a dataset version, rewards and metadata included', () => {
    const db = openDb(join(tempDir(), 'studio.db'));
    dbs.push(db);
    const store = new DatasetStore(db);
    const options = { seed: 5, trainPrompts: 30, validationPrompts: 5, testPrompts: 5 };
    const { summary, task } = storeDemoTask(store, 'demo', options);
    expect(summary).toMatchObject({
      dataset: 'demo',
      version: 1,
      examples: task.examples.length,
      pairs: task.pairs.length,
      emptyResponses: 0,
    });
    expect(summary.rewardMin).toBeGreaterThanOrEqual(0);
    expect(summary.rewardMax).toBeLessThanOrEqual(1);
    // Repeated replies are the point of the task: the summary counts them.
    expect(summary.duplicates).toBeGreaterThan(0);

    const stored = store.get('demo');
    expect(stored.format).toBe('demo');
    expect(stored.sourceFile).toContain('seed 5');
    const page = store.examples('demo', undefined, 0, 3);
    expect(page.total).toBe(40 * 8);
    expect(page.rows[0]).toMatchObject({
      prompt: task.examples[0]!.prompt,
      response: task.examples[0]!.response,
      reward: task.examples[0]!.reward,
      rewardSource: 'demo',
    });
    expect(page.rows[0]!.metadata).toEqual(task.examples[0]!.metadata);

    // The same options again: a new version with the same content hash.
    storeDemoTask(store, 'demo', options);
    const hashes = db.prepare('SELECT source_sha256 FROM dataset_versions ORDER BY version').all() as {
      source_sha256: string;
    }[];
    expect(hashes).toHaveLength(2);
    expect(hashes[0]!.source_sha256).toBe(hashes[1]!.source_sha256);
  });
});
