/**
 * The HTTP adapter: the contract as JSON over POST /api/call/<method>, events as server-sent
 * events, and the built renderer as static files. It carries calls and checks who may make them;
 * every behaviour is in the services behind `dispatch`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { timingSafeEqual } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import type { Dispatch } from '../app/dispatch';
import type { EventBus } from '../core/eventBus';
import { httpPaths } from '../../shared/bridge';
import { CONTENT_SECURITY_POLICY } from '../../shared/security';
import type { AppErrorShape } from '../../shared/contract';
import { errorShape } from '../core/errors';
import { annotatorMethodNames } from '../../shared/rating';

/** Big enough for one base64 upload chunk of UPLOAD_CHUNK_BYTES plus its envelope. */
const MAX_BODY_BYTES = 6 * 1024 * 1024;
const HEARTBEAT_MS = 15_000;
const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

const STATUS_BY_CODE: Record<string, number> = {
  invalid_input: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  too_many_requests: 429,
  // A reward spec or scoring module named in a call is the caller's mistake, not the server's.
  reward_spec: 400,
  reward_module: 400,
  unsupported_media_type: 415,
  import_invalid: 422,
  // The store refused the write (core/storageErrors): nothing was stored, and the same request
  // works once the disk has room or the folder is writable again.
  disk_full: 507,
  read_only: 507,
};

export interface HttpServerOptions {
  dispatch: Dispatch;
  bus: EventBus;
  /** The owner's token: it reaches the whole API. */
  token: string;
  /**
   * Whose annotator token this is, if it is one: it reaches only the rating methods, for that
   * annotator in that campaign (the server fills both in and refuses any other).
   */
  annotatorAccess?: (token: string) => Annotator | null;
  rendererDir: string;
  host: string;
  port: number;
  /** How many wrong tokens one client address may send in a window before it is refused for the rest of it (defaults: 20 in 60 s). */
  authLimit?: AuthLimit;
}

export interface AuthLimit {
  maxFailures: number;
  windowMs: number;
}

export const DEFAULT_AUTH_LIMIT: AuthLimit = { maxFailures: 20, windowMs: 60_000 };
/** Addresses tracked at most: past this, the oldest are forgotten (a flood of addresses cannot grow memory without bound). */
const MAX_TRACKED_ADDRESSES = 10_000;

export interface RunningServer {
  server: Server;
  url: string;
  port: number;
  /** Stops accepting connections, answers the requests under way (for up to graceMs), then resolves. */
  close(graceMs?: number): Promise<void>;
}

export interface Annotator {
  annotator: number;
  campaign: string;
}

type Principal = { role: 'owner' } | ({ role: 'annotator' } & Annotator);

const annotatorMethods = new Set<string>(annotatorMethodNames);

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Where a request's token may come from: the Authorization header only. */
const QUERY_TOKEN_PARAMS = ['token', 'rate', 'access_token'];

/** This machine's addresses, as a Host header names them (IPv6 in brackets). */
export function localAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .flatMap((i) => (i ? [i.family === 'IPv6' ? `[${i.address}]` : i.address] : []));
}

/** Whether a bind address reaches only this machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/**
 * The addresses others on the network reach a server bound to `host` by, as URLs: every
 * non-loopback address of this machine for a wildcard bind (IPv4 for 0.0.0.0, both families for
 * ::), the address itself for a specific one, none for loopback. IPv6 link-local addresses are left
 * out: a browser cannot open them without a zone.
 */
export function networkUrls(host: string, port: number): string[] {
  if (isLoopback(host)) return [];
  const url = (address: string, family: string) => `http://${family === 'IPv6' ? `[${address}]` : address}:${port}/`;
  if (host !== '0.0.0.0' && host !== '::') return [url(host, host.includes(':') ? 'IPv6' : 'IPv4')];
  return Object.values(networkInterfaces())
    .flat()
    .flatMap((i) =>
      i && !i.internal && (i.family === 'IPv4' || (host === '::' && !/^fe80:/i.test(i.address)))
        ? [url(i.address, i.family)]
        : [],
    );
}

function sameToken(given: string | null, expected: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The client an attempt is counted against: its IPv4 address, or the /64 network of an IPv6 one
 * (one machine commonly holds a whole /64 and could otherwise rotate addresses to start afresh).
 */
export function clientKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = address.match(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i);
  if (mapped?.[1]) return mapped[1];
  if (!address.includes(':')) return address;
  const [head = '', tail = ''] = (address.split('%')[0] ?? '').toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = address.includes('::') ? (tail === '' ? [] : tail.split(':')) : [];
  const groups = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/**
 * Counts wrong tokens per client address in a fixed window that starts at the first failure. Once
 * an address has sent maxFailures wrong tokens, every API request from it is refused (429) until
 * the window ends, the right token included: refusing only further failures would still answer a
 * right guess with 200 and a wrong one with 429, so guessing would go on at full speed with the
 * answer in the status. The cost is that a person sharing the address with the guesser (behind the
 * same NAT, or on this machine) waits out the window too; the window is short and the page says so.
 * Requests without any token are not counted: they guess nothing.
 */
class FailureLimiter {
  readonly #windows = new Map<string, { start: number; failures: number }>();

  constructor(
    readonly limit: AuthLimit,
    readonly now: () => number = Date.now,
  ) {}

  /** Seconds the address must wait, or 0 when it may try. */
  blockedFor(key: string): number {
    const window = this.#current(key);
    if (!window || window.failures < this.limit.maxFailures) return 0;
    return Math.max(1, Math.ceil((window.start + this.limit.windowMs - this.now()) / 1000));
  }

  fail(key: string): void {
    const window = this.#current(key);
    if (window) window.failures += 1;
    else {
      if (this.#windows.size >= MAX_TRACKED_ADDRESSES) this.#prune();
      this.#windows.set(key, { start: this.now(), failures: 1 });
    }
  }

  #current(key: string): { start: number; failures: number } | null {
    const window = this.#windows.get(key);
    if (!window) return null;
    if (this.now() - window.start < this.limit.windowMs) return window;
    this.#windows.delete(key);
    return null;
  }

  #prune(): void {
    const now = this.now();
    for (const [key, window] of this.#windows) if (now - window.start >= this.limit.windowMs) this.#windows.delete(key);
    // Still full: forget the oldest windows (Map keeps insertion order).
    for (const key of this.#windows.keys()) {
      if (this.#windows.size < MAX_TRACKED_ADDRESSES) break;
      this.#windows.delete(key);
    }
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

function sendError(
  res: ServerResponse,
  status: number,
  error: AppErrorShape,
  headers: Record<string, string> = {},
): void {
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  sendJson(res, status, { error });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    // Past the limit the rest is read and dropped, so the client gets the 413 instead of a reset.
    if (size <= MAX_BODY_BYTES) chunks.push(chunk as Buffer);
    else if (size > 8 * MAX_BODY_BYTES) req.destroy();
  }
  if (size > MAX_BODY_BYTES) throw new HttpError(413, 'too_large', `request body over ${MAX_BODY_BYTES} bytes`);
  return Buffer.concat(chunks).toString('utf8');
}

export function startHttpServer(options: HttpServerOptions): Promise<RunningServer> {
  const clients = new Set<ServerResponse>();
  let port = options.port;
  const limiter = new FailureLimiter(options.authLimit ?? DEFAULT_AUTH_LIMIT);

  // A page on another site can reach 127.0.0.1 through the user's browser; the Host check stops
  // DNS rebinding, the Origin check and the JSON-only body stop cross-site posts, the token the rest.
  // Bound to every interface (LAN rating), the machine's own addresses are its names too.
  const allowedHosts = () =>
    new Set([
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `[::1]:${port}`,
      `${options.host}:${port}`,
      ...(options.host === '0.0.0.0' || options.host === '::' ? localAddresses().map((a) => `${a}:${port}`) : []),
    ]);

  function checkRequest(req: IncomingMessage, url: URL): Principal {
    if (!allowedHosts().has(req.headers.host ?? '')) throw new HttpError(421, 'forbidden', 'unexpected Host header');
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedHosts().has(origin.replace(/^https?:\/\//, ''))) {
      throw new HttpError(403, 'forbidden', 'cross-origin request refused');
    }
    // A token in the address would be written to server and proxy logs, browser history and
    // Referer headers: such a request is refused whatever its header says, and nothing is checked.
    if (QUERY_TOKEN_PARAMS.some((p) => url.searchParams.has(p))) {
      throw new HttpError(
        401,
        'unauthorized',
        'a token in the address is refused: send it in the Authorization header (Bearer)',
      );
    }
    const client = clientKey(req.socket.remoteAddress);
    const wait = limiter.blockedFor(client);
    if (wait > 0) {
      throw new HttpError(429, 'too_many_requests', `too many wrong tokens from this address: try again in ${wait} s`, {
        'Retry-After': String(wait),
      });
    }
    const bearer = req.headers.authorization?.match(/^Bearer (.+)$/)?.[1] ?? null;
    if (sameToken(bearer, options.token)) return { role: 'owner' };
    const annotator = bearer ? options.annotatorAccess?.(bearer) : null;
    if (annotator) return { role: 'annotator', ...annotator };
    if (bearer) limiter.fail(client);
    throw new HttpError(
      401,
      'unauthorized',
      bearer
        ? 'wrong token: the link is mistyped, or was revoked or replaced by a newer one'
        : 'missing token: send it in the Authorization header (Bearer)',
    );
  }

  /** An annotator's call: a rating method, about themselves in their campaign, or nothing. */
  function annotatorInput(principal: Annotator, method: string, input: unknown): unknown {
    if (!annotatorMethods.has(method))
      throw new HttpError(403, 'forbidden', `an annotator link reaches only the rating screen, not ${method}`);
    if (typeof input !== 'object' || input === null || Array.isArray(input)) return input;
    const given = input as Record<string, unknown>;
    if (
      (given.annotator !== undefined && given.annotator !== principal.annotator) ||
      (given.campaign !== undefined && given.campaign !== principal.campaign)
    ) {
      throw new HttpError(403, 'forbidden', 'an annotator link acts only for its own annotator and campaign');
    }
    return { ...given, annotator: principal.annotator, campaign: principal.campaign };
  }

  async function handleCall(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    principal: Principal,
  ): Promise<void> {
    if (req.method !== 'POST') throw new HttpError(405, 'invalid_input', 'use POST');
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
      throw new HttpError(415, 'unsupported_media_type', 'send JSON (Content-Type: application/json)');
    }
    const text = await readBody(req);
    let input: unknown;
    try {
      input = text === '' ? {} : JSON.parse(text);
    } catch {
      throw new HttpError(400, 'invalid_input', `${method}: the request body is not valid JSON`);
    }
    const result = await options.dispatch(
      method,
      principal.role === 'annotator' ? annotatorInput(principal, method, input) : input,
    );
    if (result.ok) sendJson(res, 200, result.value);
    else sendError(res, STATUS_BY_CODE[result.error.code] ?? 500, result.error);
  }

  function handleEvents(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': 'text/event-stream; charset=utf-8',
      Connection: 'keep-alive',
    });
    res.write(': connected\n\n');
    clients.add(res);
    req.on('close', () => clients.delete(res));
  }

  async function handleStatic(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'invalid_input', 'use GET');
    if (!allowedHosts().has(req.headers.host ?? '')) throw new HttpError(421, 'forbidden', 'unexpected Host header');
    const relative = pathname === '/' ? 'index.html' : decodeURIComponent(pathname).replace(/^\/+/, '');
    const file = normalize(join(options.rendererDir, relative));
    if (!file.startsWith(options.rendererDir + sep)) throw new HttpError(404, 'not_found', 'not found');
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      throw new HttpError(404, 'not_found', `not found: ${pathname}`);
    }
    // Browsers honour COOP only on a trustworthy origin (loopback here) and log an error for it
    // on any other, such as a LAN address: there it is left out, since it would do nothing.
    const { 'Cross-Origin-Opener-Policy': coop, ...others } = SECURITY_HEADERS;
    const loopback = /^(127\.[\d.]+|localhost|\[::1\]):\d+$/.test(req.headers.host ?? '');
    res.writeHead(200, {
      ...others,
      ...(loopback && coop ? { 'Cross-Origin-Opener-Policy': coop } : {}),
      'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      'Content-Length': body.length,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  // Once closing, a connection is closed as soon as its request is answered (keep-alive ends).
  let closing = false;
  const server = createServer((req, res) => {
    if (closing) res.setHeader('Connection', 'close');
    res.once('close', () => {
      if (closing) setImmediate(() => server.closeIdleConnections());
    });
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = async () => {
      if (url.pathname.startsWith('/api/')) {
        const principal = checkRequest(req, url);
        const call = url.pathname.match(/^\/api\/call\/([\w.]+)$/);
        if (call?.[1]) return handleCall(req, res, call[1], principal);
        if (url.pathname === httpPaths.events && req.method === 'GET') {
          // Events carry job and model details: the owner's only.
          if (principal.role !== 'owner')
            throw new HttpError(403, 'forbidden', 'an annotator link has no event stream');
          return handleEvents(req, res);
        }
        throw new HttpError(404, 'not_found', `no such endpoint: ${url.pathname}`);
      }
      return handleStatic(req, res, url.pathname);
    };
    route().catch((error: unknown) => {
      if (res.headersSent) return res.destroy();
      if (error instanceof HttpError)
        return sendError(res, error.status, { code: error.code, message: error.message }, error.headers);
      sendError(res, 500, errorShape(error));
    });
  });

  const unsubscribe = options.bus.subscribe(({ name, payload }) => {
    const frame = `event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`;
    for (const client of clients) client.write(frame);
  });
  const heartbeat = setInterval(() => {
    for (const client of clients) client.write(': heartbeat\n\n');
  }, HEARTBEAT_MS);
  heartbeat.unref();

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      const address = server.address();
      port = typeof address === 'object' && address ? address.port : options.port;
      const hostForUrl = options.host.includes(':') ? `[${options.host}]` : options.host;
      resolve({
        server,
        port,
        url: `http://${hostForUrl}:${port}/`,
        close: (graceMs = 10_000) =>
          new Promise<void>((done) => {
            // No new connections; requests under way are answered (each a whole transaction), then
            // their connections close; past graceMs whatever is left is cut.
            closing = true;
            unsubscribe();
            clearInterval(heartbeat);
            for (const client of clients) client.end();
            const force = setTimeout(() => server.closeAllConnections(), graceMs);
            force.unref();
            server.close(() => {
              clearTimeout(force);
              done();
            });
            server.closeIdleConnections();
          }),
      });
    });
  });
}
