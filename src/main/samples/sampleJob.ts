/**
 * Sampling into the store: responses of a model to a dataset's prompts (or given prompts), K per
 * prompt, decoded in batches, optionally scored, all written to SQLite in one transaction.
 */
import { AppError, type SampleRequest } from '../../shared/contract';
import type { JobContext } from '../jobs/jobContext';
import { DatasetStore } from '../data/datasetStore';
import { ModelStore } from '../models/modelStore';
import { loadModel } from '../models/modelOps';
import { eosIdsOf } from '../lm/causalLm';
import { samplingIds, stopIds } from '../lm/chatTemplate';
import { chooseFormat } from '../models/promptFormat';
import { generate } from '../lm/generate';
import { loadReward, scoreAll } from '../rewards/index';
import { SampleStore, type NewSample } from './sampleStore';

const PROMPTS_PER_BATCH = 16;

export function datasetPrompts(
  store: DatasetStore,
  p: { dataset: string; version?: number | undefined; split?: string | undefined },
): string[] {
  const dataset = store.get(p.dataset, p.version);
  const seen = new Set<string>();
  const keep = (prompt: string, metadata: Record<string, unknown> | null) => {
    if (p.split !== undefined && metadata?.split !== p.split) return;
    seen.add(prompt);
  };
  for (const e of [
    ...store.allExamples(dataset.name, dataset.version),
    ...store.allPairs(dataset.name, dataset.version),
  ])
    keep(e.prompt, e.metadata);
  if (seen.size === 0)
    throw new AppError(
      'invalid_input',
      `dataset "${dataset.name}" has no prompts${p.split ? ` in split "${p.split}"` : ''}`,
    );
  return [...seen];
}

export async function sampleJob(ctx: JobContext, request: SampleRequest): Promise<Record<string, unknown>> {
  const model = new ModelStore(ctx.db).get(request.model);
  const prompts =
    'texts' in request.prompts ? request.prompts.texts : datasetPrompts(new DatasetStore(ctx.db), request.prompts);
  const format = chooseFormat(request.format, model);
  const reward = request.reward ? await loadReward(request.reward, { projectDir: ctx.paths.dir }) : null;
  const { model: gpt, tokenizer } = await loadModel(ctx.paths, model);
  const { settings } = request;
  const room = gpt.config.nPositions - settings.maxNewTokens;
  if (room < 1)
    throw new AppError(
      'invalid_input',
      `maxNewTokens ${settings.maxNewTokens} leaves no room in the context of ${gpt.config.nPositions}`,
    );
  const source = `sample:${ctx.jobId}`;
  const out: Omit<NewSample, 'rewards'>[] = [];
  try {
    // A chat reply ends at the template's end-of-turn token as well as at the model's end ids.
    const eosTokenId = stopIds(tokenizer, format, eosIdsOf(gpt.config));
    // Each prompt encoded once, then repeated n times.
    const jobs = prompts.flatMap((prompt) => {
      const ids = samplingIds(tokenizer, prompt, format).slice(-room);
      return Array.from({ length: request.n }, () => ({ prompt, ids }));
    });
    for (let i = 0; i < jobs.length; i += PROMPTS_PER_BATCH) {
      ctx.signal.throwIfAborted();
      const batch = jobs.slice(i, i + PROMPTS_PER_BATCH);
      // One seed per batch, from the request's: the same request samples the same responses.
      const result = generate(
        gpt,
        batch.map((b) => b.ids),
        {
          ...settings,
          seed: settings.seed + i,
          eosTokenId,
          decode: (ids) => tokenizer.decode(ids),
        },
      );
      batch.forEach((b, j) =>
        out.push({
          modelId: model.id,
          prompt: b.prompt,
          response: result.text?.[j] ?? tokenizer.decode(result.ids[j] ?? []),
          finishReason: result.finishReason[j] ?? 'length',
          settings,
          format,
          source,
        }),
      );
      ctx.progress({ phase: 'sampling', done: Math.min(i + PROMPTS_PER_BATCH, jobs.length), total: jobs.length });
    }
  } finally {
    gpt.dispose();
  }
  let rewards: Record<string, number>[] | null = null;
  if (reward) {
    ctx.progress({ phase: 'scoring', done: 0, total: out.length });
    const scored = await scoreAll(reward, out, { signal: ctx.signal });
    rewards = scored.rewards.map((r, i) => ({
      [scored.source]: r,
      ...Object.fromEntries(Object.entries(scored.components).map(([name, column]) => [name, column[i] as number])),
    }));
  }
  new SampleStore(ctx.db).addAll(out.map((s, i) => ({ ...s, rewards: rewards?.[i] ?? null })));
  const mean = rewards && reward ? rewards.reduce((a, r) => a + (r[reward.name] ?? 0), 0) / rewards.length : null;
  return {
    source,
    count: out.length,
    prompts: prompts.length,
    model: model.name,
    format,
    ...(reward ? { reward: reward.name, meanReward: mean } : {}),
  };
}
