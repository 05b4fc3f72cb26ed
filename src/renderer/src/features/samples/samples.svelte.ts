import { z } from 'zod';
import {
  GenerateSettings,
  SampleRequest,
  type DatasetSummary,
  type ModelSummary,
  type Sample,
  type SampleResult,
} from '../../../../shared/contract';
import type { Client } from '../../lib/client';
import { fieldIssues } from '../../lib/issues';
import { chosenOrFirst } from '../../lib/choice';
import { JobRun } from '../../app/jobRun.svelte';
import { PageState } from '../../app/page.svelte';
import { formatNote } from '../../../../shared/promptFormat';
import { formatInput, type FormatChoice } from '../../ui/FormatField.svelte';

/** What a sampling job answers: the contract's jobResults.sample. */
export type { SampleResult };

export const sampleNumberKeys = [
  'n',
  'maxNewTokens',
  'repetitionPenalty',
  'temperature',
  'topK',
  'topP',
  'seed',
] as const;
export type SampleNumberKey = (typeof sampleNumberKeys)[number];
/** Only sampling reads these; greedy decoding leaves them at the contract's defaults. */
export const samplingKeys: readonly SampleNumberKey[] = ['temperature', 'topK', 'topP', 'seed'];

const settingsDefaults = GenerateSettings.parse({});
const requestDefaults = SampleRequest.parse({ model: 'defaults', prompts: { texts: ['defaults'] } });

function defaultNumbers(): Record<SampleNumberKey, number | null> {
  const { maxNewTokens, repetitionPenalty, temperature, topK, topP, seed } = settingsDefaults;
  return { n: requestDefaults.n, maxNewTokens, repetitionPenalty, temperature, topK, topP, seed };
}

/** The "Sample a model" form: model, a dataset's prompts, decoding settings, and the samples.create job. */
export class SampleFormState {
  readonly #client: Client;
  readonly #models: () => ModelSummary[];
  readonly #datasets: () => DatasetSummary[];
  readonly #onSampled: (result: SampleResult) => void;
  readonly run: JobRun<'sample'>;

  #model = $state.raw('');
  #dataset = $state.raw('');
  split = $state('');
  reward = $state('');
  /** The prompt format: the model's default (chat where it has a chat template) unless chosen. */
  format = $state<FormatChoice>('default');
  greedy = $state(settingsDefaults.greedy);
  /** Deep state: the number inputs bind to its keys one by one; an empty input is null. */
  numbers = $state<Record<SampleNumberKey, number | null>>(defaultNumbers());

  readonly model = $derived.by(() => chosenOrFirst(this.#models(), this.#model));
  readonly dataset = $derived.by(() => chosenOrFirst(this.#datasets(), this.#dataset));
  readonly problems: Partial<Record<SampleNumberKey, string>> = $derived.by(() => {
    const numbers = this.numbers;
    const checked = SampleRequest.safeParse(this.#request('check', 'check'));
    const problems: Partial<Record<SampleNumberKey, string>> = {};
    if (!checked.success) {
      // Settings' issues are under settings.*: lift them to the field's own key.
      const lifted = checked.error.issues.map((issue) =>
        issue.path[0] === 'settings' ? { ...issue, path: issue.path.slice(1) } : issue,
      );
      Object.assign(problems, fieldIssues(new z.ZodError(lifted), sampleNumberKeys, numbers));
    }
    const context = this.#models().find((m) => m.name === this.model)?.shape.context;
    const max = numbers.maxNewTokens;
    if (problems.maxNewTokens === undefined && context !== undefined && max !== null && max >= context) {
      problems.maxNewTokens = `less than the model's context of ${context}`;
    }
    if (this.greedy) for (const key of samplingKeys) delete problems[key];
    return problems;
  });
  /** Whether the chosen model has a chat template (false until it is known). */
  readonly #chatTemplate = $derived.by(() => this.#models().find((m) => m.name === this.model)?.chatTemplate ?? false);
  readonly formatDefault = $derived.by(() => formatNote(this.#chatTemplate ? 'chat' : 'raw', this.#chatTemplate));
  readonly formatProblem: string | null = $derived.by(() =>
    this.format === 'chat' && this.model !== '' && !this.#chatTemplate
      ? `${this.model} has no chat template: choose Raw or the default`
      : null,
  );
  readonly canSubmit = $derived.by(
    () =>
      this.model !== '' &&
      this.dataset !== '' &&
      Object.keys(this.problems).length === 0 &&
      this.formatProblem === null &&
      !this.run.busy,
  );

  constructor(
    client: Client,
    models: () => ModelSummary[],
    datasets: () => DatasetSummary[],
    onSampled: (result: SampleResult) => void,
  ) {
    this.#client = client;
    this.#models = models;
    this.#datasets = datasets;
    this.#onSampled = onSampled;
    this.run = new JobRun(client, 'sample', 'the sampling');
  }

  get modelChoice(): string {
    return this.model;
  }
  set modelChoice(value: string) {
    this.#model = value;
  }
  get datasetChoice(): string {
    return this.dataset;
  }
  set datasetChoice(value: string) {
    this.#dataset = value;
  }

  resetSettings(): void {
    this.greedy = settingsDefaults.greedy;
    this.numbers = defaultNumbers();
  }

  async start(): Promise<void> {
    if (!this.canSubmit) return;
    const checked = SampleRequest.safeParse(this.#request(this.model, this.dataset));
    if (!checked.success) return;
    const result = await this.run.run(() => this.#client.call('samples.create', checked.data));
    if (result) this.#onSampled(result);
  }

  #request(model: string, dataset: string): Record<string, unknown> {
    const split = this.split.trim();
    const reward = this.reward.trim();
    const settings: Record<string, number | boolean> = { greedy: this.greedy };
    for (const key of sampleNumberKeys) {
      if (key === 'n') continue;
      // Sampling's own settings do not count while decoding greedily; the contract's defaults stand in.
      if (this.greedy && samplingKeys.includes(key)) continue;
      // A missing key would take the schema's default, so an emptied field is sent as NaN to be refused.
      settings[key] = this.numbers[key] ?? Number.NaN;
    }
    return {
      model,
      prompts: { dataset, ...(split !== '' ? { split } : {}) },
      n: this.numbers.n ?? Number.NaN,
      settings,
      ...(reward !== '' ? { reward } : {}),
      ...formatInput(this.format),
    };
  }
}

/** The Samples screen: the stored samples, filtered by model and paged, and the form that adds more. */
export class SamplesState {
  readonly form: SampleFormState;
  readonly page: PageState<Sample>;
  #model = $state.raw('');
  #open = $state.raw<Sample | null>(null);

  constructor(client: Client, models: () => ModelSummary[], datasets: () => DatasetSummary[]) {
    this.page = new PageState((offset, limit) => {
      const model = this.#model;
      return client.call('samples.list', { ...(model !== '' ? { model } : {}), offset, limit });
    }, 25);
    this.form = new SampleFormState(client, models, datasets, (result) => {
      // The list turns to the model just sampled, from its first page.
      this.#model = result.model;
      void this.page.load(0);
    });
    // Samples come from campaigns and the alol command too: a shown list follows when such a job ends.
    client.on('jobs.finished', (job) => {
      if ((job.kind === 'sample' || job.kind === 'campaign') && job.status === 'succeeded' && this.page.loaded)
        void this.page.load();
    });
  }

  /** The model whose samples are listed; '' for every model. */
  get model(): string {
    return this.#model;
  }
  set model(value: string) {
    if (value === this.#model) return;
    this.#model = value;
    void this.page.load(0);
  }

  /** The sample shown in full. */
  get open(): Sample | null {
    return this.#open;
  }

  openSample(sample: Sample): void {
    this.#open = sample;
  }

  closeSample(): void {
    this.#open = null;
  }
}
