/**
 * Active time on an item: time counts only while the page is visible and the annotator has done
 * something (a key, the pointer, a scroll) within the last IDLE_MS. Each gap between two
 * interactions counts for at most IDLE_MS, so an item left open over lunch adds IDLE_MS, not an
 * hour, and a hidden tab adds nothing. Times come from the caller (performance.now() in the app),
 * so the rule is tested without waiting.
 *
 * shown at 0, key at 5 s, key at 100 s, submitted at 101 s, IDLE_MS 30 s -> 5 + 30 + 1 = 36 s.
 */
export const IDLE_MS = 30_000;

export class ActiveClock {
  readonly #idleMs: number;
  #active = 0;
  #last: number;
  #visible: boolean;

  constructor(now: number, visible: boolean, idleMs = IDLE_MS) {
    this.#last = now;
    this.#visible = visible;
    this.#idleMs = idleMs;
  }

  #gap(now: number): number {
    return this.#visible ? Math.min(Math.max(0, now - this.#last), this.#idleMs) : 0;
  }

  /** The annotator did something. */
  touch(now: number): void {
    this.#active += this.#gap(now);
    this.#last = now;
  }

  /** The page was hidden (another tab, minimised) or the screen left: the clock stops. */
  hide(now: number): void {
    this.touch(now);
    this.#visible = false;
  }

  /** The page is seen again: coming back counts as an interaction. */
  show(now: number): void {
    if (!this.#visible) this.#last = now;
    this.#visible = true;
  }

  /** A new item: from zero, now. */
  restart(now: number): void {
    this.#active = 0;
    this.#last = now;
  }

  /** Milliseconds counted so far, whole. */
  elapsed(now: number): number {
    return Math.round(this.#active + this.#gap(now));
  }
}
