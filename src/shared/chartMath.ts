/** Chart arithmetic shared by the UI's charts and the static HTML report: the same ticks, the same numbers. */

/** Step 1, 2 or 5 times a power of ten, giving about `count` intervals over `span`. */
export function niceStep(span: number, count: number): number {
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power;
}

/** Drops the float noise of sums of steps: 0.30000000000000004 -> 0.3. */
export function clean(value: number): number {
  return Number(value.toPrecision(12));
}

const short = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 3 });

/** A tick or metric value in a few characters: 0.0001 as "1e-4", 12,500 as "12.5k", 0.6667 as "0.667". */
export function shortNumber(value: number): string {
  const size = Math.abs(value);
  if (value === 0) return '0';
  if (size < 1e-3 || size >= 1e7) return value.toExponential(1).replace('.0e', 'e').replace('e+', 'e');
  if (size >= 1e4) return `${short.format(value / 1000)}k`;
  return short.format(value);
}
