/** Small text helpers shared by the views and the import form. */

const numbers = new Intl.NumberFormat(undefined);
const decimals = new Intl.NumberFormat(undefined, { maximumFractionDigits: 3 });
const dates = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function count(value: number): string {
  return numbers.format(value);
}

export function decimal(value: number | null): string {
  return value === null ? '—' : decimals.format(value);
}

export function date(iso: string): string {
  const parsed = new Date(iso);
  return Number.isNaN(parsed.getTime()) ? iso : dates.format(parsed);
}

/** "0.41 to 0.63": an interval's bounds as `format` writes them; `missing` where either is not defined. */
export function interval(
  low: number | null,
  high: number | null,
  format: (value: number) => string,
  missing = '—',
): string {
  return low === null || high === null ? missing : `${format(low)} to ${format(high)}`;
}

/** "1–50 of 2,312" for a page of `shown` rows starting at `offset`. */
export function range(offset: number, shown: number, total: number): string {
  if (total === 0) return 'none';
  if (shown === 0) return `0 of ${count(total)}`;
  return `${count(offset + 1)}–${count(offset + shown)} of ${count(total)}`;
}

/**
 * One line for a table cell. CSS ellipsis does the visual cut; this keeps a 100 kB response from
 * landing in the DOM fifty times per page.
 */
export function clip(text: string, max = 200): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

/**
 * A dataset name from a file name, within the contract's rule (letters, digits, space . _ -,
 * starting with a letter or digit, at most 100 characters): "helpful (v2).jsonl.gz" -> "helpful v2".
 */
export function datasetNameFromFile(fileName: string): string {
  const stem = fileName.replace(/\.gz$/i, '').replace(/\.(jsonl|json|csv)$/i, '');
  const cleaned = stem
    .replace(/[^\p{L}\p{N} ._-]+/gu, ' ')
    .replace(/ {2,}/g, ' ')
    .replace(/^[^\p{L}\p{N}]+/u, '')
    .slice(0, 100)
    // A cut can split a surrogate pair; drop the orphaned half.
    .replace(/[\uD800-\uDBFF]$/, '');
  return cleaned.trim();
}

/** "4.2 MB" */
export function bytes(size: number): string {
  if (size < 1024) return `${count(size)} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} kB`;
  return `${(size / (1024 * 1024)).toFixed(1)} MB`;
}

const significant = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 3 });

/** "24.4k", "3.31M", "124M": a parameter count at a glance (the exact one goes in a title). */
export function compact(value: number): string {
  const units = [
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'k'],
  ] as const;
  for (const [size, unit] of units) {
    // Rounded first, so 999,999 reads "1M", not "1,000k".
    if (Math.abs(Number(value.toPrecision(3))) >= size) return `${significant.format(value / size)}${unit}`;
  }
  return count(value);
}

/** A token as text you can see: spaces as "·", line breaks as "↵", tabs as "→". */
export function visibleToken(token: string): string {
  return token.replace(/ /g, '·').replace(/\r?\n/g, '↵').replace(/\t/g, '→');
}

/** "45 s", "3 min 10 s", "2 h 5 min": a time left, to the precision it deserves. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) {
    const rest = s % 60;
    return rest === 0 || s >= 600 ? `${Math.round(s / 60)} min` : `${Math.floor(s / 60)} min ${rest} s`;
  }
  const minutes = Math.round(s / 60);
  const rest = minutes % 60;
  return rest === 0 ? `${Math.floor(minutes / 60)} h` : `${Math.floor(minutes / 60)} h ${rest} min`;
}

export function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A help line or message as a sentence: "the name of the model" -> "The name of the model." */
export function sentence(text: string): string {
  return /[.!?]$/.test(text) ? capitalise(text) : `${capitalise(text)}.`;
}
