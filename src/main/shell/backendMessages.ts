import type { DispatchResult } from '../app/dispatch';

/** Messages between the Electron main process and the backend child process that serves it. */
export type ToBackend = { type: 'call'; id: number; method: string; input: unknown };
export type FromBackend =
  | { type: 'ready' }
  | { type: 'result'; id: number; result: DispatchResult }
  | { type: 'event'; name: string; payload: unknown };
