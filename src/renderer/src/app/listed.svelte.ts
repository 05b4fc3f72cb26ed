import type { AppErrorShape } from '../../../shared/contract';
import { errorShape } from '../lib/client';

/**
 * A list the backend is asked for again and again (datasets, models, runs, campaigns): only the
 * latest request's answer counts, so a slow answer never replaces a newer one, and a failed
 * request leaves the list it had beside the error.
 */
export abstract class ListedState<T> {
  #list = $state.raw<T[]>([]);
  #loaded = $state.raw(false);
  #error = $state.raw<AppErrorShape | null>(null);
  #request = 0;
  #refreshing = false;

  get list(): T[] {
    return this.#list;
  }
  get loaded(): boolean {
    return this.#loaded;
  }
  get error(): AppErrorShape | null {
    return this.#error;
  }
  /** Whether a request for the list is under way (not reactive: for deciding whether to send another). */
  protected get refreshing(): boolean {
    return this.#refreshing;
  }

  protected abstract fetchList(): Promise<T[]>;

  /** What follows a new list, such as closing what was open on an item that is gone. */
  protected listed(_list: T[]): void {}

  /** A row changed between two requests (a run's step, sent as an event). */
  protected patchList(list: T[]): void {
    this.#list = list;
  }

  async refresh(): Promise<void> {
    const request = ++this.#request;
    this.#refreshing = true;
    try {
      const list = await this.fetchList();
      if (request !== this.#request) return;
      this.#list = list;
      this.#error = null;
      this.#loaded = true;
      this.listed(list);
    } catch (error) {
      if (request === this.#request) this.#error = errorShape(error);
    } finally {
      if (request === this.#request) this.#refreshing = false;
    }
  }
}

/** A listed state with the form that adds to it below the list (a new run, a new campaign). */
export abstract class ListWithForm<T> extends ListedState<T> {
  /** null until someone opens or closes the form: it then starts open only when the list is empty. */
  #formOpen = $state.raw<boolean | null>(null);

  readonly formOpen = $derived(this.#formOpen ?? (this.loaded && this.list.length === 0));

  showForm(open: boolean): void {
    this.#formOpen = open;
  }
}
