/**
 * How the HTTP adapter takes tokens: from the Authorization header only (a token in the address
 * is refused, whatever the header says), and wrong ones rate-limited per client address.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { clientKey, startHttpServer, type RunningServer } from '../../src/main/http/httpServer';
import type { Backend } from '../../src/main/app/backend';
import { openBackend } from '../helpers/backend';
import { useTempDir } from '../helpers/tempDir';

const tempDir = useTempDir();
const TOKEN = 'owner-token-for-auth-tests';
const running: { server: RunningServer; backend: Backend }[] = [];
afterEach(async () => {
  for (const { server, backend } of running.splice(0)) {
    await server.close();
    backend.close();
  }
});

async function start(extra: Partial<Parameters<typeof startHttpServer>[0]> = {}) {
  const backend = openBackend(tempDir());
  const rendererDir = join(tempDir(), 'renderer');
  mkdirSync(rendererDir, { recursive: true });
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>studio</title>');
  const server = await startHttpServer({
    dispatch: backend.dispatch,
    bus: backend.bus,
    token: TOKEN,
    rendererDir,
    host: '127.0.0.1',
    port: 0,
    ...extra,
  });
  running.push({ server, backend });
  return server;
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request, from `from` (another loopback address stands for another client). */
function send(
  port: number,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: string; from?: string },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: options.headers,
        localAddress: options.from,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const call = (port: number, token: string | null, from?: string, path = '/api/call/datasets.list') =>
  send(port, {
    method: 'POST',
    path,
    headers: { 'Content-Type': 'application/json', ...(token === null ? {} : { Authorization: `Bearer ${token}` }) },
    body: '{}',
    from,
  });

describe('HTTP tokens', () => {
  it('refuses a token in the address (401), even beside the right header, and streams events with the header', async () => {
    const server = await start();
    for (const path of [`/api/events?token=${TOKEN}`, `/api/call/datasets.list?token=${TOKEN}`, `/api/events?rate=x`]) {
      const reply = await send(server.port, {
        method: path.includes('/call/') ? 'POST' : 'GET',
        path,
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` },
        body: path.includes('/call/') ? '{}' : undefined,
      });
      expect(reply.status, path).toBe(401);
      expect(JSON.parse(reply.body).error).toEqual({
        code: 'unauthorized',
        message: 'a token in the address is refused: send it in the Authorization header (Bearer)',
      });
    }
    const alone = await send(server.port, { path: `/api/events?token=${TOKEN}` });
    expect(alone.status).toBe(401);
    // The header alone opens the stream.
    const stream = await new Promise<{ status: number; type: string; first: string }>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: server.port, path: '/api/events', headers: { Authorization: `Bearer ${TOKEN}` } },
        (res) => {
          res.setEncoding('utf8');
          res.once('data', (chunk: string) => {
            resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), first: chunk });
            req.destroy();
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(stream).toEqual({ status: 200, type: 'text/event-stream; charset=utf-8', first: ': connected\n\n' });
  });

  it('says which: a missing token and a wrong one', async () => {
    const server = await start();
    const none = await call(server.port, null);
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body).error.message).toBe('missing token: send it in the Authorization header (Bearer)');
    const wrong = await call(server.port, 'nope');
    expect(wrong.status).toBe(401);
    expect(JSON.parse(wrong.body).error.message).toMatch(/^wrong token: .*revoked or replaced/);
  });

  it('after maxFailures wrong tokens refuses that address (429, Retry-After) for the rest of the window, right token too; others and later are unaffected', async () => {
    const server = await start({ authLimit: { maxFailures: 5, windowMs: 1500 } });
    const started = Date.now();
    // Requests with no token guess nothing: they are not counted.
    for (let i = 0; i < 10; i++) expect((await call(server.port, null)).status).toBe(401);
    for (let i = 0; i < 5; i++) expect((await call(server.port, `guess-${i}`)).status, `guess ${i}`).toBe(401);
    for (const token of ['guess-5', TOKEN]) {
      const blocked = await call(server.port, token);
      expect(blocked.status, token).toBe(429);
      expect(JSON.parse(blocked.body).error).toMatchObject({
        code: 'too_many_requests',
        message: expect.stringMatching(/^too many wrong tokens from this address: try again in \d+ s$/),
      });
      const retryAfter = Number(blocked.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(2);
    }
    // The event stream is behind the same door.
    expect(
      (await send(server.port, { path: '/api/events', headers: { Authorization: `Bearer ${TOKEN}` } })).status,
    ).toBe(429);
    // Static files are not: the page itself still loads.
    expect((await send(server.port, { path: '/' })).status).toBe(200);
    // Another address (127.0.0.2 is this machine too) is not refused, and its own failures count apart.
    expect((await call(server.port, TOKEN, '127.0.0.2')).status).toBe(200);
    expect((await call(server.port, 'guess', '127.0.0.2')).status).toBe(401);
    expect((await call(server.port, TOKEN, '127.0.0.2')).status).toBe(200);
    // After the window, the first address is let in again.
    await new Promise((r) => setTimeout(r, Math.max(0, started + 1600 - Date.now())));
    expect((await call(server.port, TOKEN)).status).toBe(200);
  });

  it('uses 20 failures in 60 s by default', async () => {
    const server = await start();
    for (let i = 0; i < 20; i++) expect((await call(server.port, `guess-${i}`)).status).toBe(401);
    const blocked = await call(server.port, TOKEN);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(55);
  });

  it('counts an IPv4 client by its address and an IPv6 one by its /64 network', () => {
    expect(clientKey('192.168.1.20')).toBe('192.168.1.20');
    expect(clientKey('::ffff:192.168.1.20')).toBe('192.168.1.20');
    expect(clientKey('2001:db8:0:1:aaaa::1')).toBe('2001:db8:0:1::/64');
    expect(clientKey('2001:db8:0:1:bbbb:cccc:dddd:eeee')).toBe('2001:db8:0:1::/64');
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientKey(undefined)).toBe('unknown');
  });
});
