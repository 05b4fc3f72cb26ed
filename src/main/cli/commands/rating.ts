/** `alol campaign ...`, `alol annotator add`, `alol ratings ...` and `alol rewards from-ratings`: the rating loop from a terminal. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { formatTable } from '../format';
import { formatFlag, formatOption } from '../promptFormat';
import {
  call,
  decimal,
  defined,
  followJob,
  integer,
  print,
  required,
  text,
  UsageError,
  type Command,
  type Values,
} from '../kit';
import { DEFAULT_PORT } from '../../http/serveStudio';
import { networkUrls } from '../../http/httpServer';
import { exportCriteria, ratingsFormats, type Input } from '../../../shared/contract';
import {
  rewardRules,
  type AgreementSummary,
  type CampaignSummary,
  type DatasetAgreement,
} from '../../../shared/rating';

function one(positionals: string[], what: string, command: string): string {
  if (positionals.length !== 1 || !positionals[0]) throw new UsageError(`${command}: give exactly one ${what}`);
  return positionals[0];
}

function rule(values: Values): { rule?: (typeof rewardRules)[number]; helpfulWeight?: number } {
  const name = text(values, 'rule');
  if (name !== undefined && !(rewardRules as readonly string[]).includes(name))
    throw new UsageError(`--rule: one of ${rewardRules.join(', ')}`);
  const weight = decimal(values, 'helpful-weight');
  return {
    ...(name ? { rule: name as (typeof rewardRules)[number] } : {}),
    ...(weight !== undefined ? { helpfulWeight: weight } : {}),
  };
}

const ruleOptions = { rule: { type: 'string' }, 'helpful-weight': { type: 'string' } } as const;

/** An annotator's personal link: the server's address and their token, in the fragment so no log keeps it. */
export function annotatorLink(host: string, port: number, token: string): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return `http://${h}:${port}/#rate=${token}`;
}

function formatCampaign(c: CampaignSummary, agreement: AgreementSummary[] | null): string {
  const pct = c.target > 0 ? ` (${Math.round((100 * c.done) / c.target)}%)` : '';
  const lines = [
    `Campaign "${c.name}" (${c.status}${c.error ? `: ${c.error}` : ''})`,
    `  systems:   ${c.systems.join(', ')}`,
    c.kind === 'pairs'
      ? `  pairs:     ${c.options.n} of ${c.prompts.dataset} v${c.prompts.version}${c.prompts.split ? ` split ${c.prompts.split}` : ''} (relabelling: chosen against rejected)`
      : `  prompts:   ${c.prompts.dataset} v${c.prompts.version}${c.prompts.split ? ` split ${c.prompts.split}` : ''}; ${c.options.n} per pair of systems`,
    ...(c.kind === 'pairs'
      ? []
      : [
          `  format:    ${c.format === null ? "each model's default (chat where it has a chat template, else raw)" : c.format}`,
        ]),
    `  items:     ${c.items} pairs + ${c.goldItems} gold; overlap ${c.options.overlap}; swapped repeats ${c.options.repeatSwapped}; seed ${c.options.seed}`,
    `  progress:  ${c.done}/${c.target} ratings${pct}; ${c.ratings} ratings in all`,
    ...(c.revealing > 0
      ? [`  warning:   ${c.revealing} items have a response that names a system (blinding broken there)`]
      : []),
    `  guidelines ${c.guidelinesVersion}`,
  ];
  if (c.annotators.length > 0) {
    lines.push(
      '',
      formatTable(
        ['annotator', 'done', 'remaining', 'flagged', 'skipped', 'median s/item', 'link'],
        c.annotators.map((a) => [
          a.name,
          String(a.done),
          String(a.remaining),
          String(a.flagged),
          String(a.skipped),
          a.medianActiveMs === null ? '-' : (a.medianActiveMs / 1000).toFixed(1),
          a.hasLink ? 'yes' : 'no',
        ]),
      ),
    );
  }
  const f = (x: number | null) => (x === null ? 'n/a' : x.toFixed(3));
  for (const a of agreement ?? []) {
    lines.push(
      '',
      `Agreement, ${a.criterion} (${a.items} overlap items): raw ${f(a.raw.estimate)}, Cohen ${f(a.cohen.estimate)} [${f(a.cohen.low)}, ${f(a.cohen.high)}], Fleiss ${f(a.fleiss.estimate)} [${f(a.fleiss.low)}, ${f(a.fleiss.high)}], alpha ${f(a.alpha.estimate)} [${f(a.alpha.low)}, ${f(a.alpha.high)}]`,
    );
    if (a.annotators.length > 0) {
      lines.push(
        formatTable(
          ['annotator', 'n', 'agreement', 'gold acc.', 'self-consistency', 'chose left'],
          a.annotators.map((x) => [
            x.annotator,
            String(x.n),
            f(x.agreement),
            f(x.goldAccuracy),
            f(x.selfConsistency),
            f(x.positionBias),
          ]),
        ),
      );
    }
  }
  return lines.join('\n');
}

/** A relabelling campaign's agreement with its dataset's chosen responses (datasetAgreement.ts). */
function formatDatasetAgreement(dataset: string, rows: readonly DatasetAgreement[]): string {
  const f = (x: number | null) => (x === null ? 'n/a' : x.toFixed(3));
  return [
    '',
    `Agreement with the dataset "${dataset}" (decisive answers that picked its chosen response, Wilson 95%; ties counted apart):`,
    formatTable(
      ['criterion', 'agreed', 'decisive', 'share', '95% interval', 'both good', 'both bad'],
      rows.map((a) => [
        a.criterion,
        String(a.agreed),
        String(a.decisive),
        f(a.estimate),
        `[${f(a.low)}, ${f(a.high)}]`,
        String(a.bothGood),
        String(a.bothBad),
      ]),
    ),
  ].join('\n');
}

export const ratingCommands: Record<string, Command> = {
  retrain: {
    options: {
      campaign: { type: 'string' },
      algo: { type: 'string' },
      ref: { type: 'string' },
      out: { type: 'string' },
      steps: { type: 'string' },
      batch: { type: 'string' },
      lr: { type: 'string' },
      seed: { type: 'string' },
      'next-campaign': { type: 'string' },
      force: { type: 'boolean', default: false },
      plan: { type: 'boolean', default: false },
      ...ruleOptions,
    },
    async run(backend, values) {
      const json = values.json === true;
      const input = {
        campaign: required(values, 'campaign', 'retrain'),
        ...defined({
          algo: text(values, 'algo') as Input<'campaigns.retrain'>['algo'],
          ref: text(values, 'ref'),
          out: text(values, 'out'),
          steps: integer(values, 'steps'),
          batch: integer(values, 'batch'),
          lr: decimal(values, 'lr'),
          seed: integer(values, 'seed'),
          nextCampaign: text(values, 'next-campaign'),
        }),
        force: values.force === true,
        ...rule(values),
      };
      if (values.plan === true) {
        // What it would do and stand on, before anything starts.
        const plan = await call(backend, 'campaigns.retrainPlan', input);
        const e = plan.evidence;
        print(json, plan, () =>
          [
            `Would train "${plan.model}" from "${plan.ref}" on the dataset "${plan.dataset}", then open the campaign "${plan.nextCampaign}"${plan.annotators.length > 0 ? ` with ${plan.annotators.join(', ')} (their links move to it)` : ''}.`,
            `Evidence: ${e.ratedPairs} rated pairs (at least ${plan.minimums.ratedPairs}); ${e.overlapItems} items rated by ${plan.minimums.annotatorsPerItem}+ annotators${e.heldOutTargets === null ? '' : `; ${e.heldOutTargets} held-out targets (at least ${plan.minimums.heldOutTargets})`}.`,
            ...plan.shortfalls.map((x) => `refused: ${x}`),
            ...plan.warnings.map((x) => `warning: ${x}`),
          ].join('\n'),
        );
        return;
      }
      const s = await call(backend, 'campaigns.retrain', input);
      if (!json) for (const w of s.warnings) process.stderr.write(`warning: ${w}\n`);
      // Only microtasks run before followJob listens, so the run's end cannot be missed.
      await followJob(backend, json, 'train', async () => s);
      // The follow-up campaign's preparation starts as the run ends; wait for it too.
      const next = await call(backend, 'campaigns.get', { campaign: s.nextCampaign });
      const preparing = next.status === 'preparing' ? next.jobId : null;
      if (preparing !== null) await followJob(backend, json, 'campaign', async () => ({ jobId: preparing }));
      const summary = await call(backend, 'campaigns.get', { campaign: s.nextCampaign });
      print(json, { ...s, campaign: summary }, () =>
        [
          `Rewards: dataset "${s.dataset}" v${s.version}; run ${s.runId} trained "${s.model}".`,
          s.annotators.length > 0
            ? `The follow-up keeps its annotators (${s.annotators.join(', ')}): their personal links now open "${s.nextCampaign}".`
            : '',
          '',
          formatCampaign(summary, null),
        ].join('\n'),
      );
    },
  },
  'campaign create': {
    options: {
      name: { type: 'string' },
      models: { type: 'string' },
      prompts: { type: 'string' },
      n: { type: 'string' },
      overlap: { type: 'string' },
      gold: { type: 'string' },
      'repeat-swapped': { type: 'string' },
      seed: { type: 'string' },
      guidelines: { type: 'string' },
      'gold-file': { type: 'string' },
      pairs: { type: 'string' },
      'max-new-tokens': { type: 'string' },
      ...formatOption,
    },
    async run(backend, values) {
      // DATASET[:split]: a dataset name has no colon, so the first one starts the split.
      const source = (flag: string) => {
        const [dataset, split] = required(values, flag, 'campaign create').split(':', 2) as [
          string,
          string | undefined,
        ];
        return { dataset, ...(split ? { split } : {}) };
      };
      const guidelines = text(values, 'guidelines');
      const goldFile = text(values, 'gold-file');
      const maxNewTokens = integer(values, 'max-new-tokens');
      const relabel = text(values, 'pairs') !== undefined;
      if (relabel && (text(values, 'models') !== undefined || text(values, 'prompts') !== undefined)) {
        throw new UsageError('campaign create: --pairs relabels a dataset; give it without --models and --prompts');
      }
      const models = relabel
        ? []
        : required(values, 'models', 'campaign create')
            .split(',')
            .map((m) => m.trim());
      // A dataset as a system answers its own prompts: they are the default prompts then.
      const dataSystem = models.find((m) => m.startsWith('data:'));
      const prompts = relabel
        ? undefined
        : text(values, 'prompts') === undefined && dataSystem
          ? { dataset: dataSystem.slice('data:'.length) }
          : source('prompts');
      const nText = text(values, 'n');
      if (nText === undefined)
        throw new UsageError(`campaign create: --n is required${relabel ? ' (a number, or all)' : ''}`);
      const n = relabel && nText === 'all' ? ('all' as const) : integer(values, 'n');
      if (n === undefined) throw new UsageError('campaign create: --n is required');
      const input: Input<'campaigns.create'> = {
        name: required(values, 'name', 'campaign create'),
        ...(relabel ? { pairs: source('pairs') } : { models, prompts }),
        n,
        ...defined({
          overlap: integer(values, 'overlap'),
          gold: integer(values, 'gold'),
          repeatSwapped: decimal(values, 'repeat-swapped'),
          seed: integer(values, 'seed'),
        }),
        ...(guidelines ? { guidelines: readFileSync(resolve(guidelines), 'utf8') } : {}),
        ...(goldFile ? { goldFile: resolve(goldFile) } : {}),
        ...(maxNewTokens !== undefined ? { settings: { maxNewTokens } } : {}),
        ...defined({ format: formatFlag(values, 'campaign create') }),
      };
      const json = values.json === true;
      await followJob(backend, json, 'campaign', () => call(backend, 'campaigns.create', input));
      const summary = await call(backend, 'campaigns.get', { campaign: input.name });
      print(json, summary, () => formatCampaign(summary, null));
    },
  },
  campaigns: {
    options: {},
    async run(backend, values) {
      const list = await call(backend, 'campaigns.list', {});
      print(values.json === true, list, () =>
        list.length === 0
          ? 'No campaigns yet: alol campaign create --help'
          : formatTable(
              ['name', 'status', 'systems', 'items', 'ratings', 'annotators'],
              list.map((c) => [
                c.name,
                c.status,
                c.systems.join(', '),
                String(c.items),
                `${c.done}/${c.target}`,
                String(c.annotators.length),
              ]),
            ),
      );
    },
  },
  'campaign show': {
    options: { reps: { type: 'string' } },
    async run(backend, values, positionals) {
      const campaign = one(positionals, 'campaign name', 'campaign show');
      const summary = await call(backend, 'campaigns.get', { campaign });
      const agreement = await call(backend, 'campaigns.agreement', {
        campaign,
        ...defined({ reps: integer(values, 'reps') }),
      });
      const withDataset =
        summary.kind === 'pairs' ? await call(backend, 'campaigns.datasetAgreement', { campaign }) : null;
      print(
        values.json === true,
        { ...summary, agreement, ...(withDataset ? { datasetAgreement: withDataset } : {}) },
        () =>
          [
            formatCampaign(summary, agreement),
            ...(withDataset ? [formatDatasetAgreement(summary.prompts.dataset, withDataset)] : []),
          ].join('\n'),
      );
    },
  },
  'campaign items': {
    options: {
      offset: { type: 'string' },
      limit: { type: 'string' },
      flagged: { type: 'boolean' },
      skipped: { type: 'boolean' },
      disagreement: { type: 'boolean' },
      annotator: { type: 'string' },
    },
    async run(backend, values, positionals) {
      const campaign = one(positionals, 'campaign name', 'campaign items');
      const filter = defined({
        flagged: values.flagged === true || undefined,
        skipped: values.skipped === true || undefined,
        disagreement: values.disagreement === true ? ('any' as const) : undefined,
        annotator: text(values, 'annotator'),
      });
      // With a filter, the item browser: each item comes with every rating, rationale and flag note.
      if (Object.keys(filter).length > 0) {
        const found = await call(backend, 'campaigns.browse', {
          campaign,
          ...filter,
          offset: integer(values, 'offset') ?? 0,
          limit: integer(values, 'limit') ?? 10_000,
        });
        print(values.json === true, found.rows, () =>
          formatTable(
            ['id', 'kind', 'first', 'second', 'ratings', 'notes', 'prompt'],
            found.rows.map((i) => [
              String(i.id),
              i.kind,
              i.first.system,
              i.second.system,
              String(i.given.length),
              i.given
                .map((g) =>
                  [
                    g.flag ? `${g.annotator} flagged ${g.flag}${g.flagNote ? `: ${g.flagNote}` : ''}` : '',
                    g.rationale ? `${g.annotator}: ${g.rationale}` : '',
                  ]
                    .filter(Boolean)
                    .join('; '),
                )
                .filter(Boolean)
                .join(' | ')
                .slice(0, 80),
              i.prompt.replace(/\s+/g, ' ').slice(0, 40),
            ]),
          ),
        );
        return;
      }
      const page = await call(backend, 'campaigns.items', {
        campaign,
        offset: integer(values, 'offset') ?? 0,
        limit: integer(values, 'limit') ?? 10_000,
      });
      print(values.json === true, page.rows, () =>
        formatTable(
          ['id', 'kind', 'first', 'second', 'ratings', 'prompt'],
          page.rows.map((i) => [
            String(i.id),
            i.kind + (i.reveals ? '!' : ''),
            i.first.system,
            i.second.system,
            String(i.ratings),
            i.prompt.replace(/\s+/g, ' ').slice(0, 60),
          ]),
        ),
      );
    },
  },
  'annotator add': {
    options: {
      campaign: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string' },
      'no-link': { type: 'boolean', default: false },
    },
    async run(backend, values, positionals) {
      const name = one(positionals, 'annotator NAME', 'annotator add');
      const campaign = required(values, 'campaign', 'annotator add');
      const port = integer(values, 'port') ?? DEFAULT_PORT;
      if (port < 1 || port > 65535) throw new UsageError(`--port: expected a port number (1-65535), got ${port}`);
      const out = await call(backend, 'annotators.add', { campaign, name, link: values['no-link'] !== true });
      const host = text(values, 'host') ?? '127.0.0.1';
      // A wildcard host is no address to open: one link per address the network reaches this machine by.
      const wildcard = host === '0.0.0.0' || host === '::';
      const token = out.token;
      const links =
        token === null
          ? []
          : wildcard
            ? networkUrls(host, port).map((u) => `${u}#rate=${token}`)
            : [annotatorLink(host, port, token)];
      if (token !== null && links.length === 0)
        throw new UsageError(`--host ${host}: this machine has no network address to make a link with`);
      const link = links[0] ?? null;
      print(values.json === true, { annotator: out.annotator, campaign, token: out.token, link, links }, () =>
        link
          ? `Annotator "${out.annotator.name}" (id ${out.annotator.id}) in campaign "${campaign}". Personal link${links.length > 1 ? 's (one per address of this machine; any of them works)' : ''} (a new one replaces any earlier):\n${links.join('\n')}\nServe it with: alol serve --campaign "${campaign}"${host !== '127.0.0.1' ? ` --host 0.0.0.0` : ''}${text(values, 'port') !== undefined ? ` --port ${port}` : ''}`
          : `Annotator "${out.annotator.name}" (id ${out.annotator.id}) in campaign "${campaign}" (rates in the desktop app; no link)`,
      );
    },
  },
  'annotator revoke': {
    options: { campaign: { type: 'string' } },
    async run(backend, values, positionals) {
      const name = one(positionals, 'annotator NAME', 'annotator revoke');
      const campaign = required(values, 'campaign', 'annotator revoke');
      const out = await call(backend, 'annotators.revoke', { campaign, name });
      print(values.json === true, { annotator: out.annotator, campaign, revoked: out.revoked }, () =>
        out.revoked
          ? `Revoked the personal link of "${out.annotator.name}" in campaign "${campaign}": it is refused from its next request. Their ratings stay; alol annotator add gives them a new link.`
          : `"${out.annotator.name}" had no personal link in campaign "${campaign}": nothing to revoke.`,
      );
    },
  },
  'ratings export': {
    options: {
      format: { type: 'string', default: 'raw' },
      out: { type: 'string' },
      criterion: { type: 'string' },
      ...ruleOptions,
    },
    async run(backend, values, positionals) {
      const campaign = one(positionals, 'campaign name', 'ratings export');
      const format = text(values, 'format') as (typeof ratingsFormats)[number];
      if (!(ratingsFormats as readonly string[]).includes(format))
        throw new UsageError(`--format: one of ${ratingsFormats.join(', ')}`);
      const criterion = text(values, 'criterion');
      if (criterion !== undefined && !(exportCriteria as readonly string[]).includes(criterion))
        throw new UsageError(`--criterion: one of ${exportCriteria.join(', ')}`);
      const out = await call(backend, 'ratings.export', {
        campaign,
        format,
        path: resolve(required(values, 'out', 'ratings export')),
        ...(criterion ? { criterion: criterion as (typeof exportCriteria)[number] } : {}),
        ...rule(values),
      });
      print(
        values.json === true,
        out,
        () => `Wrote ${out.rows} rows to ${out.path}${out.card ? `\nDataset card: ${out.card}` : ''}`,
      );
    },
  },
  'ratings import': {
    options: {},
    async run(backend, values, positionals) {
      const [campaign, file] = positionals;
      if (!campaign || !file || positionals.length !== 2)
        throw new UsageError('ratings import: give a campaign and a FILE');
      const out = await call(backend, 'ratings.import', { campaign, path: resolve(file) });
      print(values.json === true, out, () => `Imported ${out.imported} ratings by ${out.annotators.join(', ')}`);
    },
  },
  'rewards from-ratings': {
    options: { name: { type: 'string' }, ...ruleOptions },
    async run(backend, values, positionals) {
      const campaign = one(positionals, 'campaign name', 'rewards from-ratings');
      const out = await call(backend, 'rewards.fromRatings', {
        campaign,
        name: required(values, 'name', 'rewards from-ratings'),
        ...rule(values),
      });
      print(
        values.json === true,
        out,
        () =>
          `Dataset "${out.dataset.name}" version ${out.dataset.version}: ${out.examples} (prompt, response, reward) rows from human ratings\n\n${out.card}`,
      );
    },
  },
  'rewards model': {
    options: {
      name: { type: 'string' },
      dataset: { type: 'string' },
      base: { type: 'string' },
      epochs: { type: 'string' },
      batch: { type: 'string' },
      lr: { type: 'string' },
      'held-out': { type: 'string' },
      seed: { type: 'string' },
      ...ruleOptions,
      ...formatOption,
    },
    async run(backend, values, positionals) {
      const training = {
        name: required(values, 'name', 'rewards model'),
        ...defined({
          epochs: integer(values, 'epochs'),
          batch: integer(values, 'batch'),
          lr: decimal(values, 'lr'),
          heldOut: decimal(values, 'held-out'),
          seed: integer(values, 'seed'),
          format: formatFlag(values, 'rewards model'),
        }),
      };
      // Either a campaign (positional) or --dataset DATASET[:split], never both.
      const data = text(values, 'dataset');
      let input: Input<'rewards.trainModel'>;
      if (data !== undefined) {
        if (positionals.length > 0) throw new UsageError('rewards model: give a campaign or --dataset, not both');
        if (text(values, 'rule') !== undefined || text(values, 'helpful-weight') !== undefined)
          throw new UsageError(
            "rewards model: --rule and --helpful-weight are for a campaign's ratings; a dataset's pairs are chosen and rejected already",
          );
        const colon = data.lastIndexOf(':');
        const dataset = colon > 0 ? data.slice(0, colon) : data;
        const split = colon > 0 ? data.slice(colon + 1) : undefined;
        if (split === '')
          throw new UsageError(`--dataset ${data}: name the split after the colon, or leave the colon out`);
        input = {
          dataset,
          ...defined({ split }),
          base: required(values, 'base', 'rewards model --dataset'),
          ...training,
        };
      } else {
        input = {
          campaign: one(positionals, 'campaign name (or --dataset DATASET[:split])', 'rewards model'),
          ...defined({ base: text(values, 'base') }),
          ...training,
          ...rule(values),
        };
      }
      const json = values.json === true;
      const result = await followJob(backend, json, 'reward-model', () => call(backend, 'rewards.trainModel', input));
      const pct = (x: number | null) => (x === null ? 'n/a' : `${(100 * x).toFixed(1)}%`);
      const { pairs, heldOutInterval: interval, dataset } = result;
      const from = dataset
        ? `dataset "${dataset.name}" v${dataset.version}${dataset.split === null ? '' : ` (split ${dataset.split})`}`
        : `campaign "${String(result.campaign)}" (rule ${String(result.rule)})`;
      print(json, result, () =>
        [
          `Reward model "${result.name}" on ${result.backbone}, from ${from}: ${pairs.total} pairs, ${pairs.train} trained on, ${pairs.heldOut} held out (${pairs.heldOutPrompts} whole prompts).`,
          `  held-out accuracy ${pct(result.heldOutAccuracy)} (95% Wilson interval ${pct(interval.low)} to ${pct(interval.high)}), train accuracy ${pct(result.trainAccuracy)}`,
          `  format: ${result.format ?? 'raw'} (how the backbone reads prompt + response)`,
          `Score with it: --reward ${result.reward}`,
        ].join('\n'),
      );
    },
  },
};
