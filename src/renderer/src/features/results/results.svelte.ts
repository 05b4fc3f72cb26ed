import type { AppErrorShape } from '../../../../shared/contract';
import type { CampaignSummary, Criterion } from '../../../../shared/rating';
import type { Results, RunCurves } from '../../../../shared/results';
export { SEPARATION_RULE } from '../../../../shared/results';
import { errorShape, type Client } from '../../lib/client';
import { saveFile } from '../../lib/download';
import { mainCharts, moreCharts } from '../runs/runMetrics';
import { chartsOf, type ChartData } from '../runs/runs.svelte';

/** One row of an interval chart: a value with its 95% interval, drawn as a bar from the reference with whiskers. */
export interface IntervalRow {
  key: string;
  label: string;
  value: number | null;
  low: number | null;
  high: number | null;
  /** Text at the end of the row. */
  note: string;
}

/** A run's training curves as the Runs screen draws them: the same charts, from results.get's series. */
export interface RunCharts {
  run: RunCurves;
  charts: ChartData[];
}

function runCharts(run: RunCurves): ChartData[] {
  const series = new Map(run.metrics.map((m) => [m.name, { steps: m.steps, values: m.values }]));
  return chartsOf([...mainCharts, ...moreCharts([...series.keys()])], (name) => series.get(name));
}

/**
 * The Results screen: the campaigns to pick from, the one picked (null: every campaign pooled), and
 * its results as results.get computes them. Loaded when the screen opens and on Refresh (ratings
 * arrive without events); an answer to an older request is dropped.
 */
export class ResultsState {
  readonly #client: Client;
  #campaigns = $state.raw<CampaignSummary[]>([]);
  #campaign = $state.raw<string | null>(null);
  #results = $state.raw<Results | null>(null);
  #loading = $state.raw(false);
  #error = $state.raw<AppErrorShape | null>(null);
  #request = 0;
  #reporting = $state.raw(false);

  readonly curves: RunCharts[] = $derived((this.#results?.runs ?? []).map((run) => ({ run, charts: runCharts(run) })));
  /** Comparisons counted (the same for both criteria). */
  readonly comparisons: number = $derived(this.#results?.criteria[0]?.comparisons ?? 0);

  constructor(client: Client) {
    this.#client = client;
  }

  get campaigns(): CampaignSummary[] {
    return this.#campaigns;
  }
  get campaign(): string | null {
    return this.#campaign;
  }
  get results(): Results | null {
    return this.#results;
  }
  get loading(): boolean {
    return this.#loading;
  }
  get error(): AppErrorShape | null {
    return this.#error;
  }
  /** A report is being made for download. */
  get reporting(): boolean {
    return this.#reporting;
  }

  /** The figures shown as one HTML file (results.report, what `alol report` writes), saved by the browser. */
  async downloadReport(): Promise<void> {
    if (this.#reporting) return;
    this.#reporting = true;
    try {
      const report = await this.#client.call(
        'results.report',
        this.#campaign === null ? {} : { campaign: this.#campaign },
      );
      saveFile(report.filename, new Blob([report.html], { type: 'text/html' }));
    } catch (error) {
      this.#error = errorShape(error);
    } finally {
      this.#reporting = false;
    }
  }

  /** The campaigns and the results of the one picked; a picked campaign that is gone falls back to all. */
  async refresh(): Promise<void> {
    const request = ++this.#request;
    this.#loading = true;
    try {
      const campaigns = await this.#client.call('campaigns.list', {});
      if (request !== this.#request) return;
      this.#campaigns = campaigns;
      if (this.#campaign !== null && !campaigns.some((c) => c.name === this.#campaign)) this.#campaign = null;
      await this.#load(request);
    } catch (error) {
      if (request !== this.#request) return;
      this.#error = errorShape(error);
      this.#loading = false;
    }
  }

  async choose(campaign: string | null): Promise<void> {
    this.#campaign = campaign;
    const request = ++this.#request;
    this.#loading = true;
    try {
      await this.#load(request);
    } catch (error) {
      if (request !== this.#request) return;
      this.#error = errorShape(error);
      this.#loading = false;
    }
  }

  async #load(request: number): Promise<void> {
    const results = await this.#client.call('results.get', this.#campaign === null ? {} : { campaign: this.#campaign });
    if (request !== this.#request) return;
    this.#results = results;
    this.#error = null;
    this.#loading = false;
  }
}

const percentFormat = new Intl.NumberFormat(undefined, {
  style: 'percent',
  minimumFractionDigits: 1,
  maximumFractionDigits: 1,
});
const scoreFormat = new Intl.NumberFormat(undefined, {
  minimumFractionDigits: 1,
  maximumFractionDigits: 1,
  useGrouping: false,
});
const figureFormat = new Intl.NumberFormat(undefined, { minimumFractionDigits: 3, maximumFractionDigits: 3 });

/** "66.7%"; "—" for none. */
export function percent(value: number | null): string {
  return value === null ? '—' : percentFormat.format(value);
}

/** A Bradley-Terry score: "1060.2". */
export function score(value: number): string {
  return scoreFormat.format(value);
}

/** A figure to three decimals: "0.613"; "—" for none. */
export function figure(value: number | null): string {
  return value === null ? '—' : figureFormat.format(value);
}

/** What each criterion is called in headings and labels. */
export const criterionLabels: Record<Criterion, string> = { helpful: 'Helpfulness', safe: 'Safety' };
