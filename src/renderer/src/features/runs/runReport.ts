/**
 * A finished run's summary (RunSummary.summary, a plain record in the contract) read for the page:
 * the out model, the steps taken, where rewards came from, the last step's metrics, and for A-LoL
 * variants the advantage report (value-head fit, positive fraction). Every part is optional, so a
 * summary with more or fewer fields still shows what it has; what is not known here shows as is.
 */
import { z } from 'zod';

const AdvantageReport = z.looseObject({
  valueTargets: z.string().optional(),
  valueFit: z.record(z.string(), z.unknown()).optional(),
  positiveFraction: z.number().optional(),
  meanAdvantage: z.number().optional(),
});

export const RunReport = z.looseObject({
  model: z.string().optional(),
  steps: z.number().optional(),
  rewardSource: z.string().optional(),
  finalMetrics: z.record(z.string(), z.number()).optional(),
  advantages: AdvantageReport.optional(),
});
export type RunReport = z.infer<typeof RunReport>;

/** Words for the value-head fit's fields; others show under their own names. */
export const valueFitLabels: Record<string, string> = {
  targets: 'Targets from',
  rows: 'Held-out targets',
  bestEpoch: 'Best epoch',
  mse: 'Fit MSE',
  pearson: 'Pearson r',
  cached: 'Reused from the run’s cache',
};

/** The fields of `record` not in `known`: the ones this page has no words for, to show as they are. */
export function otherFields(record: Record<string, unknown>, known: readonly string[]): Array<[string, unknown]> {
  return Object.entries(record).filter(([key]) => !known.includes(key));
}

export const reportKeys = Object.keys(RunReport.shape);
export const advantageKeys = Object.keys(AdvantageReport.shape);

/** A value of unknown shape as one line. */
export function plain(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  // Four significant digits, without the trailing zeros toPrecision leaves: 0.0001, 1.829, 170.3.
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}
