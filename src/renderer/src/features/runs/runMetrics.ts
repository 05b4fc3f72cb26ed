/**
 * The charts of a run's page: which metrics go in which chart, with a line on what each means
 * (../shared/docs/ALOL.md; names as the trainer logs them, slash-named as in TRL). A chart shows
 * when the run has logged any of its metrics, so each algorithm gets its own without a list per
 * algorithm; metrics not named here get a chart each under "more".
 */

export interface ChartSpec {
  /** Names the chart in the page (data-chart) and in tests. */
  id: string;
  title: string;
  help: string;
  /** One line per metric, drawn in this order. */
  metrics: Array<{ name: string; label: string }>;
  /** The y range always shown (a share spans 0 to 1); values outside it widen it. */
  range?: { min: number; max: number };
}

const share = { min: 0, max: 1 };

export const mainCharts: ChartSpec[] = [
  {
    id: 'loss',
    title: 'Loss',
    help: 'The algorithm’s loss: a mean over the batch of sums over response tokens.',
    metrics: [{ name: 'loss', label: 'loss' }],
  },
  {
    id: 'alol/weight_mean',
    title: 'Importance weight',
    help: 'Mean clipped πθ/πref over the batch: 1 where the policy still equals the reference.',
    metrics: [{ name: 'alol/weight_mean', label: 'mean weight' }],
  },
  {
    id: 'alol/clipped',
    title: 'Clipped weights',
    help: 'Share of weights held at 1 − ε (low) or 1 + ε (high): the policy has moved that far from the reference.',
    metrics: [
      { name: 'alol/clipped_low', label: 'low' },
      { name: 'alol/clipped_high', label: 'high' },
    ],
    range: share,
  },
  {
    id: 'alol/positive_fraction',
    title: 'Positive advantages',
    help: 'Share of the batch with A = R − V(x) > 0; priority sampling draws only those.',
    metrics: [{ name: 'alol/positive_fraction', label: 'A > 0' }],
    range: share,
  },
  {
    id: 'rewards/accuracies',
    title: 'Reward accuracy',
    help: 'Share of pairs whose chosen response gets the higher implicit reward β·log(πθ/πref).',
    metrics: [{ name: 'rewards/accuracies', label: 'accuracy' }],
    range: share,
  },
  {
    id: 'rewards/margins',
    title: 'Reward margin',
    help: 'Mean implicit reward of the chosen response minus the rejected one’s.',
    metrics: [{ name: 'rewards/margins', label: 'margin' }],
  },
  {
    id: 'grad_norm',
    title: 'Gradient norm',
    help: 'Global norm of the gradient before it is clipped to the max grad norm.',
    metrics: [{ name: 'grad_norm', label: 'norm' }],
  },
  {
    id: 'learning_rate',
    title: 'Learning rate',
    help: 'The rate the step was taken with, as the schedule gives it.',
    metrics: [{ name: 'learning_rate', label: 'rate' }],
  },
];

/** Logged, but a speed rather than a curve to read: the page shows it as a figure. */
export const notCharted = new Set(['tokens_per_second']);

const charted = new Set(mainCharts.flatMap((chart) => chart.metrics.map((metric) => metric.name)));

/** A chart for each logged metric no main chart shows. */
export function moreCharts(names: string[]): ChartSpec[] {
  return names
    .filter((name) => !charted.has(name) && !notCharted.has(name))
    .sort()
    .map((name) => ({ id: name, title: name, help: '', metrics: [{ name, label: name }] }));
}
