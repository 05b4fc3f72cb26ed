/**
 * Training a Llama-family model (model new --arch llama: RMSNorm, rotary, SwiGLU, grouped-query
 * attention) through the backend's jobs, as GPT-2 is trained in train.test.ts: A-LoL (pi_ref and the
 * value head on the Llama reference) learns, and a run killed with SIGKILL resumes from its
 * checkpoint to the same weights as a run never interrupted.
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
      arch: 'llama',
      layers: 1,
      dim: 32,
      heads: 4,
      kvHeads: 2,
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

describe('training a Llama-family model', () => {
  it('trains with A-LoL into a stored Llama model, and a run killed with SIGKILL resumes to the same weights', async () => {
    const backend = await project();
    const whole = await runToEnd(backend, { ...base, algo: 'a_lol', out: 'whole' });
    expect(whole.status).toBe('succeeded');
    const metrics = await call(backend, 'runs.metrics', { runId: whole.id });
    expect(metrics.length).toBe(whole.totalSteps);
    expect(metrics.every((m) => Number.isFinite(m.metrics.loss))).toBe(true);
    const stored = await call(backend, 'models.get', { model: 'whole' });
    expect(stored).toMatchObject({ origin: 'trained', parent: 'base', shape: { family: 'llama', kvHeads: 2 } });
    // The weights moved, and every tensor is a Llama one (no GPT-2 name crept in).
    const start = weightsOf(backend, 'base');
    const trained = weightsOf(backend, 'whole');
    expect([...trained.keys()]).toEqual([...start.keys()]);
    expect([...trained.keys()]).toContain('model.layers.0.self_attn.k_proj.weight');
    expect(trained.get('model.layers.0.self_attn.k_proj.weight')!.shape).toEqual([16, 32]);
    expect(trained.get('model.layers.0.mlp.gate_proj.weight')!.data).not.toEqual(
      start.get('model.layers.0.mlp.gate_proj.weight')!.data,
    );

    const { runId, jobId } = await call(backend, 'runs.start', { ...base, algo: 'a_lol', out: 'killed' });
    await nextEvent(backend, 'runs.step', (s) => s.runId === runId && s.step >= 5);
    const died = nextEvent(backend, 'jobs.finished', (j) => j.id === jobId);
    process.kill(backend.jobs.processId(jobId) as number, 'SIGKILL');
    expect((await died).status).toBe('failed');
    expect((await call(backend, 'runs.get', { runId })).status).toBe('interrupted');

    const resumed = await jobOf(backend, () => call(backend, 'runs.resume', { runId }));
    expect(resumed.status).toBe('succeeded');
    expect(await call(backend, 'runs.get', { runId })).toMatchObject({ status: 'succeeded', step: whole.totalSteps });
    const b = weightsOf(backend, 'killed');
    expect([...b.keys()]).toEqual([...trained.keys()]);
    for (const [name, tensor] of trained) expect(b.get(name)?.data, name).toEqual(tensor.data);
  });
});
