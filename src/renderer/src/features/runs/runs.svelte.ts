import type {
  AppErrorShape,
  DatasetSummary,
  Job,
  JobProgress,
  ModelSummary,
  RunStep,
  RunSummary,
} from '../../../../shared/contract';
import { errorShape, type Client } from '../../lib/client';
import { MetricLog, StepClock, type Series } from '../../lib/metricLog';
import { maxOf } from '../../../../shared/extent';
import { phaseText } from '../../lib/phases';
import { RunReport } from './runReport';
import { mainCharts, moreCharts, type ChartSpec } from './runMetrics';
import { RunFormState } from './runForm.svelte';
import { ListWithForm } from '../../app/listed.svelte';

/** How often an open run that is running is asked for again, in case an event was missed. */
const POLL_MS = 3000;

export type RunStatus = RunSummary['status'];
const resumable: ReadonlySet<RunStatus> = new Set(['interrupted', 'cancelled', 'failed']);

export interface ChartData {
  spec: ChartSpec;
  lines: Array<{ label: string; series: Series }>;
  /** Steps logged, the most of any of its lines. */
  points: number;
}

/** The charts of `specs` that have at least one line, each metric's series looked up by its name. */
export function chartsOf(specs: ChartSpec[], seriesOf: (name: string) => Series | undefined): ChartData[] {
  const charts: ChartData[] = [];
  for (const spec of specs) {
    const lines: ChartData['lines'] = [];
    for (const metric of spec.metrics) {
      const series = seriesOf(metric.name);
      if (series) lines.push({ label: metric.label, series });
    }
    if (lines.length > 0) charts.push({ spec, lines, points: maxOf(lines.map((line) => line.series.steps.length)) });
  }
  return charts;
}

/**
 * One run's page: the run as runs.get gives it, kept current by runs.step and job events (and a
 * slow poll for the ones missed), its metrics from runs.metrics and then the live steps, the time
 * left, and the cancel and resume actions.
 */
export class RunView {
  readonly runId: number;
  readonly #client: Client;
  readonly #log = new MetricLog();
  readonly #clock = new StepClock();

  #run = $state.raw<RunSummary | null>(null);
  #loadError = $state.raw<AppErrorShape | null>(null);
  #actionError = $state.raw<AppErrorShape | null>(null);
  /** 'cancel' holds until the run stops: cancelling takes until the job process ends. */
  #acting = $state.raw<'cancel' | 'resume' | null>(null);
  /** The last progress of each training job seen: one may come before the run's job id is known. */
  readonly #progress = new Map<number, JobProgress>();
  #progressVersion = $state.raw(0);
  #secondsPerStep = $state.raw<number | null>(null);
  /** Bumped whenever the (non-reactive) metric log changes. */
  #version = $state.raw(0);

  /** Steps that arrived while the history was on its way, applied after it. */
  #early: RunStep[] | null = [];
  #timer: ReturnType<typeof setTimeout> | null = null;
  #frame: number | null = null;
  #closed = false;
  #request = 0;

  readonly status: RunStatus | null = $derived(this.#run?.status ?? null);
  /** What the run's job is doing ("Fitting the value head · 1 of 2"); '' when not running or not said. */
  readonly phase: string = $derived.by(() => {
    void this.#progressVersion;
    const run = this.#run;
    const progress = run?.status === 'running' && run.jobId !== null ? this.#progress.get(run.jobId) : undefined;
    return progress ? phaseText(progress) : '';
  });
  readonly running = $derived(this.#run?.status === 'running');
  readonly canCancel = $derived(this.running && this.#acting === null);
  readonly canResume = $derived(this.#run !== null && resumable.has(this.#run.status) && this.#acting === null);
  readonly fraction: number | null = $derived.by(() => {
    const run = this.#run;
    if (!run || run.totalSteps === null || run.totalSteps === 0) return null;
    return Math.min(1, run.step / run.totalSteps);
  });
  /** Seconds left, from how fast the last steps came; null when not known (not training, or too early). */
  readonly eta: number | null = $derived.by(() => {
    const run = this.#run;
    if (!run || run.status !== 'running' || run.totalSteps === null || this.#secondsPerStep === null) return null;
    return Math.max(0, run.totalSteps - run.step) * this.#secondsPerStep;
  });
  /** The summary of a finished run, read; null before it has one (or when its shape is not one this page knows). */
  readonly report: RunReport | null = $derived.by(() => {
    const summary = this.#run?.summary;
    if (!summary) return null;
    const parsed = RunReport.safeParse(summary);
    return parsed.success ? parsed.data : null;
  });
  readonly latest: Record<string, number> = $derived.by(() => {
    void this.#version;
    return this.#log.latest();
  });
  readonly charts: ChartData[] = $derived.by(() => {
    void this.#version;
    return chartsOf(mainCharts, (name) => this.#log.series(name));
  });
  /** Logged metrics no main chart shows. */
  readonly moreCharts: ChartData[] = $derived.by(() => {
    void this.#version;
    return chartsOf(moreCharts(this.#log.names), (name) => this.#log.series(name));
  });

  constructor(client: Client, runId: number, known: RunSummary | null) {
    this.#client = client;
    this.runId = runId;
    this.#run = known;
  }

  get run(): RunSummary | null {
    return this.#run;
  }
  get loadError(): AppErrorShape | null {
    return this.#loadError;
  }
  get actionError(): AppErrorShape | null {
    return this.#actionError;
  }
  get acting(): 'cancel' | 'resume' | null {
    return this.#acting;
  }
  /** The last step's training speed, as the trainer measures it. */
  get tokensPerSecond(): number | null {
    return this.latest.tokens_per_second ?? null;
  }

  /** The run and all its metrics so far; live steps that come meanwhile are kept and added after. */
  async load(): Promise<void> {
    try {
      const [run, history] = await Promise.all([
        this.#client.call('runs.get', { runId: this.runId }),
        this.#client.call('runs.metrics', { runId: this.runId, sinceStep: 0 }),
      ]);
      if (this.#closed) return;
      this.#setRun(run);
      this.#log.clear();
      this.#log.addHistory(history);
      for (const step of this.#early ?? []) if (step.step > this.#log.lastStep) this.#log.add(step.step, step.metrics);
      this.#early = null;
      this.#version += 1;
      this.#loadError = null;
    } catch (error) {
      if (this.#closed) return;
      this.#loadError = errorShape(error);
      // Live steps are still being kept for when the history comes: ask again in a moment.
      this.#timer = setTimeout(() => {
        this.#timer = null;
        void this.load();
      }, POLL_MS);
      return;
    }
    this.#schedulePoll();
  }

  onStep(step: RunStep): void {
    if (this.#closed) return;
    if (this.#early !== null) {
      this.#early.push(step);
    } else {
      this.#log.add(step.step, step.metrics);
      this.#redrawSoon();
    }
    this.#clock.mark(step.step, performance.now());
    this.#secondsPerStep = this.#clock.secondsPerStep();
    const run = this.#run;
    if (run) this.#run = { ...run, step: step.step, totalSteps: step.totalSteps };
  }

  onProgress(progress: JobProgress): void {
    if (this.#closed || progress.kind !== 'train') return;
    this.#progress.set(progress.jobId, progress);
    this.#progressVersion += 1;
  }

  onJobFinished(job: Job): void {
    this.#progress.delete(job.id);
    if (this.#closed || job.id !== this.#run?.jobId) return;
    void this.#refresh();
  }

  async cancel(): Promise<void> {
    if (!this.canCancel) return;
    this.#acting = 'cancel';
    this.#actionError = null;
    try {
      const { cancelled } = await this.#client.call('runs.cancel', { runId: this.runId });
      if (!cancelled) {
        this.#acting = null;
        this.#actionError = { code: 'not_running', message: 'The run was no longer running.' };
      }
    } catch (error) {
      this.#acting = null;
      this.#actionError = errorShape(error);
    }
    await this.#refresh();
  }

  async resume(): Promise<void> {
    if (!this.canResume) return;
    this.#acting = 'resume';
    this.#actionError = null;
    try {
      const { jobId } = await this.#client.call('runs.resume', { runId: this.runId });
      const run = this.#run;
      if (run && !this.#closed) this.#run = { ...run, status: 'running', jobId, error: null, finishedAt: null };
      this.#clock.reset();
      this.#secondsPerStep = null;
    } catch (error) {
      this.#actionError = errorShape(error);
    } finally {
      this.#acting = null;
    }
    await this.#refresh();
  }

  close(): void {
    this.#closed = true;
    this.#stopPoll();
    if (this.#frame !== null) cancelAnimationFrame(this.#frame);
    this.#frame = null;
  }

  /** Steps can come faster than frames: the charts are redrawn once per frame at most. */
  #redrawSoon(): void {
    if (this.#frame !== null) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = null;
      this.#version += 1;
    });
  }

  /** The run again, and any steps the events did not bring. */
  async #refresh(): Promise<void> {
    const request = ++this.#request;
    try {
      const run = await this.#client.call('runs.get', { runId: this.runId });
      if (this.#closed || request !== this.#request) return;
      this.#setRun(run);
      if (this.#early === null && run.step > this.#log.lastStep) {
        const rows = await this.#client.call('runs.metrics', { runId: this.runId, sinceStep: this.#log.lastStep + 1 });
        if (this.#closed) return;
        this.#log.addHistory(rows);
        this.#version += 1;
      }
    } catch (error) {
      if (!this.#closed && request === this.#request) this.#loadError = errorShape(error);
      return;
    }
    this.#loadError = null;
    this.#schedulePoll();
  }

  #setRun(fresh: RunSummary): void {
    const known = this.#run;
    // An answer can be older than the last step event: while the same job runs, steps only grow.
    const sameJob =
      known !== null && known.status === 'running' && fresh.status === 'running' && known.jobId === fresh.jobId;
    this.#run =
      sameJob && known.step > fresh.step ? { ...fresh, step: known.step, totalSteps: known.totalSteps } : fresh;
    if (fresh.status !== 'running') {
      if (this.#acting === 'cancel') this.#acting = null;
      this.#secondsPerStep = null;
    }
  }

  #schedulePoll(): void {
    this.#stopPoll();
    if (this.#closed || !this.running) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#refresh();
    }, POLL_MS);
  }

  #stopPoll(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

/** The project's runs, the "New run" form, and the one run whose page is open. */
export class RunsState extends ListWithForm<RunSummary> {
  readonly form: RunFormState;
  readonly #client: Client;
  readonly #onTrained: (model: { name: string }) => void;
  #open = $state.raw<RunView | null>(null);

  constructor(
    client: Client,
    models: () => ModelSummary[],
    datasets: () => DatasetSummary[],
    onTrained: (model: { name: string }) => void,
  ) {
    super();
    this.#client = client;
    this.#onTrained = onTrained;
    this.form = new RunFormState(client, models, datasets, (runId) => this.#started(runId));
    // For the page's life, like the studio itself: runs started anywhere (the alol command too) show here.
    client.on('runs.step', (step) => this.#onStep(step));
    client.on('jobs.progress', (progress) => this.#open?.onProgress(progress));
    client.on('jobs.finished', (job) => this.#onJobFinished(job));
  }

  get open(): RunView | null {
    return this.#open;
  }

  protected fetchList(): Promise<RunSummary[]> {
    return this.#client.call('runs.list', {});
  }

  openRun(runId: number): void {
    if (this.#open?.runId === runId) return;
    this.#open?.close();
    const view = new RunView(this.#client, runId, this.list.find((run) => run.id === runId) ?? null);
    this.#open = view;
    void view.load();
  }

  closeRun(): void {
    this.#open?.close();
    this.#open = null;
    void this.refresh();
  }

  /** Back to the list with the form open, starting from `model`: a trained model as the next run's start. */
  newRunFrom(model: string): void {
    this.closeRun();
    this.form.startFrom(model);
    this.showForm(true);
  }

  #started(runId: number): void {
    void this.refresh();
    this.openRun(runId);
  }

  /** A step moves its row at once; a run the list does not show as running sends for the list. */
  #onStep(step: RunStep): void {
    const index = this.list.findIndex((run) => run.id === step.runId);
    const row = this.list[index];
    if (row && row.status === 'running') {
      this.patchList(this.list.with(index, { ...row, step: step.step, totalSteps: step.totalSteps }));
    } else if (!this.refreshing) {
      void this.refresh();
    }
    if (this.#open?.runId === step.runId) this.#open.onStep(step);
  }

  #onJobFinished(job: Job): void {
    if (job.kind !== 'train') return;
    void this.refresh();
    this.#open?.onJobFinished(job);
    const model = job.result?.model;
    if (job.status === 'succeeded' && typeof model === 'string') this.#onTrained({ name: model });
  }
}
