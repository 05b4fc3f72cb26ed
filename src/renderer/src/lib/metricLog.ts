/**
 * A run's metrics per step, as runs.metrics gives them and runs.step events add to them; not
 * reactive (a run can log a million steps): the state class that holds one bumps a version when it
 * changes. Steps only grow, except when a resumed run starts again from its last checkpoint: a step
 * at or below the last one known replaces everything from there on, as the backend did.
 */

export interface Series {
  steps: number[];
  values: number[];
}

export class MetricLog {
  readonly #series = new Map<string, Series>();
  #lastStep = 0;

  /** The highest step logged; 0 before any. */
  get lastStep(): number {
    return this.#lastStep;
  }

  get names(): string[] {
    return [...this.#series.keys()];
  }

  series(name: string): Series | undefined {
    return this.#series.get(name);
  }

  /** The values of the last step logged. */
  latest(): Record<string, number> {
    const latest: Record<string, number> = {};
    for (const [name, series] of this.#series) {
      const at = series.steps.length - 1;
      if (at >= 0 && series.steps[at] === this.#lastStep) latest[name] = series.values[at] ?? Number.NaN;
    }
    return latest;
  }

  /** One step from a live event. */
  add(step: number, metrics: Record<string, number>): void {
    if (step <= this.#lastStep) this.#truncate(step);
    for (const [name, value] of Object.entries(metrics)) {
      if (!Number.isFinite(value)) continue;
      let series = this.#series.get(name);
      if (!series) {
        series = { steps: [], values: [] };
        this.#series.set(name, series);
      }
      series.steps.push(step);
      series.values.push(value);
    }
    this.#lastStep = step;
  }

  /**
   * Steps from runs.metrics, oldest first, starting after what is known already (the answer to a
   * `sinceStep` of lastStep + 1). Steps it holds that the log has are skipped: live events may have
   * brought them while the call was on its way.
   */
  addHistory(rows: Array<{ step: number; metrics: Record<string, number> }>): void {
    for (const row of rows) if (row.step > this.#lastStep) this.add(row.step, row.metrics);
  }

  clear(): void {
    this.#series.clear();
    this.#lastStep = 0;
  }

  /** Drops every point at `step` or after it. */
  #truncate(step: number): void {
    for (const [name, series] of this.#series) {
      let keep = series.steps.length;
      while (keep > 0 && (series.steps[keep - 1] ?? 0) >= step) keep -= 1;
      series.steps.length = keep;
      series.values.length = keep;
      if (keep === 0) this.#series.delete(name);
    }
    this.#lastStep = 0;
    for (const series of this.#series.values()) this.#lastStep = Math.max(this.#lastStep, series.steps.at(-1) ?? 0);
  }
}

/**
 * Seconds per step from when live steps arrived: the last few, so a slow start (loading, the value
 * head) or a change of pace fades out. Restarts when the steps go back (a resume) or pause (a gap
 * longer than it can explain).
 */
export class StepClock {
  readonly #window: number;
  #marks: Array<{ step: number; at: number }> = [];

  constructor(window = 20) {
    this.#window = window;
  }

  mark(step: number, at: number): void {
    const last = this.#marks.at(-1);
    if (last && step <= last.step) this.#marks = [];
    this.#marks.push({ step, at });
    if (this.#marks.length > this.#window) this.#marks.shift();
  }

  reset(): void {
    this.#marks = [];
  }

  /** null until two steps have been seen. */
  secondsPerStep(): number | null {
    const first = this.#marks[0];
    const last = this.#marks.at(-1);
    if (!first || !last || last.step === first.step) return null;
    return (last.at - first.at) / 1000 / (last.step - first.step);
  }
}
