/**
 * Training survives kill -9 anywhere (issue 15, item 3). For nll, a_lol, a_lol_seq, dpo and a_lol
 * with LoRA adapters on a Llama base, a run
 * in a real job process is killed with SIGKILL at seeded moments (ALOL_TEST_KILL_AT, read by
 * core/killPoint.ts in the job): during the value-target decodes, the value head's fit, between the
 * head's two files, before and after the advantage pass, after a step, and at every stage of a
 * checkpoint's write (a temporary file written, each rename, the manifest's commit, the pruning of
 * older checkpoints), and at the store of the trained model (before it, or after it and before
 * the job could report it: the resumed run keeps the model it stored). Each kill is followed by runs.resume, which the next kill stops again; the
 * last resume runs to the end, and the stored model must be bit for bit the one an uninterrupted
 * run with the same seed stores.
 *
 * CI kills each run at 3 moments; ALOL_KILL_POINTS=10 kills at 10, ALOL_KILL_SEED picks others.
 * Separately, a checkpoint torn on disk after it was written (truncated, or a flipped byte) is
 * caught by its manifest's hash and the run resumes from the one before it, to the same weights.
 */
import { readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/main/app/backend';
import { Rng } from '../../src/main/core/rng';
import { readSafetensors } from '../../src/main/lm/safetensors';
import { call, jobEnd, jobOf, useBackends } from '../helpers/backend';
import { useTempDir } from '../helpers/tempDir';
import type { Input, Job } from '../../src/shared/contract';

const tempDir = useTempDir();
const openBackend = useBackends();

const KILLS = Number(process.env.ALOL_KILL_POINTS ?? 3);
const SEED = Number(process.env.ALOL_KILL_SEED ?? 1);
/** Stages of one checkpoint write (checkpoint.ts writeCheckpoint): 3 files written, 3 renamed, committed, pruned. */
const CHECKPOINT_STAGES = 8;
/** From this stage on, the checkpoint's manifest is in place: the kill leaves a whole checkpoint. */
const COMMITTED_STAGE = 6;

async function project(arch: 'gpt2' | 'llama' = 'gpt2'): Promise<Backend> {
  const backend = openBackend(tempDir());
  await call(backend, 'datasets.demo', { name: 'demo', seed: 3, trainPrompts: 20 });
  const shape = arch === 'llama' ? { arch, heads: 4, kvHeads: 2 } : { heads: 2 };
  const created = await jobOf(backend, () =>
    call(backend, 'models.create', {
      name: 'base',
      dataset: 'demo',
      layers: 1,
      dim: 32,
      ...shape,
      context: 128,
      vocab: 300,
      seed: 1,
    }),
  );
  expect(created.status).toBe('succeeded');
  return backend;
}

function weightsOf(backend: Backend, model: string): Map<string, { shape: number[]; data: Float32Array }> {
  const folder = backend.db.prepare('SELECT folder FROM models WHERE name = ?').pluck().get(model) as string;
  return readSafetensors(join(backend.paths.models, folder, 'model.safetensors')).tensors;
}

function expectSameWeights(backend: Backend, a: string, b: string): void {
  const x = weightsOf(backend, a);
  const y = weightsOf(backend, b);
  expect([...y.keys()]).toEqual([...x.keys()]);
  for (const [name, tensor] of x) {
    const same = Buffer.compare(Buffer.from(tensor.data.buffer), Buffer.from(y.get(name)!.data.buffer)) === 0;
    expect(same, `${name} of ${b} differs from ${a}`).toBe(true);
  }
}

/** Starts (or resumes) a run's job with ALOL_TEST_KILL_AT set for that one job process, and waits for its end. */
async function withKill(
  backend: Backend,
  killAt: string | null,
  start: () => Promise<{ jobId: number }>,
): Promise<Job> {
  if (killAt) process.env.ALOL_TEST_KILL_AT = killAt;
  let jobId: number;
  try {
    // The job process is forked inside the call, with the environment of that moment.
    ({ jobId } = await start());
  } finally {
    delete process.env.ALOL_TEST_KILL_AT;
  }
  return jobEnd(backend, jobId);
}

const base = { data: 'demo', init: 'base', batch: 4, checkpointEvery: 2, seed: 5, lr: 1e-3 } as const;
type Algo = 'nll' | 'a_lol' | 'a_lol_seq' | 'dpo' | 'a_lol with LoRA (Llama)';
const configs: Record<Algo, Omit<Input<'runs.start'>, 'out'>> = {
  nll: { ...base, algo: 'nll', steps: 10 },
  a_lol: { ...base, algo: 'a_lol', steps: 14, reward: 'demo', valueEpochs: 2, maxNewTokens: 8 },
  a_lol_seq: { ...base, algo: 'a_lol_seq', steps: 14, reward: 'demo', valueEpochs: 2, maxNewTokens: 8 },
  dpo: { ...base, algo: 'dpo', steps: 8 },
  // Adapters with dropout on a frozen Llama base that is also pi_ref (lm/lora.ts).
  'a_lol with LoRA (Llama)': {
    ...base,
    algo: 'a_lol',
    steps: 10,
    reward: 'demo',
    valueEpochs: 2,
    maxNewTokens: 8,
    lora: { r: 4, alpha: 8, dropout: 0.05, targets: ['q', 'v', 'up'] },
  },
};

/**
 * The kill moments of one run, in the order its processes reach them: first (A-LoL variants) a
 * seeded subset of the moments before training, each of which a resumed process passes again
 * (the value head and the advantages are cached only once whole); then steps and checkpoint
 * stages, chosen so each one is reached by the process it is meant for, simulating where each kill
 * leaves the run's last whole checkpoint.
 */
function killPlan(algo: Algo, totalSteps: number, kills: number, rng: Rng): string[] {
  const plan: string[] = [];
  if (configs[algo].algo !== 'nll' && configs[algo].algo !== 'dpo') {
    const before = ['value-targets:1', 'value-fit:1', 'value-fit:2', 'value-head:1', 'advantages:1', 'advantages:2'];
    const take = Math.min(before.length, Math.max(1, Math.round(kills / 3)));
    const chosen = new Set<number>();
    while (chosen.size < take) chosen.add(rng.int(before.length));
    for (const i of [...chosen].sort((a, b) => a - b)) plan.push(before[i]!);
  }
  let checkpointed = 0;
  const every = base.checkpointEvery;
  // The last kill is at the store of the trained model (before it, or after it and before the job
  // reports it), which every process that is not killed earlier reaches.
  while (plan.length < kills - 1 && checkpointed < totalSteps) {
    const left = totalSteps - checkpointed;
    if (rng.uniform() < 0.4 && left >= 1) {
      plan.push(`step:${1 + rng.int(Math.min(every, left))}`);
    } else {
      const stage = 1 + rng.int(CHECKPOINT_STAGES);
      plan.push(`checkpoint:${stage}`);
      if (stage >= COMMITTED_STAGE) checkpointed = Math.min(checkpointed + every, totalSteps);
    }
  }
  plan.push(`saving:${1 + rng.int(2)}`);
  return plan;
}

describe('training survives kill -9 anywhere', () => {
  for (const [index, algo] of (Object.keys(configs) as Algo[]).entries()) {
    it(`${algo}: killed at ${KILLS} seeded moments and resumed each time, it ends bit-identical to an uninterrupted run`, async () => {
      const config = configs[algo];
      const backend = await project(config.lora ? 'llama' : 'gpt2');
      let wholeId = 0;
      const whole = await withKill(backend, null, async () => {
        const started = await call(backend, 'runs.start', { ...config, out: 'whole' });
        wholeId = started.runId;
        return started;
      });
      expect(whole.status, JSON.stringify(whole.error)).toBe('succeeded');
      const totalSteps = (await call(backend, 'runs.get', { runId: wholeId })).totalSteps!;

      const plan = killPlan(algo, totalSteps, KILLS, new Rng(SEED * 16 + index));
      const fired: string[] = [];
      let runId = 0;
      for (const [i, killAt] of plan.entries()) {
        const job = await withKill(backend, killAt, async () => {
          if (i === 0) {
            const started = await call(backend, 'runs.start', { ...config, out: 'killed' });
            runId = started.runId;
            return started;
          }
          return call(backend, 'runs.resume', { runId });
        });
        // Killed where planned: the job died without a result, and the run waits to be resumed.
        expect(job.status, `${killAt}: ${JSON.stringify(job.error)}`).toBe('failed');
        expect(job.error?.code, killAt).toBe('crashed');
        expect((await call(backend, 'runs.get', { runId })).status).toBe('interrupted');
        fired.push(killAt);
      }
      expect(fired).toEqual(plan);
      expect(plan.length).toBeGreaterThanOrEqual(Math.min(KILLS, 3));

      const last = await withKill(backend, null, () => call(backend, 'runs.resume', { runId }));
      expect(last.status, JSON.stringify(last.error)).toBe('succeeded');
      const run = await call(backend, 'runs.get', { runId });
      expect(run).toMatchObject({ status: 'succeeded', step: totalSteps, totalSteps });
      expect((await call(backend, 'runs.metrics', { runId })).map((m) => m.step)).toEqual(
        Array.from({ length: totalSteps }, (_, k) => k + 1),
      );
      expectSameWeights(backend, 'whole', 'killed');
      console.log(`${algo}: ${totalSteps} steps, killed at ${plan.join(', ')}`);
    }, 600_000);
  }

  it('skips a checkpoint torn on disk (truncated, or a flipped byte) for the one before it, to the same weights', async () => {
    const backend = await project();
    const config = { ...configs.nll, steps: 8 };
    const whole = await withKill(backend, null, () => call(backend, 'runs.start', { ...config, out: 'whole' }));
    expect(whole.status).toBe('succeeded');

    // Killed after step 7: whole checkpoints at steps 4 and 6 (and 2 pruned).
    const torn = async (out: string, damage: (file: string) => void) => {
      let runId = 0;
      const killed = await withKill(backend, 'step:7', async () => {
        const started = await call(backend, 'runs.start', { ...config, out });
        runId = started.runId;
        return started;
      });
      expect(killed.status).toBe('failed');
      const root = join(backend.paths.dir, 'runs', readFolder(backend, runId), 'checkpoint');
      expect(readdirSync(root).sort()).toEqual(['step-000000004', 'step-000000006']);
      damage(join(root, 'step-000000006', 'optimizer.safetensors'));
      const resumed = await withKill(backend, null, () => call(backend, 'runs.resume', { runId }));
      expect(resumed.status, JSON.stringify(resumed.error)).toBe('succeeded');
      expect(await call(backend, 'runs.get', { runId })).toMatchObject({ status: 'succeeded', step: 8 });
      // Resumed from step 4: steps 5 and 6 were taken again and step 6's checkpoint written anew.
      expect(readdirSync(root).sort()).toEqual(['step-000000006', 'step-000000008']);
      expectSameWeights(backend, 'whole', out);
    };
    await torn('truncated', (file) => truncateSync(file, readFileSync(file).byteLength - 100));
    await torn('flipped', (file) => {
      const bytes = readFileSync(file);
      bytes[bytes.byteLength - 5] = bytes[bytes.byteLength - 5]! ^ 0x40;
      writeFileSync(file, bytes);
    });
  }, 300_000);
});

function readFolder(backend: Backend, runId: number): string {
  return backend.db.prepare('SELECT folder FROM runs WHERE id = ?').pluck().get(runId) as string;
}
