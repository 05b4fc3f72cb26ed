/**
 * The two ways the renderer reaches the backend, both behind the shared `Bridge` interface:
 * Electron's preload (`window.alol`) or HTTP on the loopback (fetch for calls, server-sent events
 * read through fetch for events: the token travels in the Authorization header, never in an
 * address, where logs, history and Referer headers would keep it). Over HTTP the page is the owner's (`#token=`: the whole studio) or an annotator's
 * (`#rate=`: the rating screen only, with no event stream, which the server refuses them).
 * Nothing here knows any method; validation happens once, in the client.
 */
import { httpPaths, type Bridge, type CallResult } from '../../../shared/bridge';
import {
  AppErrorShape,
  type EventName,
  type EventPayload,
  type Input,
  type MethodName,
  type Output,
} from '../../../shared/contract';
import { EventStream } from './eventStream';
import { takeToken } from './token';

export type Connection =
  | { kind: 'electron'; bridge: Bridge }
  | { kind: 'http'; bridge: Bridge }
  | { kind: 'annotator'; bridge: Bridge }
  | { kind: 'no-token' };

export function connect(): Connection {
  if (window.alol) return { kind: 'electron', bridge: window.alol };
  const token = takeToken();
  if (!token) return { kind: 'no-token' };
  if (token.role === 'annotator') return { kind: 'annotator', bridge: new HttpBridge(token.token, { events: false }) };
  return { kind: 'http', bridge: new HttpBridge(token.token) };
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

export class HttpBridge implements Bridge {
  readonly #token: string;
  /** Null on an annotator's link: no stream is opened, and `on` never delivers. */
  readonly #events: EventStream | null;

  constructor(token: string, options: { events: boolean } = { events: true }) {
    this.#token = token;
    // Opened at once rather than on first subscription, so the stream is already live when an
    // import starts and its events are not lost while the connection is being made.
    this.#events = options.events ? new EventStream(httpPaths.events, token) : null;
  }

  /** Stops the event stream (its reconnections too). */
  dispose(): void {
    this.#events?.close();
  }

  async call<M extends MethodName>(method: M, input: Input<M>): Promise<CallResult<M>> {
    let response: Response;
    try {
      response = await fetch(httpPaths.call(method), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${this.#token}` },
        body: JSON.stringify(input),
      });
    } catch (cause) {
      return { ok: false, error: { code: 'network', message: `Cannot reach the backend: ${describe(cause)}` } };
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      return {
        ok: false,
        error: {
          code: 'bad_response',
          message: `${method}: the backend answered ${response.status} with a body that is not JSON`,
        },
      };
    }
    if (response.ok) {
      // Unchecked on purpose: the client validates every output against the contract.
      return { ok: true, value: body as Output<M> };
    }
    const shape = AppErrorShape.safeParse(
      typeof body === 'object' && body !== null && 'error' in body ? body.error : undefined,
    );
    if (shape.success) return { ok: false, error: shape.data };
    return {
      ok: false,
      error: {
        code: `http_${response.status}`,
        message: `${method}: the backend answered ${response.status} ${response.statusText}`,
      },
    };
  }

  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void {
    const handler = (data: string): void => {
      let payload: unknown;
      try {
        payload = JSON.parse(data);
      } catch {
        console.warn(`Ignored a ${event} event whose data is not JSON`);
        return;
      }
      // Unchecked on purpose: the client validates every payload against the contract.
      listener(payload as EventPayload<E>);
    };
    const events = this.#events;
    if (!events) return () => undefined;
    events.addEventListener(event, handler);
    return () => events.removeEventListener(event, handler);
  }
}
