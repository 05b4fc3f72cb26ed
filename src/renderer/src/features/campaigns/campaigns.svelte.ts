import { z } from 'zod';
import {
  absolutePath,
  CampaignCreate,
  exportCriteria,
  GenerateSettings,
  ratingsFormats,
  type AppErrorShape,
  type DatasetSummary,
  type Input,
  type Job,
  type JobProgress,
  type ModelSummary,
  type Output,
} from '../../../../shared/contract';
import { CampaignOptions, RewardRule, type AgreementSummary, type CampaignSummary } from '../../../../shared/rating';
import { errorShape, type Client } from '../../lib/client';
import { fieldIssues } from '../../lib/issues';
import { phaseText } from '../../lib/phases';
import type { RatingTarget } from '../../app/app.svelte';
import { chosenOrFirst } from '../../lib/choice';
import { JobRun } from '../../app/jobRun.svelte';
import { PathExport, type Download } from '../../ui/pathExport.svelte';
import { RetrainState } from './retrain.svelte';
import { CampaignItemsState } from './campaignItems.svelte';
import type { ItemFilter } from '../../../../shared/itemBrowser';

/** How often an open campaign is asked for again while its page is visible: ratings come from elsewhere. */
const POLL_MS = 4000;
/**
 * Agreement figures (bootstrap intervals: the costly call) are asked for again when the ratings
 * count moves, and at least this often anyway, since an edited rating leaves the count as it was.
 */
const AGREEMENT_MAX_AGE_MS = 30_000;

/** What a campaign's preparation job answers. */
export const CampaignPrepared = z.object({
  campaign: z.string(),
  items: z.number().int().nonnegative(),
  prompts: z.number().int().nonnegative(),
  systems: z.array(z.string()),
});
export type CampaignPrepared = z.infer<typeof CampaignPrepared>;

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

function bounds(schema: { minValue: number | null; maxValue: number | null }): { min: number | null; max: number | null } {
  return { min: schema.minValue, max: schema.maxValue };
}

/** The contract's bounds and help line per field, for the inputs' min, max and hint. */
export const numberSpecs: Record<NumberKey, { min: number | null; max: number | null; help: string; integer: boolean }> = {
  n: { ...bounds(CampaignOptions.shape.n), help: CampaignOptions.shape.n.description ?? '', integer: true },
  overlap: { ...bounds(CampaignOptions.shape.overlap.unwrap()), help: CampaignOptions.shape.overlap.description ?? '', integer: true },
  gold: { ...bounds(CampaignOptions.shape.gold.unwrap()), help: CampaignOptions.shape.gold.description ?? '', integer: true },
  repeatSwapped: {
    ...bounds(CampaignOptions.shape.repeatSwapped.unwrap()),
    help: CampaignOptions.shape.repeatSwapped.description ?? '',
    integer: false,
  },
  seed: { ...bounds(CampaignOptions.shape.seed.unwrap()), help: CampaignOptions.shape.seed.description ?? '', integer: true },
  maxNewTokens: { ...bounds(GenerateSettings.shape.maxNewTokens.unwrap()), help: 'longest response sampled per model and prompt', integer: true },
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
  readonly run: JobRun<CampaignPrepared>;

  #name = $state.raw('');
  #chosen = $state.raw<string[]>([]);
  #dataset = $state.raw('');
  #split = $state.raw('');
  #guidelines = $state.raw('');
  #kind = $state.raw<CampaignKind>('systems');
  /** Relabelling: every pair of the dataset rather than n of them. */
  #allPairs = $state.raw(false);
  /** Comparing: the dataset's own answers as one more system (data:DATASET). */
  #withData = $state.raw(false);
  #goldFile = $state.raw('');
  /** Deep state: the number inputs bind to its keys one by one; an empty input is null. */
  numbers = $state<Record<NumberKey, number | null>>(defaultNumbers());

  /** The datasets this kind of campaign can use: any for prompts, those with pairs for relabelling. */
  readonly datasetChoices: DatasetSummary[] = $derived.by(() => (this.#kind === 'pairs' ? this.#datasets().filter((d) => d.pairs > 0) : this.#datasets()));
  readonly dataset = $derived.by(() => chosenOrFirst(this.datasetChoices, this.#dataset));
  /** The systems compared: the models chosen that the project still has, in the project's order, and the dataset's own answers when asked for. */
  readonly models: string[] = $derived.by(() => [
    ...this.#models().filter((m) => this.#chosen.includes(m.name)).map((m) => m.name),
    ...(this.#withData && this.dataset !== '' ? [`data:${this.dataset}`] : []),
  ]);
  readonly goldFileProblem: string | null = $derived.by(() => {
    const path = this.#goldFile.trim();
    if (path === '') return null;
    const checked = absolutePath.safeParse(path);
    return checked.success ? null : (checked.error.issues[0]?.message ?? 'not a path');
  });
  readonly datasetProblem: string | null = $derived.by(() =>
    this.#kind === 'pairs' && this.#datasets().length > 0 && this.datasetChoices.length === 0 ? 'no dataset has preference pairs: import one on the Data screen' : null,
  );
  readonly nameProblem: string | null = $derived.by(() => {
    const name = this.#name.trim();
    if (name === '') return null;
    const checked = CampaignCreate.shape.name.safeParse(name);
    if (!checked.success) return checked.error.issues[0]?.message ?? 'not a valid name';
    return this.#taken(name) ? 'a campaign of this name exists already' : null;
  });
  readonly modelsProblem: string | null = $derived.by(() => {
    if (this.#kind === 'pairs') return null;
    const n = this.models.length;
    if (n < MIN_MODELS) return `pick ${MIN_MODELS} or more models (${n} picked)`;
    if (n > MAX_MODELS) return `at most ${MAX_MODELS} models`;
    return null;
  });
  readonly problems: Partial<Record<NumberKey, string>> = $derived.by(() => {
    const numbers = this.numbers;
    const options = CampaignOptions.safeParse(this.#optionsInput());
    const problems: Partial<Record<NumberKey, string>> = options.success ? {} : fieldIssues(options.error, optionKeys, numbers);
    if (this.#kind === 'pairs') {
      // Nothing is sampled; n is a number of pairs, or all of them.
      const { n, ...rest } = problems;
      return this.#allPairs ? rest : { ...rest, ...(n ? { n } : {}) };
    }
    const settings = GenerateSettings.safeParse({ maxNewTokens: numbers.maxNewTokens ?? Number.NaN });
    if (!settings.success) return { ...problems, ...fieldIssues(settings.error, ['maxNewTokens'] as const, numbers) };
    // A response needs room in every model's context beside the prompt.
    const context = Math.min(...this.#models().filter((m) => this.models.includes(m.name)).map((m) => m.shape.nPositions));
    const max = numbers.maxNewTokens;
    if (Number.isFinite(context) && max !== null && max >= context) return { ...problems, maxNewTokens: `less than the smallest context of the models picked (${context})` };
    return problems;
  });
  readonly canSubmit = $derived.by(
    () =>
      this.#name.trim() !== '' &&
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
    this.run = new JobRun(client, CampaignPrepared, 'the campaign preparation');
  }

  get name(): string {
    return this.#name;
  }
  set name(value: string) {
    this.#name = value;
  }
  get chosen(): string[] {
    return this.#chosen;
  }
  set chosen(value: string[]) {
    this.#chosen = value;
  }
  get datasetChoice(): string {
    return this.dataset;
  }
  set datasetChoice(value: string) {
    this.#dataset = value;
  }
  get split(): string {
    return this.#split;
  }
  set split(value: string) {
    this.#split = value;
  }
  get guidelines(): string {
    return this.#guidelines;
  }
  set guidelines(value: string) {
    this.#guidelines = value;
  }
  get kind(): CampaignKind {
    return this.#kind;
  }
  set kind(value: CampaignKind) {
    this.#kind = value;
  }
  get allPairs(): boolean {
    return this.#allPairs;
  }
  set allPairs(value: boolean) {
    this.#allPairs = value;
  }
  get withData(): boolean {
    return this.#withData;
  }
  set withData(value: boolean) {
    this.#withData = value;
  }
  get goldFile(): string {
    return this.#goldFile;
  }
  set goldFile(value: string) {
    this.#goldFile = value;
  }

  resetNumbers(): void {
    this.numbers = defaultNumbers();
  }

  /** The request the form would send now. */
  get input(): Input<'campaigns.create'> {
    const split = this.#split.trim();
    const guidelines = this.#guidelines;
    const goldFile = this.#goldFile.trim();
    const source = { dataset: this.dataset, ...(split !== '' ? { split } : {}) };
    const common = {
      name: this.#name.trim(),
      ...this.#optionsInput(),
      ...(guidelines.trim() !== '' ? { guidelines } : {}),
      ...(goldFile !== '' ? { goldFile } : {}),
    };
    if (this.#kind === 'pairs') return { ...common, pairs: source, ...(this.#allPairs ? { n: 'all' as const } : {}) };
    return { ...common, models: this.models, prompts: source, settings: { maxNewTokens: this.numbers.maxNewTokens ?? Number.NaN } };
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
      this.#name = '';
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

export type ExportFormat = (typeof ratingsFormats)[number];
export type ExportCriterion = (typeof exportCriteria)[number];
export type RewardRuleName = RewardRule['rule'];
export type ExportResult = Output<'ratings.export'>;

/** Writing a campaign's ratings to a file on the backend's machine. */
export class RatingsExportState extends PathExport<ExportResult> {
  readonly #client: Client;
  readonly campaign: string;
  #format = $state.raw<ExportFormat>('raw');
  /** Which answers decide a derived file, and the rule that turns them into rewards (the raw file takes neither). */
  criterion = $state<ExportCriterion>('both');
  rule = $state<RewardRuleName>(RewardRule.parse({}).rule);

  constructor(client: Client, campaign: string) {
    super();
    this.#client = client;
    this.campaign = campaign;
  }

  get format(): ExportFormat {
    return this.#format;
  }
  set format(value: ExportFormat) {
    this.#format = value;
  }

  protected write(path: string): Promise<ExportResult> {
    return this.#client.call('ratings.export', { campaign: this.campaign, format: this.#format, path, criterion: this.criterion, rule: this.rule });
  }

  override get downloads(): { key: string; label: string }[] {
    return [
      { key: 'rows', label: `${this.campaign}-${this.#format}.jsonl` },
      { key: 'card', label: `${this.campaign}-${this.#format}.card.md` },
    ];
  }

  protected override async fetchDownload(key: string): Promise<Download> {
    const out = await this.#client.call('ratings.download', { campaign: this.campaign, format: this.#format, criterion: this.criterion, rule: this.rule });
    if (key === 'card') return { filename: out.card.filename, blob: new Blob([out.card.content], { type: 'text/markdown' }) };
    return { filename: out.filename, blob: new Blob([out.content], { type: 'application/jsonl' }) };
  }
}

/** A personal link just made: shown once, since only its hash is kept. */
export interface NewLink {
  annotator: string;
  /** The whole link when this page has an http(s) origin to build it from; else null (Electron's window). */
  url: string | null;
  token: string;
}

/**
 * One campaign's page: its summary and agreement figures, asked for again every few seconds while
 * the page is visible (ratings arrive from other browsers), the annotators' links, and rating as
 * someone from this window.
 */
export class CampaignView {
  readonly name: string;
  readonly exporter: RatingsExportState;
  readonly retrain: RetrainState;
  readonly items: CampaignItemsState;
  readonly #client: Client;
  readonly #rate: (target: RatingTarget) => void;
  readonly #origin: () => string;

  #summary = $state.raw<CampaignSummary | null>(null);
  #agreement = $state.raw<AgreementSummary[] | null>(null);
  #loadError = $state.raw<AppErrorShape | null>(null);
  #refreshing = $state.raw(false);
  #progress = $state.raw<JobProgress | null>(null);
  #known = $state.raw<Array<{ id: number; name: string }>>([]);

  #newName = $state.raw('');
  #adding = $state.raw(false);
  #addError = $state.raw<AppErrorShape | null>(null);
  #link = $state.raw<NewLink | null>(null);

  #rateName = $state.raw('');
  #rating = $state.raw(false);
  #rateError = $state.raw<AppErrorShape | null>(null);

  /** Ratings count the agreement figures were computed at, and when. */
  #agreementAt = -1;
  #agreementTime = 0;
  #inflight = false;
  #closed = false;

  readonly ready = $derived(this.#summary?.status === 'ready');
  readonly fraction: number | null = $derived.by(() => {
    const s = this.#summary;
    return s && s.target > 0 ? Math.min(1, s.done / s.target) : null;
  });
  /** What the preparation job is doing ("Sampling sys-alpha · 3 of 6"); '' when not said. */
  readonly phase: string = $derived(this.#progress ? phaseText(this.#progress) : '');
  readonly progressFraction: number | null = $derived.by(() => {
    const p = this.#progress;
    return p && p.total !== null && p.total > 0 ? Math.min(1, p.done / p.total) : null;
  });
  readonly newNameProblem: string | null = $derived.by(() => nameProblem(this.#newName));
  readonly rateNameProblem: string | null = $derived.by(() => nameProblem(this.#rateName));
  readonly canAdd = $derived(this.#newName.trim() !== '' && this.newNameProblem === null && !this.#adding && this.#summary !== null);
  readonly canRate = $derived(this.#rateName.trim() !== '' && this.rateNameProblem === null && !this.#rating && this.ready);
  /** Names to offer for "Rate as": the campaign's annotators first, then everyone else the project knows. */
  readonly suggestions: string[] = $derived.by(() => {
    const members = this.#summary?.annotators.map((a) => a.name) ?? [];
    return [...new Set([...members, ...this.#known.map((a) => a.name)])];
  });

  constructor(client: Client, name: string, known: CampaignSummary | null, rate: (target: RatingTarget) => void, origin: () => string) {
    this.#client = client;
    this.name = name;
    this.#summary = known;
    this.#rate = rate;
    this.#origin = origin;
    this.exporter = new RatingsExportState(client, name);
    this.retrain = new RetrainState(client, name, () => this.#summary?.systems ?? null);
    this.items = new CampaignItemsState(client, name);
  }

  get summary(): CampaignSummary | null {
    return this.#summary;
  }
  get agreement(): AgreementSummary[] | null {
    return this.#agreement;
  }
  get loadError(): AppErrorShape | null {
    return this.#loadError;
  }
  get refreshing(): boolean {
    return this.#refreshing;
  }
  get newName(): string {
    return this.#newName;
  }
  set newName(value: string) {
    this.#newName = value;
  }
  get adding(): boolean {
    return this.#adding;
  }
  get addError(): AppErrorShape | null {
    return this.#addError;
  }
  get link(): NewLink | null {
    return this.#link;
  }
  get rateName(): string {
    return this.#rateName;
  }
  set rateName(value: string) {
    this.#rateName = value;
  }
  get rating(): boolean {
    return this.#rating;
  }
  get rateError(): AppErrorShape | null {
    return this.#rateError;
  }

  /**
   * Asks for the campaign again now and then every few seconds while the document is visible, and
   * at once when it becomes visible again; the returned function stops it.
   */
  watch(): () => void {
    void this.refresh(true);
    void this.#loadKnown();
    const tick = (): void => {
      if (document.visibilityState === 'visible') void this.refresh();
    };
    const timer = setInterval(tick, POLL_MS);
    document.addEventListener('visibilitychange', tick);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', tick);
    };
  }

  /** The summary, and the agreement figures when ratings have come since they were computed (or when `all`). */
  async refresh(all = false): Promise<void> {
    if (this.#inflight || this.#closed) return;
    this.#inflight = true;
    // Only an asked-for refresh shows on the button: the background poll every few seconds would make it flicker.
    this.#refreshing = all;
    try {
      const summary = await this.#client.call('campaigns.get', { campaign: this.name });
      if (this.#closed) return;
      this.#summary = summary;
      if (summary.status !== 'preparing') this.#progress = null;
      const stale = summary.ratings !== this.#agreementAt || Date.now() - this.#agreementTime > AGREEMENT_MAX_AGE_MS;
      if (summary.status === 'ready' && (all || stale)) {
        const agreement = await this.#client.call('campaigns.agreement', { campaign: this.name });
        if (this.#closed) return;
        this.#agreement = agreement;
        this.#agreementAt = summary.ratings;
        this.#agreementTime = Date.now();
      }
      this.#loadError = null;
    } catch (error) {
      if (!this.#closed) this.#loadError = errorShape(error);
    } finally {
      this.#inflight = false;
      this.#refreshing = false;
    }
  }

  onProgress(progress: JobProgress): void {
    if (this.#closed || progress.kind !== 'campaign') return;
    const jobId = this.#summary?.jobId;
    if (jobId === undefined || jobId === null || jobId === progress.jobId) this.#progress = progress;
  }

  onJobFinished(job: Job): void {
    if (this.#closed || job.kind !== 'campaign' || (this.#summary?.jobId ?? job.id) !== job.id) return;
    this.#progress = null;
    void this.refresh(true);
  }

  /** Adds the annotator named (or gives them a new link): the link is shown once, here. */
  async addAnnotator(): Promise<void> {
    if (!this.canAdd) return;
    const name = this.#newName.trim();
    this.#adding = true;
    this.#addError = null;
    try {
      const { annotator, token } = await this.#client.call('annotators.add', { campaign: this.name, name, link: true });
      if (this.#closed) return;
      if (token === null) throw new Error('the backend made no link');
      const origin = this.#origin();
      this.#link = { annotator: annotator.name, token, url: /^https?:\/\//.test(origin) ? `${origin}/#rate=${token}` : null };
      this.#newName = '';
      void this.refresh();
      void this.#loadKnown();
    } catch (error) {
      if (!this.#closed) this.#addError = errorShape(error);
    } finally {
      this.#adding = false;
    }
  }

  dismissLink(): void {
    this.#link = null;
  }

  /** Rates in this window as one of the campaign's annotators: no link is made or replaced. */
  rateAsMember(annotator: number): void {
    if (!this.ready) return;
    this.#rate({ campaign: this.name, annotator });
  }

  /** Rates as the annotator named: a member as they are; anyone else joins the campaign without a link. */
  async rateAs(): Promise<void> {
    if (!this.canRate) return;
    const name = this.#rateName.trim();
    const member = this.#summary?.annotators.find((a) => a.name === name);
    if (member) return this.rateAsMember(member.id);
    this.#rating = true;
    this.#rateError = null;
    try {
      // link: false leaves no token behind: this person rates here, in the studio's own window.
      const { annotator } = await this.#client.call('annotators.add', { campaign: this.name, name, link: false });
      if (this.#closed) return;
      this.#rate({ campaign: this.name, annotator: annotator.id });
    } catch (error) {
      if (!this.#closed) this.#rateError = errorShape(error);
    } finally {
      this.#rating = false;
    }
  }

  close(): void {
    this.#closed = true;
  }

  async #loadKnown(): Promise<void> {
    try {
      const known = await this.#client.call('annotators.list', {});
      if (!this.#closed) this.#known = known;
    } catch {
      // Only suggestions: the campaign's own annotators are still offered.
    }
  }
}

/** Which message, if any, the contract has for an annotator's name; none while it is still empty. */
function nameProblem(name: string): string | null {
  if (name.trim() === '') return null;
  const checked = z.object({ name: CampaignCreate.shape.name }).safeParse({ name: name.trim() });
  return checked.success ? null : (checked.error.issues[0]?.message ?? 'not a valid name');
}

/** The project's campaigns, the "New campaign" form, and the one campaign whose page is open. */
export class CampaignsState {
  readonly form: CampaignFormState;
  readonly #client: Client;
  readonly #rate: (target: RatingTarget) => void;
  readonly #origin: () => string;
  #list = $state.raw<CampaignSummary[]>([]);
  #loaded = $state.raw(false);
  #error = $state.raw<AppErrorShape | null>(null);
  #open = $state.raw<CampaignView | null>(null);
  /** null until someone opens or closes the form: it then starts open only when there are no campaigns. */
  #formOpen = $state.raw<boolean | null>(null);
  #request = 0;

  readonly formOpen = $derived(this.#formOpen ?? (this.#loaded && this.#list.length === 0));

  constructor(
    client: Client,
    models: () => ModelSummary[],
    datasets: () => DatasetSummary[],
    rate: (target: RatingTarget) => void,
    origin: () => string = () => location.origin,
  ) {
    this.#client = client;
    this.#rate = rate;
    this.#origin = origin;
    this.form = new CampaignFormState(
      client,
      models,
      datasets,
      (name) => this.#list.some((c) => c.name === name),
      () => {
        // The form stays open to follow the preparation, though the list is no longer empty.
        this.#formOpen = true;
        void this.refresh();
      },
      () => void this.refresh(),
    );
    // For the page's life, like the studio itself: campaigns prepared anywhere (the alol command too) show here.
    client.on('jobs.progress', (progress) => this.#open?.onProgress(progress));
    client.on('jobs.finished', (job) => {
      if (job.kind !== 'campaign') return;
      void this.refresh();
      this.#open?.onJobFinished(job);
    });
  }

  get list(): CampaignSummary[] {
    return this.#list;
  }
  get loaded(): boolean {
    return this.#loaded;
  }
  get error(): AppErrorShape | null {
    return this.#error;
  }
  get open(): CampaignView | null {
    return this.#open;
  }

  async refresh(): Promise<void> {
    const request = ++this.#request;
    try {
      const list = await this.#client.call('campaigns.list', {});
      if (request !== this.#request) return;
      this.#list = list;
      this.#error = null;
      this.#loaded = true;
    } catch (error) {
      if (request === this.#request) this.#error = errorShape(error);
    }
  }

  openCampaign(name: string): void {
    if (this.#open?.name === name) return;
    this.#open?.close();
    this.#open = new CampaignView(this.#client, name, this.#list.find((c) => c.name === name) ?? null, this.#rate, this.#origin);
  }

  /** Opens a campaign's page with its item browser showing what `filter` selects (the items behind a Results figure). */
  openItems(campaign: string, filter: ItemFilter): void {
    this.openCampaign(campaign);
    this.#open?.items.show(filter);
  }

  closeCampaign(): void {
    this.#open?.close();
    this.#open = null;
    void this.refresh();
  }

  showForm(open: boolean): void {
    this.#formOpen = open;
  }
}
