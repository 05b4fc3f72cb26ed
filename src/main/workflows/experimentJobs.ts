/**
 * How the experiments run their jobs: through the backend's dispatch, each job in its own process,
 * at most `parallel` at once, waiting jobs by priority (so the decisions others wait on go first).
 *
 *   const jobs = experimentJobs(backend, new PrioritySlots(2), log);
 *   await jobs.train(0, 'pi_ref', { algo: 'nll', ... });          // the steps the run took
 *   const out = await jobs.decode(0, 'pi_ref test', 'ref', prompts, 64);   // greedy, in prompt order
 */
import { z } from 'zod';
import { AppError, Generation, type Input, type Job } from '../../shared/contract';
import type { Backend } from '../app/backend';
import { call, jobEnd } from '../app/calls';

/** At most `limit` holders at once; waiting holders go by priority (lower first), then arrival. */
export class PrioritySlots {
  private active = 0;
  private arrivals = 0;
  private readonly queue: { priority: number; order: number; go: () => void }[] = [];

  constructor(private readonly limit: number) {
    if (!(Number.isInteger(limit) && limit >= 1))
      throw new AppError('invalid_input', `parallel must be a whole number >= 1, got ${limit}`);
  }

  async use<T>(priority: number, task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) {
      await new Promise<void>((go) => {
        this.queue.push({ priority, order: this.arrivals++, go });
        this.queue.sort((a, b) => a.priority - b.priority || a.order - b.order);
      });
    } else this.active += 1;
    try {
      return await task();
    } finally {
      const next = this.queue.shift();
      if (next) next.go();
      else this.active -= 1;
    }
  }
}

/** n items in chunks of at most `max`, the chunks as even as can be. */
export function evenChunks<T>(items: readonly T[], max: number): T[][] {
  const count = Math.max(1, Math.ceil(items.length / max));
  const size = Math.ceil(items.length / count);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** What a models.generate job returns. */
const GenerateJobResult = z.object({ generations: z.array(Generation) });

export interface ExperimentJobs {
  /** Runs one job under a slot and returns it once finished; throws when it did not succeed. */
  job(priority: number, what: string, start: () => Promise<{ jobId: number }>, quiet?: boolean): Promise<Job>;
  /** One training run; returns the optimizer steps it took. */
  train(priority: number, what: string, config: Input<'runs.start'>): Promise<number>;
  /** Greedy decodes of the prompts (EOS stops them earlier), in prompt order. */
  decode(
    priority: number,
    what: string,
    model: string,
    prompts: readonly string[],
    maxNewTokens: number,
  ): Promise<{ prompt: string; response: string }[]>;
}

/** A decode's identity: the model, the prompts in order and the settings that change its output. */
function decodeKey(model: string, prompts: readonly string[], maxNewTokens: number): string {
  return JSON.stringify([model, maxNewTokens, prompts]);
}

/**
 * The greedy decodes an earlier process in this project finished (the generate jobs' own results),
 * by decodeKey, so that a resumed experiment does not decode them again.
 */
export async function finishedDecodes(backend: Backend): Promise<Map<string, { prompt: string; response: string }[]>> {
  const out = new Map<string, { prompt: string; response: string }[]>();
  const [latest] = await call(backend, 'jobs.list', { limit: 1 });
  for (let jobId = 1; latest !== undefined && jobId <= latest.id; jobId++) {
    let done: Job;
    try {
      done = await call(backend, 'jobs.get', { jobId });
    } catch {
      continue;
    }
    if (done.kind !== 'generate' || done.status !== 'succeeded') continue;
    const params = z
      .object({
        model: z.string(),
        prompts: z.array(z.string()),
        settings: z.object({ maxNewTokens: z.number(), greedy: z.boolean() }).partial(),
      })
      .safeParse(done.params);
    const result = GenerateJobResult.safeParse(done.result);
    if (
      !params.success ||
      !result.success ||
      params.data.settings.greedy !== true ||
      params.data.settings.maxNewTokens === undefined
    )
      continue;
    out.set(
      decodeKey(params.data.model, params.data.prompts, params.data.settings.maxNewTokens),
      result.data.generations.map((g) => ({ prompt: g.prompt, response: g.response })),
    );
  }
  return out;
}

export function experimentJobs(
  backend: Backend,
  slots: PrioritySlots,
  log: (line: string) => void,
  decoded: ReadonlyMap<string, { prompt: string; response: string }[]> = new Map(),
): ExperimentJobs {
  const job: ExperimentJobs['job'] = (priority, what, start, quiet = false) =>
    slots.use(priority, async () => {
      const t0 = Date.now();
      const { jobId } = await start();
      const done = await jobEnd(backend, jobId);
      if (done.status !== 'succeeded')
        throw new AppError(
          done.error?.code ?? 'failed',
          `${what}: job ${jobId} ${done.status}: ${done.error?.message ?? 'no error recorded'}`,
        );
      if (!quiet) log(`${what}: done in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
      return done;
    });

  const train: ExperimentJobs['train'] = async (priority, what, config) => {
    let runId = 0;
    // A line at each quarter of a run's steps, so long runs show they move.
    let quarter = 0;
    const off = backend.bus.subscribe((event) => {
      if (event.name !== 'runs.step' || event.payload.runId !== runId) return;
      const { step, totalSteps, metrics } = event.payload;
      if (step < totalSteps && step >= ((quarter + 1) * totalSteps) / 4) {
        quarter = Math.floor((4 * step) / totalSteps);
        log(`${what}: step ${step}/${totalSteps}, loss ${metrics.loss?.toFixed(3) ?? '?'}`);
      }
    });
    try {
      await job(priority, what, async () => {
        const started = await call(backend, 'runs.start', config);
        runId = started.runId;
        return started;
      });
    } finally {
      off();
    }
    const run = await call(backend, 'runs.get', { runId });
    if (run.status !== 'succeeded') throw new AppError('failed', `${what}: run ${runId} ${run.status}`);
    return run.totalSteps ?? run.step;
  };

  const decode: ExperimentJobs['decode'] = async (priority, what, model, prompts, maxNewTokens) => {
    const chunks = evenChunks(prompts, 64);
    const parts = await Promise.all(
      chunks.map(async (chunk, i) => {
        const kept = decoded.get(decodeKey(model, chunk, maxNewTokens));
        if (kept && kept.length === chunk.length && kept.every((g, k) => g.prompt === chunk[k])) return kept;
        const done = await job(
          priority,
          `${what}: decode ${i + 1}/${chunks.length}`,
          () => call(backend, 'models.generate', { model, prompts: chunk, settings: { maxNewTokens, greedy: true } }),
          true,
        );
        // One generation per prompt, in order; the result crossed a process boundary, so it is checked.
        const { generations } = GenerateJobResult.parse(done.result);
        if (generations.length !== chunk.length || generations.some((g, k) => g.prompt !== chunk[k])) {
          throw new Error(
            `${what}: the decode job returned ${generations.length} generations for ${chunk.length} prompts, or out of order`,
          );
        }
        return generations.map((g) => ({ prompt: g.prompt, response: g.response }));
      }),
    );
    return parts.flat();
  };

  return { job, train, decode };
}
