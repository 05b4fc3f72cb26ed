/**
 * LoRA runs through the backend's jobs on a model new --arch llama model: A-LoL trains only the
 * adapters (finite losses, adapters moved, the base's untargeted weights untouched), pi_ref is the
 * frozen base with the adapters off (the job holds one set of base weights: its tf.Variables are the
 * base's, the adapters' and their two AdamW moments, no reference copy), the stored model is the
 * merge and equals base + adapter from the saved PEFT folder; nll and dpo train with LoRA too; a
 * LoRA run killed with SIGKILL resumes from its adapter checkpoint to the same weights.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/main/app/backend';
import { readSafetensors } from '../../src/main/lm/safetensors';
import { LoraAdapters, readPeftAdapter } from '../../src/main/lm/lora';
import { loadModelFolder } from '../../src/main/models/modelFamily';
import { call, jobEnd, jobOf, nextEvent, useBackends } from '../helpers/backend';
import { useTempDir } from '../helpers/tempDir';
import { maxAbsDiff, useWasm } from '../lm/model/helpers';
import { RunConfig, type Input, type RunSummary } from '../../src/shared/contract';

const tempDir = useTempDir();
const openBackend = useBackends();
beforeAll(useWasm);

async function project(): Promise<Backend> {
  const backend = openBackend(tempDir());
  await call(backend, 'datasets.demo', { name: 'demo', seed: 3, trainPrompts: 20 });
  const created = await jobOf(backend, () =>
    call(backend, 'models.create', {
      name: 'base',
      dataset: 'demo',
      arch: 'llama',
      layers: 2,
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

const folderOf = (backend: Backend, model: string): string =>
  join(
    backend.paths.models,
    backend.db.prepare('SELECT folder FROM models WHERE name = ?').pluck().get(model) as string,
  );
const weightsOf = (backend: Backend, model: string) =>
  readSafetensors(join(folderOf(backend, model), 'model.safetensors')).tensors;

const lora = { r: 4, alpha: 8, dropout: 0.05, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const };
const base = {
  data: 'demo',
  init: 'base',
  steps: 8,
  batch: 4,
  checkpointEvery: 3,
  seed: 5,
  lr: 5e-3,
  lora: { ...lora, targets: [...lora.targets] },
};

describe('LoRA training runs', () => {
  it('refuses another reference under LoRA', () => {
    const parsed = RunConfig.safeParse({ ...base, algo: 'a_lol', out: 'x', ref: 'other' });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]).toMatchObject({
      path: ['ref'],
      message: expect.stringMatching(/frozen init model/),
    });
  });

  it('A-LoL with LoRA trains only the adapters, with pi_ref the frozen base; the stored merge equals base + adapter', async () => {
    const backend = await project();
    const run = await runToEnd(backend, { ...base, algo: 'a_lol', out: 'tuned' });
    expect(run.status).toBe('succeeded');
    const metrics = await call(backend, 'runs.metrics', { runId: run.id });
    expect(metrics.length).toBe(run.totalSteps);
    expect(metrics.every((m) => Number.isFinite(m.metrics.loss))).toBe(true);

    const info = run.summary!.lora as Record<string, number | string>;
    expect(info).toMatchObject({ r: 4, alpha: 8, adapterTensors: 2 * 7 * 2 });
    // One set of base weights in the job: base + adapters; on wasm AdamW's moments are host arrays (optim.ts).
    expect(info.tfVariables).toBe(Number(info.baseTensors) + Number(info.adapterTensors));

    const stored = await call(backend, 'models.get', { model: 'tuned' });
    expect(stored.source).toMatch(/\(base \+ LoRA r=4, merged\)/);
    const start = weightsOf(backend, 'base');
    const merged = weightsOf(backend, 'tuned');
    // Untargeted weights (embeddings, norms) are the base's bit for bit; targeted ones moved.
    for (const name of ['model.embed_tokens.weight', 'model.norm.weight', 'model.layers.1.input_layernorm.weight'])
      expect(merged.get(name)!.data, name).toEqual(start.get(name)!.data);
    expect(
      maxAbsDiff(
        merged.get('model.layers.0.mlp.down_proj.weight')!.data,
        start.get('model.layers.0.mlp.down_proj.weight')!.data,
      ),
    ).toBeGreaterThan(0);

    // The PEFT folder (in the run folder and beside the stored model) loads back onto the base.
    const adapterDir = join(backend.paths.dir, String(info.adapter));
    expect(existsSync(join(folderOf(backend, 'tuned'), 'adapter', 'adapter_config.json'))).toBe(true);
    const peft = readPeftAdapter(adapterDir);
    expect(peft.baseModel).toBe('base');
    expect(peft.config).toEqual({ ...lora, targets: [...lora.targets] });
    const bName = 'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight';
    expect(peft.weights.get(bName)!.data.some((x) => x !== 0)).toBe(true);

    const baseModel = loadModelFolder(folderOf(backend, 'base'));
    const adapters = LoraAdapters.fromWeights(baseModel, peft.config, peft.weights);
    const mergedModel = loadModelFolder(folderOf(backend, 'tuned'));
    const ids = tf.tensor2d([[5, 17, 42, 8, 99, 3]], [1, 6], 'int32');
    const a = baseModel.forward(ids);
    const b = mergedModel.forward(ids);
    expect(maxAbsDiff(a.dataSync(), b.dataSync())).toBeLessThan(1e-5);
    tf.dispose([a, b, ids]);

    // models.merge (alol model merge) of the same PEFT folder into the base stores the same weights.
    const merged2 = await call(backend, 'models.merge', { model: 'base', adapter: adapterDir, out: 'merged' });
    expect(merged2).toMatchObject({ name: 'merged', parent: 'base', origin: 'trained' });
    expect(merged2.source).toMatch(/base base \+ LoRA r=4 alpha=8/);
    const again = weightsOf(backend, 'merged');
    for (const [name, t] of merged) expect(again.get(name)?.data, name).toEqual(t.data);
    await expect(call(backend, 'models.merge', { model: 'base', adapter: adapterDir, out: 'merged' })).rejects.toThrow(
      /exists already/,
    );
    adapters.dispose();
    baseModel.dispose();
    mergedModel.dispose();
  });

  it('nll and dpo train with LoRA', async () => {
    const backend = await project();
    for (const algo of ['nll', 'dpo'] as const) {
      const run = await runToEnd(backend, { ...base, algo, out: `${algo}-lora`, steps: 3 });
      expect(run.status, algo).toBe('succeeded');
      const metrics = await call(backend, 'runs.metrics', { runId: run.id });
      expect(metrics.every((m) => Number.isFinite(m.metrics.loss))).toBe(true);
      const info = run.summary!.lora as Record<string, number>;
      expect(info.baseTensors).toBeGreaterThan(0);
      expect(info.tfVariables).toBe(info.baseTensors! + info.adapterTensors!);
    }
  });

  it('a LoRA run killed with SIGKILL resumes to the same weights as one never interrupted', async () => {
    const backend = await project();
    const whole = await runToEnd(backend, { ...base, algo: 'nll', out: 'whole', steps: 12 });
    expect(whole.status).toBe('succeeded');
    const { runId, jobId } = await call(backend, 'runs.start', { ...base, algo: 'nll', out: 'killed', steps: 12 });
    await nextEvent(backend, 'runs.step', (s) => s.runId === runId && s.step >= 4);
    const died = nextEvent(backend, 'jobs.finished', (j) => j.id === jobId);
    process.kill(backend.jobs.processId(jobId) as number, 'SIGKILL');
    expect((await died).status).toBe('failed');
    const resumed = await jobOf(backend, () => call(backend, 'runs.resume', { runId }));
    expect(resumed.status).toBe('succeeded');
    const a = weightsOf(backend, 'whole');
    const b = weightsOf(backend, 'killed');
    for (const [name, t] of a) expect(b.get(name)?.data, name).toEqual(t.data);
  });
});
