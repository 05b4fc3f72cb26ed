import type { Backend } from '../../src/main/app/backend';
import type { Input, Job } from '../../src/shared/contract';
import { call, jobOf } from './backend';

/** Starts a job through the contract and waits for it to end; fails with the job's own error. */
export async function finished(backend: Backend, start: () => Promise<{ jobId: number }>): Promise<Job> {
  const job = await jobOf(backend, start);
  if (job.status !== 'succeeded') throw new Error(`job ${job.id} (${job.kind}) ${job.status}: ${job.error?.message}`);
  return job;
}

export const TINY_MODEL = { layers: 1, dim: 32, heads: 2, context: 64, vocab: 300 } as const;

/**
 * A project with the demo dataset, two tiny untrained models (different seeds, so different
 * responses) and a ready campaign comparing them: the real job processes, the real sampler.
 */
export async function campaignProject(
  backend: Backend,
  campaign: Partial<Input<'campaigns.create'>> & { name: string },
  models: [string, string] = ['sys-alpha', 'sys-beta'],
): Promise<void> {
  if (!(await call(backend, 'datasets.list', {})).some((d) => d.name === 'demo')) {
    await call(backend, 'datasets.demo', { name: 'demo', trainPrompts: 40 });
  }
  for (const [i, name] of models.entries()) {
    if ((await call(backend, 'models.list', {})).some((m) => m.name === name)) continue;
    await finished(backend, () =>
      call(backend, 'models.create', { name, dataset: 'demo', ...TINY_MODEL, seed: i + 1 }),
    );
  }
  await finished(backend, () =>
    call(backend, 'campaigns.create', {
      models,
      prompts: { dataset: 'demo', split: 'test' },
      n: 6,
      settings: { maxNewTokens: 8, greedy: false, seed: 3 },
      ...campaign,
    }),
  );
}
