/**
 * Small static SVG charts as strings, for the HTML report (src/main/report/html.ts): bars with
 * interval whiskers, histograms and line charts. Every text is escaped; styling comes from class
 * names the report's stylesheet defines (c0..c5 for series colours), so a chart carries no script
 * and no inline style.
 *
 *   intervalChart([{ label: 'sys-a', value: 0.62, low: 0.41, high: 0.79 }], { min: 0, max: 1, reference: 0.5 })
 *   // '<svg viewBox="0 0 560 52" ...><rect .../><line .../>...</svg>'
 */

import { clean, niceStep, shortNumber } from '../../shared/chartMath';
import { maxOf, minOf } from '../../shared/extent';

/** Text for an HTML or SVG text node or a quoted attribute value. */
export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": '#39' }[c] as string};`,
  );
}

interface Axis {
  min: number;
  max: number;
  ticks: number[];
}

/** [min, max] widened to whole ticks, about `count` intervals; a flat range gets a band around it. */
export function niceAxis(min: number, max: number, count = 4): Axis {
  if (!(Number.isFinite(min) && Number.isFinite(max))) return { min: 0, max: 1, ticks: [0, 1] };
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  const step = niceStep(max - min, count);
  const lo = clean(Math.floor(min / step) * step);
  const hi = clean(Math.ceil(max / step) * step);
  const ticks: number[] = [];
  for (let k = 0; k <= Math.round((hi - lo) / step); k++) ticks.push(clean(lo + k * step));
  return { min: lo, max: hi, ticks };
}

const r1 = (x: number): number => Math.round(x * 10) / 10;

function svgOpen(width: number, height: number, label: string): string {
  return `<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(label)}">`;
}

export interface IntervalRow {
  label: string;
  value: number | null;
  low: number | null;
  high: number | null;
  /** Text at the end of the row (the value, formatted); the value itself when not given. */
  note?: string;
}

export interface IntervalOptions {
  /** The axis spans at least [min, max]; intervals outside widen it. */
  min?: number;
  max?: number;
  /** A vertical line (0.5 for win rates, 1000 for scores). */
  reference?: number;
  /** Bars start at this value (the reference by default, else the axis start); null draws dots only. */
  base?: number | null;
  label: string;
  format?: (value: number) => string;
}

/** Horizontal bars with 95% interval whiskers, one row per label. */
export function intervalChart(rows: readonly IntervalRow[], opts: IntervalOptions): string {
  const format = opts.format ?? shortNumber;
  const rowHeight = 24;
  const labelWidth = 150;
  const noteWidth = 120;
  const width = 560;
  const top = 6;
  const height = top + rows.length * rowHeight + 22;
  const known = rows
    .flatMap((r) => [r.value, r.low, r.high])
    .filter((v): v is number => v !== null && Number.isFinite(v));
  const axis = niceAxis(
    Math.min(opts.min ?? Infinity, minOf(known), opts.reference ?? Infinity),
    Math.max(opts.max ?? -Infinity, maxOf(known), opts.reference ?? -Infinity),
    5,
  );
  const x0 = labelWidth;
  const x1 = width - noteWidth;
  const x = (v: number): number => r1(x0 + ((v - axis.min) / (axis.max - axis.min)) * (x1 - x0));
  const base = opts.base === undefined ? (opts.reference ?? axis.min) : opts.base;
  const parts: string[] = [svgOpen(width, height, opts.label)];
  const bottom = top + rows.length * rowHeight;
  for (const t of axis.ticks) {
    parts.push(`<line class="grid" x1="${x(t)}" x2="${x(t)}" y1="${top}" y2="${bottom}"/>`);
    parts.push(`<text class="tick" x="${x(t)}" y="${bottom + 14}" text-anchor="middle">${escapeXml(format(t))}</text>`);
  }
  if (opts.reference !== undefined)
    parts.push(
      `<line class="reference" x1="${x(opts.reference)}" x2="${x(opts.reference)}" y1="${top - 2}" y2="${bottom}"/>`,
    );
  rows.forEach((row, i) => {
    const mid = top + i * rowHeight + rowHeight / 2;
    parts.push(
      `<text class="label" x="${x0 - 8}" y="${mid}" text-anchor="end" dominant-baseline="middle">${escapeXml(row.label)}</text>`,
    );
    if (row.value === null) {
      parts.push(
        `<text class="value" x="${x1 + 8}" y="${mid}" dominant-baseline="middle">${escapeXml(row.note ?? 'no data')}</text>`,
      );
      return;
    }
    if (base !== null) {
      const a = x(Math.min(base, row.value));
      const b = x(Math.max(base, row.value));
      parts.push(`<rect class="bar c${i % 6}" x="${a}" y="${mid - 7}" width="${r1(Math.max(1, b - a))}" height="14"/>`);
    }
    if (row.low !== null && row.high !== null) {
      const lo = x(row.low);
      const hi = x(row.high);
      parts.push(`<line class="whisker" x1="${lo}" x2="${hi}" y1="${mid}" y2="${mid}"/>`);
      parts.push(`<line class="whisker" x1="${lo}" x2="${lo}" y1="${mid - 5}" y2="${mid + 5}"/>`);
      parts.push(`<line class="whisker" x1="${hi}" x2="${hi}" y1="${mid - 5}" y2="${mid + 5}"/>`);
    }
    parts.push(`<circle class="dot" cx="${x(row.value)}" cy="${mid}" r="3"/>`);
    parts.push(
      `<text class="value" x="${x1 + 8}" y="${mid}" dominant-baseline="middle">${escapeXml(row.note ?? format(row.value))}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

export interface HistogramOptions {
  label: string;
  /** Colour index (c0..c5). */
  colour?: number;
  /** The y axis runs to at least this count, so histograms side by side share a scale. */
  maxCount?: number;
}

/** Bars of counts over bins; bins are contiguous, low to high. */
export function histogramChart(
  bins: readonly { low: number; high: number; count: number }[],
  opts: HistogramOptions,
): string {
  const width = 260;
  const height = 130;
  const box = { left: 34, right: 8, top: 8, bottom: 20 };
  const parts: string[] = [svgOpen(width, height, opts.label)];
  const first = bins[0];
  const last = bins.at(-1);
  if (!first || !last)
    return `${parts[0]}<text class="value" x="${width / 2}" y="${height / 2}" text-anchor="middle">no values</text></svg>`;
  const yAxis = niceAxis(
    0,
    maxOf(
      bins.map((b) => b.count),
      Math.max(1, opts.maxCount ?? 0),
    ),
    3,
  );
  const x0 = box.left;
  const x1 = width - box.right;
  const y0 = height - box.bottom;
  const y1 = box.top;
  const span = last.high - first.low || 1;
  const x = (v: number): number => r1(x0 + ((v - first.low) / span) * (x1 - x0));
  const y = (c: number): number => r1(y0 - ((c - yAxis.min) / (yAxis.max - yAxis.min)) * (y0 - y1));
  for (const t of yAxis.ticks) {
    parts.push(`<line class="grid" x1="${x0}" x2="${x1}" y1="${y(t)}" y2="${y(t)}"/>`);
    parts.push(
      `<text class="tick" x="${x0 - 4}" y="${y(t)}" text-anchor="end" dominant-baseline="middle">${escapeXml(shortNumber(t))}</text>`,
    );
  }
  const colour = opts.colour ?? 0;
  for (const b of bins) {
    if (b.count === 0) continue;
    const a = x(b.low);
    parts.push(
      `<rect class="bar c${colour % 6}" x="${a}" y="${y(b.count)}" width="${r1(Math.max(1, x(b.high) - a - 1))}" height="${r1(y0 - y(b.count))}"><title>${escapeXml(`${shortNumber(b.low)} to ${shortNumber(b.high)}: ${b.count}`)}</title></rect>`,
    );
  }
  parts.push(`<line class="axis" x1="${x0}" x2="${x1}" y1="${y0}" y2="${y0}"/>`);
  parts.push(
    `<text class="tick" x="${x0}" y="${height - 5}" text-anchor="start">${escapeXml(shortNumber(first.low))}</text>`,
  );
  parts.push(
    `<text class="tick" x="${x1}" y="${height - 5}" text-anchor="end">${escapeXml(shortNumber(last.high))}</text>`,
  );
  parts.push('</svg>');
  return parts.join('');
}

export interface LineOptions {
  label: string;
  colour?: number;
}

/** One series over steps, as a polyline with step and value ticks. */
export function lineChart(steps: readonly number[], values: readonly number[], opts: LineOptions): string {
  const width = 300;
  const height = 140;
  const box = { left: 42, right: 10, top: 8, bottom: 20 };
  const parts: string[] = [svgOpen(width, height, opts.label)];
  const n = Math.min(steps.length, values.length);
  if (n === 0)
    return `${parts[0]}<text class="value" x="${width / 2}" y="${height / 2}" text-anchor="middle">no points</text></svg>`;
  // A run's curve has a point per step: as many as a long run takes, too many to spread into a call.
  const xAxis = niceAxis(0, maxOf(steps, 1), 4);
  const yAxis = niceAxis(minOf(values), maxOf(values), 3);
  const x0 = box.left;
  const x1 = width - box.right;
  const y0 = height - box.bottom;
  const y1 = box.top;
  const x = (v: number): number => r1(x0 + ((v - xAxis.min) / (xAxis.max - xAxis.min)) * (x1 - x0));
  const y = (v: number): number => r1(y0 - ((v - yAxis.min) / (yAxis.max - yAxis.min)) * (y0 - y1));
  for (const t of yAxis.ticks) {
    parts.push(`<line class="grid" x1="${x0}" x2="${x1}" y1="${y(t)}" y2="${y(t)}"/>`);
    parts.push(
      `<text class="tick" x="${x0 - 4}" y="${y(t)}" text-anchor="end" dominant-baseline="middle">${escapeXml(shortNumber(t))}</text>`,
    );
  }
  parts.push(`<line class="axis" x1="${x0}" x2="${x1}" y1="${y0}" y2="${y0}"/>`);
  for (const t of xAxis.ticks)
    parts.push(
      `<text class="tick" x="${x(t)}" y="${height - 5}" text-anchor="middle">${escapeXml(shortNumber(t))}</text>`,
    );
  const points: string[] = [];
  for (let i = 0; i < n; i++) points.push(`${x(steps[i] as number)},${y(values[i] as number)}`);
  const colour = opts.colour ?? 0;
  if (n === 1)
    parts.push(
      `<circle class="dot c${colour % 6}" cx="${x(steps[0] as number)}" cy="${y(values[0] as number)}" r="2.5"/>`,
    );
  else parts.push(`<polyline class="line c${colour % 6}" points="${points.join(' ')}"/>`);
  parts.push('</svg>');
  return parts.join('');
}
