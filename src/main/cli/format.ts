/** Text output of the CLI: tables, summaries, a progress bar on a terminal. */
import type { ImportSummary, JobProgress } from '../../shared/contract';
import { maxOf } from '../../shared/extent';

export function truncate(text: string, max = 100): string {
  const flat = JSON.stringify(text).slice(1, -1);
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) =>
    maxOf(
      rows.map((r) => (r[i] ?? '').length),
      h.length,
    ),
  );
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function formatImportSummary(s: ImportSummary): string {
  const reward =
    s.rewardMin === null ? 'no rewards' : `reward ${s.rewardMin} to ${s.rewardMax} (mean ${s.rewardMean?.toFixed(4)})`;
  return [
    `${s.dataset} version ${s.version} (${s.format}): ${s.rows} rows -> ${s.examples} examples, ${s.pairs} pairs`,
    `  ${reward}; ${s.duplicates} duplicates; ${s.emptyResponses} empty responses`,
  ].join('\n');
}

/** Redraws one line on a terminal; prints nothing when stderr is not one. */
export class ProgressBar {
  private lastText = '';

  constructor(private readonly stream: NodeJS.WriteStream) {}

  update(p: Pick<JobProgress, 'phase' | 'done' | 'total'>): void {
    if (!this.stream.isTTY) return;
    const width = 30;
    const share = p.total ? Math.min(1, p.done / p.total) : 0;
    const filled = Math.round(share * width);
    const text = `${p.phase.padEnd(8)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(share * 100).toFixed(0).padStart(3)}%`;
    if (text === this.lastText) return;
    this.lastText = text;
    this.stream.write(`\r${text}`);
  }

  end(): void {
    if (this.stream.isTTY && this.lastText) this.stream.write('\n');
  }
}
