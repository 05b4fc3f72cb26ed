/**
 * Server-sent events read with fetch (for transport.ts's HttpBridge): unlike EventSource, it can
 * send the token in the Authorization header, so the token never appears in an address.
 */

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
