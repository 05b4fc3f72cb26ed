/**
 * The geometry of a line chart of metrics over steps, as plain numbers and SVG path strings for a
 * view to draw: scales, "nice" ticks, and decimation to at most two points per pixel column (the
 * lowest and highest), so a long run draws quickly and keeps its spikes.
 */
import { clean, niceStep, shortNumber } from '../../../shared/chartMath';
import type { Series } from './metricLog';
import { maxOf } from '../../../shared/extent';

export interface ChartBox {
  width: number;
  height: number;
  /** Room for the y tick labels on the left and the x tick labels below. */
  left: number;
  right: number;
  top: number;
  bottom: number;
}

export interface Tick {
  value: number;
  /** Position on its axis, in the box's units. */
  at: number;
  label: string;
}

export interface ChartGeometry {
  /** One SVG path per series, in the order given; '' for a series without points. */
  paths: string[];
  /** The last point of each series, to mark it; null for a series without points. */
  ends: Array<{ x: number; y: number } | null>;
  xTicks: Tick[];
  yTicks: Tick[];
  plot: { x0: number; x1: number; y0: number; y1: number };
}

function domain(
  series: Series[],
  range: { min: number; max: number } | undefined,
): { min: number; max: number } | null {
  let min = Infinity;
  let max = -Infinity;
  for (const { values } of series) {
    for (const value of values) {
      if (value < min) min = value;
      if (value > max) max = value;
    }
  }
  if (min === Infinity) return null;
  if (range) {
    min = Math.min(min, range.min);
    max = Math.max(max, range.max);
  }
  if (min === max) {
    // A flat line sits in the middle of a band around its value.
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    return { min: min - pad, max: max + pad };
  }
  return { min, max };
}

/**
 * Points of one series as a path, decimated per pixel column: each column keeps its first, lowest,
 * highest and last point, in step order.
 */
function pathOf(series: Series, x: (step: number) => number, y: (value: number) => number): string {
  const { steps, values } = series;
  const value = (i: number): number => values[i] ?? 0;
  const parts: string[] = [];
  const point = (i: number): void => {
    parts.push(`${parts.length === 0 ? 'M' : 'L'}${round(x(steps[i] ?? 0))} ${round(y(value(i)))}`);
  };
  let first = 0;
  while (first < steps.length) {
    // One pixel column: the points from `first` up to (not including) `next`.
    const column = Math.floor(x(steps[first] ?? 0));
    let next = first + 1;
    let low = first;
    let high = first;
    while (next < steps.length && Math.floor(x(steps[next] ?? 0)) === column) {
      if (value(next) < value(low)) low = next;
      if (value(next) > value(high)) high = next;
      next += 1;
    }
    for (const i of [...new Set([first, low, high, next - 1])].sort((a, b) => a - b)) point(i);
    first = next;
  }
  return parts.join(' ');
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/**
 * Scales and paths for `series` in `box`. The x axis runs from step 0 to `lastStep` (the run's total
 * when known, so the line grows across the chart as the run goes); the y axis spans the values,
 * and `range` when given.
 */
export function chartGeometry(
  series: Series[],
  lastStep: number,
  box: ChartBox,
  range?: { min: number; max: number },
): ChartGeometry {
  const plot = { x0: box.left, x1: box.width - box.right, y0: box.height - box.bottom, y1: box.top };
  const xMax = maxOf(
    series.map((s) => s.steps.at(-1) ?? 0),
    Math.max(1, lastStep),
  );
  const x = (step: number): number => plot.x0 + (step / xMax) * (plot.x1 - plot.x0);

  const xStep = Math.max(1, niceStep(xMax, 4));
  const xTicks: Tick[] = [];
  for (let value = 0; value <= xMax + 1e-9; value += xStep)
    xTicks.push({ value, at: x(value), label: shortNumber(value) });

  const span = domain(series, range);
  if (!span) return { paths: series.map(() => ''), ends: series.map(() => null), xTicks, yTicks: [], plot };
  const yStep = niceStep(span.max - span.min, 3);
  const yMin = Math.floor(span.min / yStep) * yStep;
  const yMax = Math.ceil(span.max / yStep) * yStep;
  const y = (value: number): number => plot.y0 - ((value - yMin) / (yMax - yMin)) * (plot.y0 - plot.y1);
  const yTicks: Tick[] = [];
  // Counted rather than summed, so 0.1 + 0.2 does not drop the last tick.
  const count = Math.round((yMax - yMin) / yStep);
  for (let k = 0; k <= count; k++) {
    const value = yMin + k * yStep;
    yTicks.push({ value, at: y(value), label: shortNumber(clean(value)) });
  }

  const paths = series.map((s) => pathOf(s, x, y));
  const ends = series.map((s) => {
    const step = s.steps.at(-1);
    const value = s.values.at(-1);
    return step === undefined || value === undefined ? null : { x: round(x(step)), y: round(y(value)) };
  });
  return { paths, ends, xTicks, yTicks, plot };
}
