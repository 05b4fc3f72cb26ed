/**
 * What the preload exposes to the renderer as `window.alol`, and what the HTTP transport mirrors.
 * Results travel as values, not thrown errors: contextBridge strips an Error's own fields.
 */
import type { AppErrorShape, EventName, EventPayload, Input, MethodName, Output } from './contract';

export type CallResult<M extends MethodName> = { ok: true; value: Output<M> } | { ok: false; error: AppErrorShape };

export interface Bridge {
  call<M extends MethodName>(method: M, input: Input<M>): Promise<CallResult<M>>;
  /** Subscribes to a contract event; returns the unsubscribe function. */
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void;
}

/** HTTP paths of the adapter in src/main/http. */
export const httpPaths = {
  call: (method: MethodName) => `/api/call/${method}`,
  events: '/api/events',
} as const;

/** Electron IPC channels between the preload and the main process. */
export const ipcChannels = { call: 'alol:call', event: 'alol:event' } as const;
