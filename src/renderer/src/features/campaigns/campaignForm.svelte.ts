import {
  absolutePath,
  CampaignCreate,
  GenerateSettings,
  type CampaignPrepared,
  type DatasetSummary,
  type Input,
  type ModelSummary,
} from '../../../../shared/contract';
import { CampaignOptions } from '../../../../shared/rating';
import type { Client } from '../../lib/client';
import { fieldIssues } from '../../lib/issues';
import { chosenOrFirst } from '../../lib/choice';
import { formatInput, type FormatChoice } from '../../ui/FormatField.svelte';
import { JobRun } from '../../app/jobRun.svelte';

/** What a campaign's preparation job answers: the contract's jobResults.campaign. */
export type { CampaignPrepared };

export const optionKeys = ['n', 'overlap', 'gold', 'repeatSwapped', 'seed'] as const;
export type OptionKey = (typeof optionKeys)[number];
export type NumberKey = OptionKey | 'maxNewTokens';

/** n has no default in the contract (a campaign's size is the one choice nobody can make for you). */
const DEFAULT_N = 20;

/** The contract's defaults, read from its schemas. */
const optionDefaults: Record<OptionKey, number> = (() => {
  const { n, overlap, gold, repeatSwapped, seed } = CampaignOptions.parse({ n: DEFAULT_N });
  return { n, overlap, gold, repeatSwapped, seed };
})();
const maxNewTokensDefault = GenerateSettings.parse({}).maxNewTokens;

function bounds(schema: { minValue: number | null; maxValue: number | null }): {
  min: number | null;
  max: number | null;
} {
  return { min: schema.minValue, max: schema.maxValue };
}

/** The contract's bounds and help line per field, for the inputs' min, max and hint. */
export const numberSpecs: Record<
  NumberKey,
  { min: number | null; max: number | null; help: string; integer: boolean }
> = {
  n: { ...bounds(CampaignOptions.shape.n), help: CampaignOptions.shape.n.description ?? '', integer: true },
  overlap: {
    ...bounds(CampaignOptions.shape.overlap.unwrap()),
    help: CampaignOptions.shape.overlap.description ?? '',
    integer: true,
  },
  gold: {
    ...bounds(CampaignOptions.shape.gold.unwrap()),
    help: CampaignOptions.shape.gold.description ?? '',
    integer: true,
  },
  repeatSwapped: {
    ...bounds(CampaignOptions.shape.repeatSwapped.unwrap()),
    help: CampaignOptions.shape.repeatSwapped.description ?? '',
    integer: false,
  },
  seed: {
    ...bounds(CampaignOptions.shape.seed.unwrap()),
    help: CampaignOptions.shape.seed.description ?? '',
    integer: true,
  },
  maxNewTokens: {
    ...bounds(GenerateSettings.shape.maxNewTokens.unwrap()),
    help: 'longest response sampled per model and prompt',
    integer: true,
  },
};

function defaultNumbers(): Record<NumberKey, number | null> {
  return { ...optionDefaults, maxNewTokens: maxNewTokensDefault };
}

const MIN_MODELS = 2;
const MAX_MODELS = 8;

/** What a campaign rates: systems compared on a dataset's prompts, or a dataset's own pairs (relabelling). */
export type CampaignKind = 'systems' | 'pairs';

/** The "New campaign" form: its fields, checked against the contract as they change, and the preparation job. */
export class CampaignFormState {
  readonly #client: Client;
  readonly #models: () => ModelSummary[];
  readonly #datasets: () => DatasetSummary[];
  readonly #taken: (name: string) => boolean;
  readonly #onStarted: () => void;
  readonly #onReady: (prepared: CampaignPrepared) => void;
  readonly run: JobRun<'campaign'>;

  name = $state('');
  chosen = $state.raw<string[]>([]);
  #dataset = $state.raw('');
  split = $state('');
  guidelines = $state('');
  kind = $state<CampaignKind>('systems');
  /** Relabelling: every pair of the dataset rather than n of them. */
  allPairs = $state(false);
  /** Comparing: the dataset's own answers as one more system (data:DATASET). */
  withData = $state(false);
  goldFile = $state('');
  /** The prompt format of the responses sampled now: each model's default unless chosen. */
  format = $state<FormatChoice>('default');
  /** Deep state: the number inputs bind to its keys one by one; an empty input is null. */
  numbers = $state<Record<NumberKey, number | null>>(defaultNumbers());

  /** The datasets this kind of campaign can use: any for prompts, those with pairs for relabelling. */
  readonly datasetChoices: DatasetSummary[] = $derived.by(() =>
    this.kind === 'pairs' ? this.#datasets().filter((d) => d.pairs > 0) : this.#datasets(),
  );
  readonly dataset = $derived.by(() => chosenOrFirst(this.datasetChoices, this.#dataset));
  /** The systems compared: the models chosen that the project still has, in the project's order, and the dataset's own answers when asked for. */
  readonly models: string[] = $derived.by(() => [
    ...this.#models()
      .filter((m) => this.chosen.includes(m.name))
      .map((m) => m.name),
    ...(this.withData && this.dataset !== '' ? [`data:${this.dataset}`] : []),
  ]);
  readonly goldFileProblem: string | null = $derived.by(() => {
    const path = this.goldFile.trim();
    if (path === '') return null;
    const checked = absolutePath.safeParse(path);
    return checked.success ? null : (checked.error.issues[0]?.message ?? 'not a path');
  });
  readonly datasetProblem: string | null = $derived.by(() =>
    this.kind === 'pairs' && this.#datasets().length > 0 && this.datasetChoices.length === 0
      ? 'no dataset has preference pairs: import one on the Data screen'
      : null,
  );
  readonly nameProblem: string | null = $derived.by(() => {
    const name = this.name.trim();
    if (name === '') return null;
    const checked = CampaignCreate.shape.name.safeParse(name);
    if (!checked.success) return checked.error.issues[0]?.message ?? 'not a valid name';
    return this.#taken(name) ? 'a campaign of this name exists already' : null;
  });
  readonly modelsProblem: string | null = $derived.by(() => {
    if (this.kind === 'pairs') return null;
    const n = this.models.length;
    if (n < MIN_MODELS) return `pick ${MIN_MODELS} or more models (${n} picked)`;
    if (n > MAX_MODELS) return `at most ${MAX_MODELS} models`;
    return null;
  });
  readonly problems: Partial<Record<NumberKey, string>> = $derived.by(() => {
    const numbers = this.numbers;
    const options = CampaignOptions.safeParse(this.#optionsInput());
    const problems: Partial<Record<NumberKey, string>> = options.success
      ? {}
      : fieldIssues(options.error, optionKeys, numbers);
    if (this.kind === 'pairs') {
      // Nothing is sampled; n is a number of pairs, or all of them.
      const { n, ...rest } = problems;
      return this.allPairs ? rest : { ...rest, ...(n ? { n } : {}) };
    }
    const settings = GenerateSettings.safeParse({ maxNewTokens: numbers.maxNewTokens ?? Number.NaN });
    if (!settings.success) return { ...problems, ...fieldIssues(settings.error, ['maxNewTokens'] as const, numbers) };
    // A response needs room in every model's context beside the prompt.
    const context = Math.min(
      ...this.#models()
        .filter((m) => this.models.includes(m.name))
        .map((m) => m.shape.context),
    );
    const max = numbers.maxNewTokens;
    if (Number.isFinite(context) && max !== null && max >= context)
      return { ...problems, maxNewTokens: `less than the smallest context of the models picked (${context})` };
    return problems;
  });
  /** Chat needs every model compared to have a chat template (sample sets and the dataset's answers are used as they are). */
  readonly formatProblem: string | null = $derived.by(() => {
    if (this.kind === 'pairs' || this.format !== 'chat') return null;
    const without = this.#models()
      .filter((m) => this.models.includes(m.name) && !m.chatTemplate)
      .map((m) => m.name);
    return without.length === 0
      ? null
      : `${without.join(', ')} ${without.length === 1 ? 'has' : 'have'} no chat template: choose Raw or the default`;
  });
  readonly canSubmit = $derived.by(
    () =>
      this.formatProblem === null &&
      this.name.trim() !== '' &&
      this.nameProblem === null &&
      this.modelsProblem === null &&
      this.datasetProblem === null &&
      this.goldFileProblem === null &&
      this.dataset !== '' &&
      Object.keys(this.problems).length === 0 &&
      !this.run.busy,
  );

  constructor(
    client: Client,
    models: () => ModelSummary[],
    datasets: () => DatasetSummary[],
    taken: (name: string) => boolean,
    onStarted: () => void,
    onReady: (prepared: CampaignPrepared) => void,
  ) {
    this.#client = client;
    this.#models = models;
    this.#datasets = datasets;
    this.#taken = taken;
    this.#onStarted = onStarted;
    this.#onReady = onReady;
    this.run = new JobRun(client, 'campaign', 'the campaign preparation');
  }

  get datasetChoice(): string {
    return this.dataset;
  }
  set datasetChoice(value: string) {
    this.#dataset = value;
  }

  resetNumbers(): void {
    this.numbers = defaultNumbers();
  }

  /** The request the form would send now. */
  get input(): Input<'campaigns.create'> {
    const split = this.split.trim();
    const guidelines = this.guidelines;
    const goldFile = this.goldFile.trim();
    const source = { dataset: this.dataset, ...(split !== '' ? { split } : {}) };
    const common = {
      name: this.name.trim(),
      ...this.#optionsInput(),
      ...(guidelines.trim() !== '' ? { guidelines } : {}),
      ...(goldFile !== '' ? { goldFile } : {}),
    };
    if (this.kind === 'pairs') return { ...common, pairs: source, ...(this.allPairs ? { n: 'all' as const } : {}) };
    return {
      ...common,
      models: this.models,
      prompts: source,
      settings: { maxNewTokens: this.numbers.maxNewTokens ?? Number.NaN },
      ...formatInput(this.format),
    };
  }

  async start(): Promise<void> {
    if (!this.canSubmit) return;
    const checked = CampaignCreate.safeParse(this.input);
    if (!checked.success) return;
    const prepared = await this.run.run(async () => {
      const started = await this.#client.call('campaigns.create', checked.data);
      // The campaign is listed at once, as preparing.
      this.#onStarted();
      return started;
    });
    if (prepared) {
      this.name = '';
      this.#onReady(prepared);
    }
  }

  #optionsInput(): Record<OptionKey, number> {
    const input = {} as Record<OptionKey, number>;
    // A missing key would take the schema's default, so an emptied field is sent as NaN to be refused.
    for (const key of optionKeys) input[key] = this.numbers[key] ?? Number.NaN;
    return input;
  }
}
