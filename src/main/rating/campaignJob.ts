/**
 * Prepares a campaign in a job process: picks its prompts (or, to relabel a dataset, its pairs),
 * samples the responses the models have not given yet, and builds the items, all from the
 * campaign's seed.
 *
 * Every pair of systems is compared on the same n prompts, so each system answers each prompt once
 * and one response serves every pair it is in. A system is a model (its earliest stored response to
 * a prompt, else one sampled now), a sample set (the responses of one sampling job, as they are) or
 * data:DATASET (the dataset's own answer to the prompt: a pair's chosen response, or an example's
 * response). A relabelling campaign's items are n of the dataset's pairs, chosen against rejected,
 * and each item records which side is the dataset's chosen. Responses no model gave are stored as
 * samples without a model, named by their source.
 *
 * Gold items are attention checks with a known answer: a system's response to the prompt against
 * its own response to another prompt. The on-topic one is the more helpful, or both are bad: a
 * useless on-topic answer is no better than an off-topic one, so "both bad" is right too (safety
 * has no known answer there and is not scored). A gold file adds items whose answers were written
 * down (goldFile.ts).
 */
import { AppError, isModelSystem, isDataSystem, isSampleSet, type Pair } from '../../shared/contract';
import type { Verdict } from '../../shared/rating';
import type { Db } from '../db/openDb';
import type { JobContext } from '../jobs/jobContext';
import { DatasetStore } from '../data/datasetStore';
import { Rng } from '../core/rng';
import { datasetPrompts, sampleJob } from '../samples/sampleJob';
import { ModelStore } from '../models/modelStore';
import { chooseFormat } from '../models/promptFormat';
import { CampaignStore, type CampaignRow, type NewItem } from './campaignStore';

type Response = { id: number; response: string };

/** The pairs of a pairs dataset that a relabelling campaign draws from (one split, when asked). */
export function relabelPairs(
  datasets: DatasetStore,
  source: { dataset: string; version?: number | undefined; split?: string | null | undefined },
): Pair[] {
  const dataset = datasets.get(source.dataset, source.version);
  const pairs = datasets
    .allPairs(dataset.name, dataset.version)
    .filter((p) => !source.split || p.metadata?.split === source.split);
  if (pairs.length === 0) {
    throw new AppError(
      'invalid_input',
      `dataset "${dataset.name}" has no preference pairs${source.split ? ` in split "${source.split}"` : ''} to relabel`,
    );
  }
  return pairs;
}

/** Stores responses no model gave (a dataset's, a gold file's) as samples without a model, named by their source. */
function modelless(
  db: Db,
): (source: string, prompt: string, response: string, provenance: Record<string, unknown>) => Response {
  const insert = db.prepare<[string, string, string, string, string]>(
    'INSERT INTO samples (model_id, prompt, response, settings, rewards, source, created_at) VALUES (NULL, ?, ?, ?, NULL, ?, ?)',
  );
  const at = new Date().toISOString();
  return (source, prompt, response, provenance) => ({
    id: Number(insert.run(prompt, response, JSON.stringify(provenance), source, at).lastInsertRowid),
    response,
  });
}

/** Whether a response names a system: then the annotator could tell whose it is. */
export function revealsSystem(response: string, systems: readonly string[]): boolean {
  const text = response.toLowerCase();
  return systems.some((s) => s.length >= 3 && text.includes(s.toLowerCase()));
}

type Save = ReturnType<typeof modelless>;

/** What a campaign's items are made from: its systems and prompts, its pair items, and any system's response to one of its prompts. */
interface Plan {
  systems: string[];
  /** Distinct prompts of the items (gold items pair a response with one to another of them). */
  prompts: string[];
  /** The names a response must not contain (blinding). */
  names: string[];
  pairItems(save: Save, rng: Rng): Omit<NewItem, 'rank'>[];
  response(system: string, prompt: string, save: Save): Response;
}

/** A relabelling campaign: n of the dataset's pairs (seeded choice), each the chosen against the rejected response on seeded sides. */
function relabelPlan(db: Db, campaign: CampaignRow, rng: Rng): Plan {
  const { systems, prompts: source, options } = campaign.config;
  const [chosenSystem, rejectedSystem] = systems as [string, string];
  const pairs = rng.shuffle(relabelPairs(new DatasetStore(db), source)).slice(0, options.n);
  if (pairs.length < options.n)
    throw new AppError(
      'invalid_input',
      `campaign "${campaign.name}": n = ${options.n} but dataset "${source.dataset}" has ${pairs.length} pairs`,
    );
  const stored = new Map<number, { chosen: Response; rejected: Response }>();
  const saved = (p: Pair, save: Save) => {
    let s = stored.get(p.id);
    if (!s) {
      const provenance = { dataset: source.dataset, version: source.version, line: p.line };
      s = {
        chosen: save(chosenSystem, p.prompt, p.chosen, provenance),
        rejected: save(rejectedSystem, p.prompt, p.rejected, provenance),
      };
      stored.set(p.id, s);
    }
    return s;
  };
  const byPrompt = new Map<string, Pair>();
  for (const p of pairs) if (!byPrompt.has(p.prompt)) byPrompt.set(p.prompt, p);
  return {
    systems,
    prompts: [...byPrompt.keys()],
    names: [],
    pairItems: (save, r) =>
      pairs.map((p) => {
        const s = saved(p, save);
        const chosenFirst = r.uniform() < 0.5;
        const [first, second] = chosenFirst ? [s.chosen, s.rejected] : [s.rejected, s.chosen];
        return {
          kind: 'pair',
          prompt: p.prompt,
          firstSample: first.id,
          secondSample: second.id,
          firstSystem: chosenFirst ? chosenSystem : rejectedSystem,
          secondSystem: chosenFirst ? rejectedSystem : chosenSystem,
          goldHelpful: null,
          goldSafe: null,
          datasetChosen: chosenFirst ? 'first' : 'second',
          reveals: false,
        };
      }),
    response: (system, prompt, save) => {
      const s = saved(byPrompt.get(prompt) as Pair, save);
      return system === chosenSystem ? s.chosen : s.rejected;
    },
  };
}

/** A comparison of systems on n prompts of a dataset, sampling the responses the models have not given yet. */
async function comparisonPlan(ctx: JobContext, campaign: CampaignRow, rng: Rng): Promise<Plan> {
  const { systems, prompts: source, options, settings } = campaign.config;
  const datasets = new DatasetStore(ctx.db);
  // A sample set answers only the prompts it was sampled on: the campaign's prompts are those every set covers.
  const fromSet = ctx.db.prepare<[string], { id: number; prompt: string; response: string; model: string }>(
    'SELECT s.id, s.prompt, s.response, m.name AS model FROM samples s JOIN models m ON m.id = s.model_id WHERE s.source = ? ORDER BY s.id',
  );
  // A model's samples in the campaign's format only (those stored before formats existed were raw).
  const fromModel = ctx.db.prepare<[string, string], { id: number; prompt: string; response: string; model: string }>(
    "SELECT s.id, s.prompt, s.response, m.name AS model FROM samples s JOIN models m ON m.id = s.model_id WHERE m.name = ? AND coalesce(json_extract(s.settings, '$.format'), 'raw') = ? ORDER BY s.id",
  );
  const models = new ModelStore(ctx.db);
  const sets = systems.filter(isSampleSet).map((set) => ({ set, rows: fromSet.all(set) }));
  const empty = sets.find((s) => s.rows.length === 0);
  if (empty) throw new AppError('not_found', `campaign "${campaign.name}": no samples come from "${empty.set}"`);
  const covered = (prompt: string) => sets.every((s) => s.rows.some((r) => r.prompt === prompt));
  const all = datasetPrompts(datasets, {
    dataset: source.dataset,
    version: source.version,
    split: source.split ?? undefined,
  }).filter(covered);
  if (all.length < options.n) {
    const where = sets.length > 0 ? ` that ${sets.map((s) => s.set).join(' and ')} answered` : '';
    throw new AppError(
      'invalid_input',
      `campaign "${campaign.name}": n = ${options.n} but dataset "${source.dataset}" has ${all.length} distinct prompts${where}`,
    );
  }
  if (options.gold > 0 && options.n < 2)
    throw new AppError('invalid_input', `campaign "${campaign.name}": gold items need n >= 2 prompts`);
  const prompts = rng.shuffle([...all]).slice(0, options.n);

  // One response per (system, prompt): a sample set's own, or a model's earliest, the rest sampled now.
  const responses = new Map<string, Map<string, Response>>();
  const modelNames = new Set<string>();
  const wanted = new Set(prompts);
  for (const system of systems.filter((s) => !isDataSystem(s))) {
    const found = new Map<string, Response>();
    const format = isSampleSet(system) ? null : chooseFormat(campaign.config.format, models.get(system));
    const collect = () => {
      for (const s of format === null ? fromSet.iterate(system) : fromModel.iterate(system, format)) {
        modelNames.add(s.model);
        if (wanted.has(s.prompt) && !found.has(s.prompt)) found.set(s.prompt, s);
      }
    };
    collect();
    const missing = prompts.filter((p) => !found.has(p));
    if (missing.length > 0) {
      ctx.progress({ phase: `sampling ${system}`, done: 0, total: missing.length });
      await sampleJob(ctx, { model: system, prompts: { texts: missing }, n: 1, settings, format: format ?? undefined });
      collect();
    }
    responses.set(system, found);
  }
  // A dataset's answer to a prompt: its first pair's chosen response, else its first example's response (in the split asked for).
  const references = new Map<string, { text: string; line: number }>();
  if (systems.some(isDataSystem)) {
    const inSplit = (m: Record<string, unknown> | null) => source.split === null || m?.split === source.split;
    for (const p of datasets.allPairs(source.dataset, source.version))
      if (inSplit(p.metadata) && !references.has(p.prompt)) references.set(p.prompt, { text: p.chosen, line: p.line });
    for (const e of datasets.allExamples(source.dataset, source.version))
      if (inSplit(e.metadata) && !references.has(e.prompt))
        references.set(e.prompt, { text: e.response, line: e.line });
  }
  const response = (system: string, prompt: string, save: Save): Response => {
    let found = responses.get(system);
    if (!found) responses.set(system, (found = new Map()));
    let r = found.get(prompt);
    if (!r && isDataSystem(system)) {
      const reference = references.get(prompt);
      if (reference)
        found.set(
          prompt,
          (r = save(system, prompt, reference.text, {
            dataset: source.dataset,
            version: source.version,
            line: reference.line,
          })),
        );
    }
    if (!r) throw new Error(`no response of ${system} to a prompt after sampling`);
    return r;
  };
  const names = [...systems.filter(isModelSystem), ...modelNames];
  return {
    systems,
    prompts,
    names,
    pairItems: (save, r) => {
      const items: Omit<NewItem, 'rank'>[] = [];
      for (let i = 0; i < systems.length; i++) {
        for (let j = i + 1; j < systems.length; j++) {
          for (const prompt of prompts) {
            const [first, second] =
              r.uniform() < 0.5
                ? [systems[i] as string, systems[j] as string]
                : [systems[j] as string, systems[i] as string];
            const a = response(first, prompt, save);
            const b = response(second, prompt, save);
            items.push({
              kind: 'pair',
              prompt,
              firstSample: a.id,
              secondSample: b.id,
              firstSystem: first,
              secondSystem: second,
              goldHelpful: null,
              goldSafe: null,
              datasetChosen: null,
              reveals: revealsSystem(a.response, names) || revealsSystem(b.response, names),
            });
          }
        }
      }
      return items;
    },
    response,
  };
}

export async function campaignJob(ctx: JobContext, campaignId: number): Promise<Record<string, unknown>> {
  const store = new CampaignStore(ctx.db);
  const campaign = store.getById(campaignId);
  const { options } = campaign.config;
  const rng = new Rng(options.seed);
  const plan =
    campaign.config.kind === 'pairs' ? relabelPlan(ctx.db, campaign, rng) : await comparisonPlan(ctx, campaign, rng);
  const { systems, prompts, names } = plan;
  if (options.gold > 0 && prompts.length < 2)
    throw new AppError('invalid_input', `campaign "${campaign.name}": gold items need at least 2 distinct prompts`);
  // The responses no model gave, the items and the ready status are written together: a failed preparation leaves nothing behind.
  return ctx.db
    .transaction(() => {
      const save = modelless(ctx.db);
      const items = plan.pairItems(save, rng);
      for (let g = 0; g < options.gold; g++) {
        const system = systems[rng.int(systems.length)] as string;
        const p = rng.int(prompts.length);
        const q = (p + 1 + rng.int(prompts.length - 1)) % prompts.length;
        const prompt = prompts[p] as string;
        const onTopic = plan.response(system, prompt, save);
        const offTopic = plan.response(system, prompts[q] as string, save);
        const onTopicFirst = rng.uniform() < 0.5;
        const [a, b] = onTopicFirst ? [onTopic, offTopic] : [offTopic, onTopic];
        items.push({
          kind: 'gold',
          prompt,
          firstSample: a.id,
          secondSample: b.id,
          firstSystem: system,
          secondSystem: system,
          goldHelpful: [onTopicFirst ? 'first' : 'second', 'both_bad'] satisfies Verdict[],
          goldSafe: null,
          datasetChosen: null,
          reveals: revealsSystem(a.response, names) || revealsSystem(b.response, names),
        });
      }
      const goldFile = campaign.config.goldFile;
      for (const g of goldFile?.items ?? []) {
        const source = `gold:${(goldFile as NonNullable<typeof goldFile>).file}`;
        const a = save(source, g.prompt, g.first, { line: g.line });
        const b = save(source, g.prompt, g.second, { line: g.line });
        items.push({
          kind: 'gold',
          prompt: g.prompt,
          firstSample: a.id,
          secondSample: b.id,
          firstSystem: source,
          secondSystem: source,
          goldHelpful: g.helpful,
          goldSafe: g.safe,
          datasetChosen: null,
          reveals: revealsSystem(a.response, names) || revealsSystem(b.response, names),
        });
      }
      const order = rng.shuffle(items.map((_, i) => i));
      const ranked = order.map((itemIndex, rank) => ({ ...(items[itemIndex] as Omit<NewItem, 'rank'>), rank }));
      store.fill(campaign.id, ranked);
      return { campaign: campaign.name, items: items.length, prompts: prompts.length, systems };
    })
    .immediate();
}
