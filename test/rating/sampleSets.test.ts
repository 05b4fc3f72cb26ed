import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/main/app/backend';
import { call, openBackend } from '../helpers/backend';
import { campaignProject, finished } from '../helpers/campaign';
import { useSuiteTempDir } from '../helpers/tempDir';

describe('a campaign whose systems include a sample set', () => {
  const dir = useSuiteTempDir('alol-sample-sets-');
  let backend: Backend;
  let set = '';

  beforeAll(async () => {
    backend = openBackend(dir());
    await campaignProject(backend, { name: 'models-only', n: 2 });
    // Three test prompts answered by sys-alpha at a high temperature: a set unlike its other samples.
    const texts = backend.db
      .prepare<[], string>(
        "SELECT DISTINCT prompt FROM examples WHERE json_extract(metadata, '$.split') = 'test' ORDER BY id LIMIT 3",
      )
      .pluck()
      .all();
    expect(texts).toHaveLength(3);
    const job = await finished(backend, () =>
      call(backend, 'samples.create', {
        model: 'sys-alpha',
        prompts: { texts },
        settings: { maxNewTokens: 8, greedy: false, temperature: 1.5, seed: 9 },
      }),
    );
    set = String(job.result?.source);
    expect(set).toMatch(/^sample:\d+$/);
  }, 120_000);

  afterAll(() => {
    backend.close();
  });

  it("compares a model with the set's own responses, used as they are", async () => {
    await finished(backend, () =>
      call(backend, 'campaigns.create', {
        name: 'with-set',
        models: ['sys-beta', set],
        prompts: { dataset: 'demo', split: 'test' },
        n: 3,
        settings: { maxNewTokens: 8 },
      }),
    );
    const campaign = await call(backend, 'campaigns.get', { campaign: 'with-set' });
    expect(campaign).toMatchObject({ status: 'ready', systems: ['sys-beta', set], items: 3 });
    const source = backend.db.prepare<[number], string>('SELECT source FROM samples WHERE id = ?').pluck();
    const items = (await call(backend, 'campaigns.items', { campaign: 'with-set' })).rows;
    expect(items).toHaveLength(3);
    for (const item of items) {
      const side = item.first.system === set ? item.first : item.second;
      expect(source.get(side.sampleId)).toBe(set);
    }
    // Results describe the set by its own three responses, not by all of its model's.
    const results = await call(backend, 'results.get', { campaign: 'with-set', reps: 20 });
    expect(results.models.find((m) => m.model === set)?.samples).toBe(3);
  });

  it('refuses a set it cannot use: unknown, or answering fewer prompts than asked', async () => {
    expect(
      await backend.dispatch('campaigns.create', {
        name: 'x',
        models: ['sys-beta', 'sample:999'],
        prompts: { dataset: 'demo' },
        n: 1,
      }),
    ).toMatchObject({
      ok: false,
      error: { code: 'not_found', message: 'no samples come from "sample:999"' },
    });
    const started = await call(backend, 'campaigns.create', {
      name: 'too-many',
      models: ['sys-beta', set],
      prompts: { dataset: 'demo', split: 'test' },
      n: 4,
    });
    await expect(finished(backend, async () => started)).rejects.toThrow(
      /has 3 distinct prompts that sample:\d+ answered/,
    );
    expect((await call(backend, 'campaigns.get', { campaign: 'too-many' })).status).toBe('failed');
  });

  it('retrains from the first model when the other system is a set', async () => {
    const who = {
      campaign: 'with-set',
      annotator: (await call(backend, 'annotators.add', { campaign: 'with-set', name: 'ann', link: false })).annotator
        .id,
    };
    let item = (await call(backend, 'rating.next', who)).item;
    while (item)
      item = (
        await call(backend, 'rating.submit', {
          ...who,
          assignmentId: item.assignmentId,
          helpful: 'left',
          safe: 'both_good',
          activeMs: 100,
        })
      ).next;
    const started = await call(backend, 'campaigns.retrain', { campaign: 'with-set', steps: 2, batch: 2, force: true });
    expect(started.model).toBe('sys-beta-with-set');
  });
});
