/**
 * Job results are typed by kind: every kind's real result passes its schema in the contract
 * (jobResults) in the job process and reads back with jobResult, and the job process refuses a
 * result of another shape before it leaves.
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError, jobKinds, jobResult, jobResults, type Job, type JobKind } from '../../src/shared/contract';
import { checkedResult } from '../../src/main/app/jobKinds';
import { call, importPath, useBackends } from '../helpers/backend';
import { finished, TINY_MODEL } from '../helpers/campaign';
import { useTempDir } from '../helpers/tempDir';

const tempDir = useTempDir();
const openBackend = useBackends();
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

function job(kind: JobKind, result: Record<string, unknown> | null, status: Job['status'] = 'succeeded'): Job {
  return {
    id: 7,
    kind,
    status,
    createdAt: 'x',
    finishedAt: 'y',
    params: {},
    result,
    error: status === 'failed' ? { code: 'not_found', message: 'no model named "m"' } : null,
  };
}

const sample = { source: 'sample:3', count: 2, prompts: 1, model: 'm' };

describe('job results', () => {
  it('every job kind has a schema', () => {
    expect(Object.keys(jobResults).sort()).toEqual([...jobKinds].sort());
  });

  it('the job process refuses a result of another shape, and sends the one it checked as JSON carries it', () => {
    expect(() => checkedResult('sample', { ...sample, count: 'two' })).toThrow(AppError);
    expect(() => checkedResult('sample', { ...sample, count: 'two' })).toThrow(
      /the sample job's result does not match the contract: count: /,
    );
    expect(() => checkedResult('generate', { generations: [] })).toThrow(/tensorBackend/);
    expect(() => checkedResult('import', undefined)).toThrow(/\(result\)/);
    for (const kind of jobKinds) expect(() => checkedResult(kind, {}), kind).toThrow(AppError);
    try {
      checkedResult('campaign', { campaign: 'c' });
    } catch (error) {
      expect((error as AppError).code).toBe('internal');
    }
    // Fields the contract does not name are not sent; a NaN crosses as null, as JSON would carry it.
    expect(checkedResult('sample', { ...sample, stray: 1 })).toEqual(sample);
    const train = {
      model: 'm',
      steps: 1,
      rewardSource: 'none',
      data: { source: 'examples', trainItems: 4, heldOutItems: 0 },
      finalMetrics: { loss: Number.NaN, grad_norm: 1 },
    };
    expect(checkedResult('train', train).finalMetrics).toEqual({ loss: null, grad_norm: 1 });
  });

  it('jobResult reads a finished job by its kind, or says why it cannot', () => {
    const read = jobResult(job('sample', sample), 'sample');
    expect(read.source).toBe('sample:3');
    expect(() => jobResult(job('sample', sample), 'generate')).toThrow(/job 7 is a sample job, not generate/);
    expect(() => jobResult(job('sample', null, 'failed'), 'sample')).toThrow('no model named "m"');
    expect(() => jobResult(job('sample', { source: 3 }), 'sample')).toThrow(
      /the sample job 7 finished, but its result has an unexpected shape: source: /,
    );
    try {
      jobResult(job('sample', { source: 3 }), 'sample');
    } catch (error) {
      expect((error as AppError).code).toBe('bad_response');
    }
  });

  it("each kind's real result parses with its schema", async () => {
    const backend = openBackend(tempDir());
    const results = new Map<JobKind, Job>();
    const keep = (j: Job) => {
      results.set(j.kind, j);
      return j;
    };
    keep(await importPath(backend, fixture('hh-pairs.jsonl'), 'prefs'));
    await call(backend, 'datasets.demo', { name: 'demo', trainPrompts: 20 });
    keep(
      await finished(backend, () =>
        call(backend, 'models.create', { name: 'base', dataset: 'demo', ...TINY_MODEL, seed: 1 }),
      ),
    );
    const folder = join(tempDir(), 'exported');
    await call(backend, 'models.export', { model: 'base', path: folder });
    keep(await finished(backend, () => call(backend, 'models.import', { path: folder, name: 'again' })));
    keep(
      await finished(backend, () =>
        call(backend, 'models.generate', { model: 'base', prompts: ['Hello'], settings: { maxNewTokens: 4 } }),
      ),
    );
    keep(await finished(backend, () => call(backend, 'models.logprobs', { model: 'base', text: 'Hello there' })));
    keep(
      await finished(backend, () =>
        call(backend, 'samples.create', {
          model: 'base',
          prompts: { texts: ['Hi', 'Yo'] },
          reward: 'demo',
          settings: { maxNewTokens: 4 },
        }),
      ),
    );
    keep(
      await finished(backend, () =>
        call(backend, 'campaigns.create', {
          name: 'c',
          models: ['base', 'again'],
          prompts: { dataset: 'demo', split: 'test' },
          n: 2,
          settings: { maxNewTokens: 4 },
        }),
      ),
    );
    keep(
      await finished(backend, async () =>
        call(backend, 'runs.start', {
          algo: 'a_lol',
          data: 'demo',
          init: 'base',
          out: 'tuned',
          steps: 2,
          batch: 4,
          valueEpochs: 1,
        }),
      ),
    );
    keep(
      await finished(backend, () =>
        call(backend, 'rewards.trainModel', { dataset: 'prefs', base: 'base', name: 'rm', epochs: 2 }),
      ),
    );

    expect([...results.keys()].sort()).toEqual([...jobKinds].sort());
    for (const [kind, j] of results) {
      // A job that succeeded sent what its schema reads, as stored and as read back.
      expect(jobResults[kind].parse(j.result), kind).toEqual(j.result);
      expect(jobResult(j, kind), kind).toEqual(j.result);
    }
    expect(jobResult(results.get('generate')!, 'generate').generations).toHaveLength(1);
    expect(jobResult(results.get('train')!, 'train').advantages?.positiveFraction).toBeGreaterThan(0);
    expect(jobResult(results.get('reward-model')!, 'reward-model')).toMatchObject({
      reward: 'rm:rm',
      dataset: { name: 'prefs' },
      campaign: null,
    });
    // The sample job names its tensor backend, as generate does; the run records it.
    const { tensorBackend } = jobResult(results.get('generate')!, 'generate');
    expect(jobResult(results.get('sample')!, 'sample')).toMatchObject({ count: 2, reward: 'demo', tensorBackend });
    const runId = (results.get('train')!.params as { runId: number }).runId;
    expect((await call(backend, 'runs.get', { runId })).tensorBackends.map((b) => b.backend)).toEqual([tensorBackend]);
  }, 240_000);
});
