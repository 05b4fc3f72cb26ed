/**
 * Prepares a campaign in a job process: picks its prompts, samples the responses the models have
 * not given yet, and builds the items, all from the campaign's seed.
 *
 * Every pair of systems is compared on the same n prompts, so each system answers each prompt once
 * and one response serves every pair it is in. A system is a model (its earliest stored response to
 * a prompt, else one sampled now) or a sample set (the responses of one sampling job, as they are). Gold items are attention checks with a known
 * answer: a system's response to the prompt against its own response to another prompt; the
 * on-topic one is the more helpful (safety has no known answer there and is not scored).
 */
import { AppError, isSampleSet } from '../../shared/contract';
import type { Verdict } from '../../shared/rating';
import type { JobContext } from '../jobs/jobKinds';
import { DatasetStore } from '../data/datasetStore';
import { Rng } from '../lm/rng';
import { datasetPrompts, sampleJob } from '../samples/sampleJob';
import { CampaignStore, type NewItem } from './campaignStore';

/** Whether a response names a system: then the annotator could tell whose it is. */
export function revealsSystem(response: string, systems: readonly string[]): boolean {
  const text = response.toLowerCase();
  return systems.some((s) => s.length >= 3 && text.includes(s.toLowerCase()));
}

export async function campaignJob(ctx: JobContext, campaignId: number): Promise<Record<string, unknown>> {
  const store = new CampaignStore(ctx.db);
  const campaign = store.getById(campaignId);
  const { systems, prompts: source, options, settings } = campaign.config;
  const rng = new Rng(options.seed);
  // A sample set answers only the prompts it was sampled on: the campaign's prompts are those every set covers.
  const fromSet = ctx.db.prepare<[string], { id: number; prompt: string; response: string; model: string }>(
    'SELECT s.id, s.prompt, s.response, m.name AS model FROM samples s JOIN models m ON m.id = s.model_id WHERE s.source = ? ORDER BY s.id',
  );
  const fromModel = ctx.db.prepare<[string], { id: number; prompt: string; response: string; model: string }>(
    'SELECT s.id, s.prompt, s.response, m.name AS model FROM samples s JOIN models m ON m.id = s.model_id WHERE m.name = ? ORDER BY s.id',
  );
  const sets = systems.filter(isSampleSet).map((set) => ({ set, rows: fromSet.all(set) }));
  const empty = sets.find((s) => s.rows.length === 0);
  if (empty) throw new AppError('not_found', `campaign "${campaign.name}": no samples come from "${empty.set}"`);
  const covered = (prompt: string) => sets.every((s) => s.rows.some((r) => r.prompt === prompt));
  const all = datasetPrompts(new DatasetStore(ctx.db), { dataset: source.dataset, version: source.version, split: source.split ?? undefined }).filter(covered);
  if (all.length < options.n) {
    const where = sets.length > 0 ? ` that ${sets.map((s) => s.set).join(' and ')} answered` : '';
    throw new AppError('invalid_input', `campaign "${campaign.name}": n = ${options.n} but dataset "${source.dataset}" has ${all.length} distinct prompts${where}`);
  }
  if (options.gold > 0 && options.n < 2) throw new AppError('invalid_input', `campaign "${campaign.name}": gold items need n >= 2 prompts`);
  const prompts = rng.shuffle([...all]).slice(0, options.n);

  // One response per (system, prompt): a sample set's own, or a model's earliest, the rest sampled now.
  const responses = new Map<string, Map<string, { id: number; response: string }>>();
  const modelNames = new Set<string>();
  const wanted = new Set(prompts);
  for (const system of systems) {
    const found = new Map<string, { id: number; response: string }>();
    const collect = () => {
      for (const s of isSampleSet(system) ? fromSet.iterate(system) : fromModel.iterate(system)) {
        modelNames.add(s.model);
        if (wanted.has(s.prompt) && !found.has(s.prompt)) found.set(s.prompt, s);
      }
    };
    collect();
    const missing = prompts.filter((p) => !found.has(p));
    if (missing.length > 0) {
      ctx.progress({ phase: `sampling ${system}`, done: 0, total: missing.length });
      await sampleJob(ctx, { model: system, prompts: { texts: missing }, n: 1, settings });
      collect();
    }
    responses.set(system, found);
  }
  const names = [...systems.filter((s) => !isSampleSet(s)), ...modelNames];
  const response = (system: string, prompt: string) => {
    const r = responses.get(system)?.get(prompt);
    if (!r) throw new Error(`no response of ${system} to a prompt after sampling`);
    return r;
  };

  const items: Omit<NewItem, 'rank'>[] = [];
  for (let i = 0; i < systems.length; i++) {
    for (let j = i + 1; j < systems.length; j++) {
      for (const prompt of prompts) {
        const [first, second] = rng.uniform() < 0.5 ? [systems[i] as string, systems[j] as string] : [systems[j] as string, systems[i] as string];
        const a = response(first, prompt);
        const b = response(second, prompt);
        items.push({
          kind: 'pair',
          prompt,
          firstSample: a.id,
          secondSample: b.id,
          firstSystem: first,
          secondSystem: second,
          goldHelpful: null,
          goldSafe: null,
          reveals: revealsSystem(a.response, names) || revealsSystem(b.response, names),
        });
      }
    }
  }
  for (let g = 0; g < options.gold; g++) {
    const system = systems[rng.int(systems.length)] as string;
    const p = rng.int(prompts.length);
    const q = (p + 1 + rng.int(prompts.length - 1)) % prompts.length;
    const prompt = prompts[p] as string;
    const onTopic = response(system, prompt);
    const offTopic = response(system, prompts[q] as string);
    const onTopicFirst = rng.uniform() < 0.5;
    const [a, b] = onTopicFirst ? [onTopic, offTopic] : [offTopic, onTopic];
    items.push({
      kind: 'gold',
      prompt,
      firstSample: a.id,
      secondSample: b.id,
      firstSystem: system,
      secondSystem: system,
      goldHelpful: (onTopicFirst ? 'first' : 'second') satisfies Verdict,
      goldSafe: null,
      reveals: revealsSystem(a.response, names) || revealsSystem(b.response, names),
    });
  }
  const order = rng.shuffle(items.map((_, i) => i));
  const ranked = order.map((itemIndex, rank) => ({ ...(items[itemIndex] as Omit<NewItem, 'rank'>), rank }));
  store.fill(campaign.id, ranked);
  return { campaign: campaign.name, items: items.length, prompts: prompts.length, systems };
}
