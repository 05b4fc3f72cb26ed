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

/** Reconnection delays after a stream error or end: doubling from 1 s up to 30 s, as EventSource retries (less eagerly). */
const RECONNECT_MS = { first: 1000, max: 30_000 } as const;

type Listener = (data: string) => void;

/**
 * A server-sent event stream read with fetch, so it can send the Authorization header (EventSource
 * cannot send headers, only put the token in the URL). It parses `event:`/`data:` frames and
 * ignores comments (the server's heartbeats), and reconnects after an error or the end of the
 * stream with a growing delay, reset by each successful connection. A 401 or 403 ends it for good,
 * as EventSource stops on an error status: the token is wrong, and retrying would only count
 * against this address. `close()` stops it.
 */
export class EventStream {
  readonly #url: string;
  readonly #token: string;
  readonly #listeners = new Map<string, Set<Listener>>();
  #abort: AbortController | null = null;
  #closed = false;
  #delay: number = RECONNECT_MS.first;
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(url: string, token: string) {
    this.#url = url;
    this.#token = token;
    void this.#connect();
  }

  addEventListener(event: string, listener: Listener): void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener);
  }

  removeEventListener(event: string, listener: Listener): void {
    this.#listeners.get(event)?.delete(listener);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#abort?.abort();
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const abort = new AbortController();
    this.#abort = abort;
    let retryAfterMs: number | null = null;
    try {
      const response = await fetch(this.#url, {
        headers: { Accept: 'text/event-stream', Authorization: `Bearer ${this.#token}` },
        cache: 'no-store',
        signal: abort.signal,
      });
      if (response.status === 401 || response.status === 403) {
        console.warn(
          `The event stream was refused (${response.status}): live updates are off until the page is reloaded with a valid link`,
        );
        this.#closed = true;
        return;
      }
      if (response.status === 429) retryAfterMs = Number(response.headers.get('Retry-After') ?? '0') * 1000 || null;
      if (!response.ok || !response.body) throw new Error(`the event stream answered ${response.status}`);
      this.#delay = RECONNECT_MS.first;
      await this.#read(response.body);
    } catch (cause) {
      if (this.#closed) return;
      if (!(cause instanceof DOMException && cause.name === 'AbortError'))
        console.warn(`Event stream interrupted: ${describe(cause)}`);
    }
    if (this.#closed) return;
    const wait = Math.max(this.#delay, retryAfterMs ?? 0);
    this.#delay = Math.min(this.#delay * 2, RECONNECT_MS.max);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#connect();
    }, wait);
  }

  async #read(body: ReadableStream<Uint8Array>): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let event = '';
    let data: string[] = [];
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        // Lines end in LF, CRLF or CR; the last piece may be a line still arriving, and a CR at the
        // very end may be the first half of a CRLF, so it waits for the next chunk.
        const held = buffer.endsWith('\r') ? '\r' : '';
        const lines = (held ? buffer.slice(0, -1) : buffer).split(/\r\n|\r|\n/);
        buffer = (lines.pop() ?? '') + held;
        for (const line of lines) {
          if (line === '') {
            if (data.length > 0) this.#dispatch(event || 'message', data.join('\n'));
            event = '';
            data = [];
            continue;
          }
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon === -1 ? line : line.slice(0, colon);
          let value = colon === -1 ? '' : line.slice(colon + 1);
          if (value.startsWith(' ')) value = value.slice(1);
          if (field === 'event') event = value;
          else if (field === 'data') data.push(value);
        }
      }
    } finally {
      reader.releaseLock();
    }
  }

  #dispatch(event: string, data: string): void {
    for (const listener of this.#listeners.get(event) ?? []) {
      try {
        listener(data);
      } catch (error) {
        console.error(error);
      }
    }
  }
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
