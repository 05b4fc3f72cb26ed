import type { AppErrorShape } from '../../../shared/contract';
import { errorShape } from '../lib/client';
import { pathProblem } from '../lib/paths';

/** Writing something to a path on the backend's machine: the destination typed, the call, what it answered. */
export abstract class PathExport<Result> {
  #path = $state.raw('');
  #busy = $state.raw(false);
  #result = $state.raw<Result | null>(null);
  #error = $state.raw<AppErrorShape | null>(null);

  readonly problem = $derived(pathProblem(this.#path));
  readonly canSubmit = $derived(this.#path.trim() !== '' && this.problem === null && !this.#busy);

  get path(): string {
    return this.#path;
  }
  set path(value: string) {
    this.#path = value;
  }
  get busy(): boolean {
    return this.#busy;
  }
  get result(): Result | null {
    return this.#result;
  }
  get error(): AppErrorShape | null {
    return this.#error;
  }

  /** The call that writes to `path` (trimmed). */
  protected abstract write(path: string): Promise<Result>;

  async start(): Promise<void> {
    if (!this.canSubmit) return;
    this.#busy = true;
    this.#result = null;
    this.#error = null;
    try {
      this.#result = await this.write(this.#path.trim());
    } catch (error) {
      this.#error = errorShape(error);
    } finally {
      this.#busy = false;
    }
  }
}
