import type { AppErrorShape } from '../../../shared/contract';
import { errorShape } from '../lib/client';
import { range } from '../lib/format';

export interface Page<T> {
  total: number;
  offset: number;
  rows: T[];
}

/** One paged list (a dataset's examples or its pairs): which page is shown, and moving between pages. */
export class PageState<T> {
  readonly limit: number;
  readonly #fetch: (offset: number, limit: number) => Promise<Page<T>>;
  #rows = $state.raw<T[]>([]);
  #total = $state.raw(0);
  #offset = $state.raw(0);
  #loading = $state.raw(false);
  #loaded = $state.raw(false);
  #error = $state.raw<AppErrorShape | null>(null);
  // Answers can come back out of order when someone clicks "Next" quickly; only the latest counts.
  #request = 0;

  readonly range = $derived(range(this.#offset, this.#rows.length, this.#total));
  readonly hasPrevious = $derived(this.#offset > 0);
  readonly hasNext = $derived(this.#offset + this.#rows.length < this.#total);

  constructor(fetch: (offset: number, limit: number) => Promise<Page<T>>, limit = 50) {
    this.#fetch = fetch;
    this.limit = limit;
  }

  get rows(): T[] {
    return this.#rows;
  }
  get total(): number {
    return this.#total;
  }
  get offset(): number {
    return this.#offset;
  }
  get loading(): boolean {
    return this.#loading;
  }
  get loaded(): boolean {
    return this.#loaded;
  }
  get error(): AppErrorShape | null {
    return this.#error;
  }

  async load(offset = this.#offset): Promise<void> {
    const request = ++this.#request;
    this.#loading = true;
    try {
      const page = await this.#fetch(Math.max(0, offset), this.limit);
      if (request !== this.#request) return;
      this.#rows = page.rows;
      this.#total = page.total;
      this.#offset = page.offset;
      this.#error = null;
      this.#loaded = true;
    } catch (error) {
      if (request !== this.#request) return;
      this.#error = errorShape(error);
    } finally {
      if (request === this.#request) this.#loading = false;
    }
  }

  /** Loads the first page unless one is already there. */
  ensure(): void {
    if (!this.#loaded && !this.#loading) void this.load(0);
  }

  next(): void {
    if (this.hasNext) void this.load(this.#offset + this.limit);
  }

  previous(): void {
    if (this.hasPrevious) void this.load(Math.max(0, this.#offset - this.limit));
  }
}
