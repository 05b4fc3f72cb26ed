/**
 * Training runs end to end through the backend, in real job processes: a run killed with SIGKILL
 * mid-way resumes from its last checkpoint and ends with exactly the weights of a run never
 * interrupted; the backend keeps answering while its job dies.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/main/app/backend';
import { readSafetensors } from '../../src/main/lm/safetensors';
import { call, jobEnd, jobOf, nextEvent, useBackends } from '../helpers/backend';
import { useTempDir } from '../helpers/tempDir';
import type { Input, RunSummary } from '../../src/shared/contract';

const tempDir = useTempDir();
const openBackend = useBackends();

async function project(): Promise<Backend> {
  const backend = openBackend(tempDir());
  await call(backend, 'datasets.demo', { name: 'demo', seed: 3, trainPrompts: 20 });
  const created = await jobOf(backend, () =>
    call(backend, 'models.create', {
      name: 'base',
      dataset: 'demo',
      layers: 1,
      dim: 32,
      heads: 2,
      context: 128,
      vocab: 300,
      seed: 1,
    }),
  );
  expect(created.status).toBe('succeeded');
  return backend;
}

async function runToEnd(backend: Backend, config: Input<'runs.start'>): Promise<RunSummary> {
  const { runId, jobId } = await call(backend, 'runs.start', config);
  await jobEnd(backend, jobId);
  return call(backend, 'runs.get', { runId });
}

function weightsOf(backend: Backend, model: string): Map<string, { shape: number[]; data: Float32Array }> {
  const folder = backend.db.prepare('SELECT folder FROM models WHERE name = ?').pluck().get(model) as string;
  return readSafetensors(join(backend.paths.models, folder, 'model.safetensors')).tensors;
}

const base = { data: 'demo', init: 'base', steps: 12, batch: 4, checkpointEvery: 4, seed: 5, lr: 1e-3 } as const;

describe('training runs', () => {
  it('trains nll, wbc, a_lol (demo reward) and dpo, recording metrics per step', async () => {
    const backend = await project();
    const nll = await runToEnd(backend, { ...base, algo: 'nll', out: 'sft' });
    expect(nll).toMatchObject({ status: 'succeeded', step: 12, totalSteps: 12 });
    const metrics = await call(backend, 'runs.metrics', { runId: nll.id });
    expect(metrics.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(metrics.every((m) => Number.isFinite(m.metrics.loss) && m.metrics.loss! > 0)).toBe(true);
    // It learned: a training response is likelier under the trained model than under its start.
    const [example] = (await call(backend, 'datasets.examples', { dataset: 'demo', limit: 1 })).rows;
    const score = async (model: string) => {
      const done = await jobOf(backend, () =>
        call(backend, 'models.logprobs', { model, text: `${example?.prompt}${example?.response}` }),
      );
      return (done.result?.logprobs as number[]).reduce((a, b) => a + b, 0);
    };
    expect(await score('sft')).toBeGreaterThan(await score('base'));

    expect(await runToEnd(backend, { ...base, algo: 'wbc', out: 'wbc', reward: 'column' })).toMatchObject({
      status: 'succeeded',
    });
    const alol = await runToEnd(backend, {
      ...base,
      algo: 'a_lol',
      init: 'sft',
      out: 'alol',
      reward: 'demo',
      valueEpochs: 2,
      maxNewTokens: 16,
    });
    expect(alol.status).toBe('succeeded');
    const advantages = alol.summary?.advantages as { positiveFraction: number; valueTargets: string };
    expect(advantages.valueTargets).toMatch(/the reference's decodes of held-out prompts, scored by demo/);
    expect((alol.summary?.advantages as { heldOut: { from: string } }).heldOut.from).toBe('validation split');
    expect(alol.totalSteps).toBe(Math.max(1, Math.round(12 * advantages.positiveFraction)));
    const alolMetrics = await call(backend, 'runs.metrics', { runId: alol.id });
    expect(Object.keys(alolMetrics[0]?.metrics ?? {})).toEqual(
      expect.arrayContaining(['alol/weight_mean', 'alol/clipped_low', 'alol/clipped_high', 'alol/positive_fraction']),
    );
    const dpo = await runToEnd(backend, { ...base, algo: 'dpo', init: 'sft', out: 'dpo', steps: 4 });
    expect(dpo.status).toBe('succeeded');
    const dpoMetrics = await call(backend, 'runs.metrics', { runId: dpo.id });
    expect(Object.keys(dpoMetrics[0]?.metrics ?? {})).toEqual(
      expect.arrayContaining([
        'rewards/chosen',
        'rewards/rejected',
        'rewards/accuracies',
        'rewards/margins',
        'logps/chosen',
        'logps/rejected',
      ]),
    );
    const models = await call(backend, 'models.list', {});
    expect(models.find((m) => m.name === 'alol')).toMatchObject({ origin: 'trained', parent: 'sft' });
  });

  it('cancels a run between steps, well before its end', async () => {
    const backend = await project();
    const { runId, jobId } = await call(backend, 'runs.start', { ...base, algo: 'nll', out: 'long', steps: 5000 });
    await nextEvent(backend, 'runs.step', (s) => s.runId === runId && s.step >= 2);
    const ended = nextEvent(backend, 'jobs.finished', (j) => j.id === jobId);
    expect(await call(backend, 'runs.cancel', { runId })).toEqual({ cancelled: true });
    expect((await ended).status).toBe('cancelled');
    const run = await call(backend, 'runs.get', { runId });
    expect(run.status).toBe('cancelled');
    expect(run.step).toBeLessThan(100);
  });

  it('resumes a run killed with SIGKILL and ends with the same weights as an uninterrupted run', async () => {
    const backend = await project();
    const whole = await runToEnd(backend, { ...base, algo: 'nll', out: 'whole' });
    expect(whole.status).toBe('succeeded');

    const { runId, jobId } = await call(backend, 'runs.start', { ...base, algo: 'nll', out: 'killed' });
    await nextEvent(backend, 'runs.step', (s) => s.runId === runId && s.step >= 6);
    const died = nextEvent(backend, 'jobs.finished', (j) => j.id === jobId);
    process.kill(backend.jobs.processId(jobId) as number, 'SIGKILL');
    expect((await died).status).toBe('failed');
    // The studio survives its job dying.
    expect((await call(backend, 'runs.get', { runId })).status).toBe('interrupted');
    expect((await call(backend, 'datasets.list', {})).length).toBe(1);

    const resumed = await jobOf(backend, () => call(backend, 'runs.resume', { runId }));
    expect(resumed.status).toBe('succeeded');
    const run = await call(backend, 'runs.get', { runId });
    expect(run).toMatchObject({ status: 'succeeded', step: 12 });
    expect((await call(backend, 'runs.metrics', { runId })).map((m) => m.step)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
    ]);

    const a = weightsOf(backend, 'whole');
    const b = weightsOf(backend, 'killed');
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [name, tensor] of a) expect(b.get(name)?.data, name).toEqual(tensor.data);
    expect(await backend.dispatch('runs.resume', { runId })).toMatchObject({ ok: false, error: { code: 'conflict' } });
  });
});
