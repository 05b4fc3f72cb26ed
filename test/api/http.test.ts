import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { localAddresses, networkUrls, startHttpServer, type RunningServer } from '../../src/main/http/httpServer';
import type { Backend } from '../../src/main/app/backend';
import { methodNames } from '../../src/shared/contract';
import { CONTENT_SECURITY_POLICY } from '../../src/shared/security';
import { openBackend } from '../helpers/backend';
import { useTempDir } from '../helpers/tempDir';

const tempDir = useTempDir();
const TOKEN = 'owner-token-for-tests';
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
  mkdirSync(join(rendererDir, 'assets'), { recursive: true });
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>studio</title>');
  writeFileSync(join(rendererDir, 'assets', 'app.js'), 'console.log(1)');
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
  return { server, backend };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request, so tests can send what a browser would not (wrong Host, no token, huge bodies). */
function send(
  port: number,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: options.method ?? 'GET', path: options.path, headers: options.headers },
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

const json = { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` };

describe('HTTP adapter', () => {
  it("serves the local network when told to: the machine's own addresses are its names, no other", async () => {
    const { server } = await start({ host: '0.0.0.0' });
    const lan = localAddresses().find((a) => !a.startsWith('127.') && !a.startsWith('['));
    expect(lan, 'this machine has a non-loopback IPv4 address').toBeDefined();
    const call = (host: string) =>
      send(server.port, {
        method: 'POST',
        path: '/api/call/datasets.list',
        headers: { ...json, Host: `${host}:${server.port}` },
        body: '{}',
      });
    expect((await call(lan as string)).status).toBe(200);
    expect((await call('attacker.example')).status).toBe(421);
  });

  it('lets an annotator token reach only the rating methods, as that annotator in that campaign', async () => {
    const annotator = { Authorization: 'Bearer annotator-token', 'Content-Type': 'application/json' };
    const { server } = await start({
      annotatorAccess: (token) => (token === 'annotator-token' ? { annotator: 7, campaign: 'eval' } : null),
    });
    const post = (method: string, body: unknown) =>
      send(server.port, {
        method: 'POST',
        path: `/api/call/${method}`,
        headers: annotator,
        body: JSON.stringify(body),
      });
    for (const method of [
      'datasets.list',
      'campaigns.items',
      'campaigns.browse',
      'campaigns.retrainPlan',
      'ratings.export',
      'annotators.add',
      'app.info',
    ]) {
      const reply = await post(method, {});
      expect(reply.status, method).toBe(403);
    }
    expect((await post('rating.next', { annotator: 8 })).status).toBe(403);
    expect((await post('rating.next', { campaign: 'other' })).status).toBe(403);
    // Filled in by the server: the backend is asked about campaign "eval" (which this project lacks).
    const filled = await post('rating.next', {});
    expect(filled.status).toBe(404);
    expect(JSON.parse(filled.body)).toMatchObject({
      error: { code: 'not_found', message: expect.stringContaining('"eval"') },
    });
    expect((await send(server.port, { path: '/api/events', headers: annotator })).status).toBe(403);
    const stranger = await send(server.port, {
      method: 'POST',
      path: '/api/call/rating.next',
      headers: { ...annotator, Authorization: 'Bearer wrong' },
      body: '{}',
    });
    expect(stranger.status).toBe(401);
  });

  it('binds to 127.0.0.1 and answers a call made with the token', async () => {
    const { server } = await start();
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const reply = await send(server.port, {
      method: 'POST',
      path: '/api/call/datasets.list',
      headers: json,
      body: '{}',
    });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual([]);
  });

  it('refuses calls without the token or with a wrong one', async () => {
    const { server } = await start();
    const none = await send(server.port, {
      method: 'POST',
      path: '/api/call/datasets.list',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(none.status).toBe(401);
    const wrong = await send(server.port, {
      method: 'POST',
      path: '/api/call/datasets.list',
      headers: { ...json, Authorization: 'Bearer owner-token-for-tesTS' },
      body: '{}',
    });
    expect(wrong.status).toBe(401);
    const events = await send(server.port, { path: '/api/events?token=nope' });
    expect(events.status).toBe(401);
  });

  it('refuses another Host (DNS rebinding), another Origin, non-JSON bodies and oversized bodies', async () => {
    const { server } = await start();
    const call = (headers: Record<string, string>, body = '{}') =>
      send(server.port, { method: 'POST', path: '/api/call/datasets.list', headers: { ...json, ...headers }, body });
    expect((await call({ Host: 'evil.example:80' })).status).toBe(421);
    expect((await call({ Origin: 'http://evil.example' })).status).toBe(403);
    expect((await call({ Origin: `http://127.0.0.1:${server.port}` })).status).toBe(200);
    expect((await call({ 'Content-Type': 'text/plain' })).status).toBe(415);
    const notJson = await call({}, '{"oops"');
    expect(notJson.status).toBe(400);
    expect(JSON.parse(notJson.body).error.message).toMatch(/not valid JSON/);
    expect((await call({}, 'x'.repeat(7 * 1024 * 1024))).status).toBe(413);
  });

  it('maps contract errors to HTTP statuses with the error shape, naming the field', async () => {
    const { server } = await start();
    const invalid = await send(server.port, {
      method: 'POST',
      path: '/api/call/datasets.examples',
      headers: json,
      body: '{"dataset": ""}',
    });
    expect(invalid.status).toBe(400);
    expect(JSON.parse(invalid.body).error).toMatchObject({
      code: 'invalid_input',
      issues: [expect.objectContaining({ field: 'dataset' })],
    });
    const missing = await send(server.port, {
      method: 'POST',
      path: '/api/call/datasets.get',
      headers: json,
      body: '{"dataset": "nope"}',
    });
    expect(missing.status).toBe(404);
    const unknown = await send(server.port, {
      method: 'POST',
      path: '/api/call/system.exec',
      headers: json,
      body: '{}',
    });
    expect(unknown.status).toBe(404);
  });

  it('routes every contract method (none falls through to "no such endpoint")', async () => {
    const { server } = await start();
    for (const method of methodNames) {
      const reply = await send(server.port, {
        method: 'POST',
        path: `/api/call/${method}`,
        headers: json,
        body: '{"x": 1}',
      });
      expect(JSON.parse(reply.body).error?.code, method).not.toBe('not_found');
    }
  });

  it('serves the renderer with a strict CSP and nothing outside its folder', async () => {
    const { server } = await start();
    const index = await send(server.port, { path: '/' });
    expect(index.status).toBe(200);
    expect(index.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(index.headers['x-content-type-options']).toBe('nosniff');
    expect((await send(server.port, { path: '/assets/app.js' })).headers['content-type']).toMatch(/javascript/);
    expect((await send(server.port, { path: '/../package.json' })).status).toBe(404);
    expect((await send(server.port, { path: '/%2e%2e/%2e%2e/package.json' })).status).toBe(404);
    expect((await send(server.port, { path: '/', headers: { Host: 'evil.example' } })).status).toBe(421);
  });

  it('sends COOP on a loopback address only, where browsers honour it, and the same CSP on a LAN address', async () => {
    const { server } = await start({ host: '0.0.0.0' });
    const lan = localAddresses().find((a) => !a.startsWith('127.') && !a.startsWith('['));
    expect(lan, 'this machine has a non-loopback IPv4 address').toBeDefined();
    const local = await send(server.port, { path: '/' });
    expect(local.headers['cross-origin-opener-policy']).toBe('same-origin');
    const remote = await send(server.port, { path: '/', headers: { Host: `${lan}:${server.port}` } });
    expect(remote.status).toBe(200);
    expect(remote.headers['cross-origin-opener-policy']).toBeUndefined();
    expect(remote.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
  });

  it('streams job events as server-sent events', async () => {
    const { server } = await start();
    const frames: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const headers = { Authorization: `Bearer ${TOKEN}` };
      const req = request({ host: '127.0.0.1', port: server.port, path: '/api/events', headers }, (res) => {
        expect(res.headers['content-type']).toMatch(/text\/event-stream/);
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          frames.push(chunk);
          if (frames.join('').includes('event: jobs.finished')) {
            req.destroy();
            resolve();
          }
        });
      });
      req.on('error', (e) => (frames.join('').includes('jobs.finished') ? resolve() : reject(e)));
      req.end();
    });
    await new Promise((r) => setTimeout(r, 100));
    const fixture = fileURLToPath(new URL('../fixtures/triples.jsonl', import.meta.url));
    const started = await send(server.port, {
      method: 'POST',
      path: '/api/call/imports.start',
      headers: json,
      body: JSON.stringify({ source: { kind: 'path', path: fixture }, name: 'sse' }),
    });
    expect(started.status).toBe(200);
    await done;
    const finished = frames
      .join('')
      .split('\n\n')
      .find((f) => f.startsWith('event: jobs.finished'));
    const payload = JSON.parse(finished?.split('\ndata: ')[1] ?? 'null');
    expect(payload).toMatchObject({ id: JSON.parse(started.body).jobId, status: 'succeeded', result: { examples: 5 } });
  });

  it('on close answers the request under way, refuses new connections, then resolves', async () => {
    let entered: () => void = () => undefined;
    const inside = new Promise<void>((r) => (entered = r));
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const backend = openBackend(tempDir());
    // The call is held inside dispatch (as a transaction would be) until the test lets it go.
    const dispatch: typeof backend.dispatch = async (method, input) => {
      entered();
      await gate;
      return backend.dispatch(method, input);
    };
    const { server } = await start({ dispatch });
    const underWay = send(server.port, { method: 'POST', path: '/api/call/datasets.list', headers: json, body: '{}' });
    await inside;
    let closed = false;
    const closing = server.close().then(() => (closed = true));
    await expect(
      send(server.port, { method: 'POST', path: '/api/call/datasets.list', headers: json, body: '{}' }),
    ).rejects.toThrow(/ECONNREFUSED/);
    expect(closed).toBe(false);
    release();
    const answer = await underWay;
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual([]);
    await closing;
    expect(closed).toBe(true);
    backend.close();
  });

  it('names the network addresses of a bind: none on loopback, each non-loopback IPv4 for 0.0.0.0, the address itself otherwise', () => {
    expect(networkUrls('127.0.0.1', 5917)).toEqual([]);
    expect(networkUrls('::1', 5917)).toEqual([]);
    expect(networkUrls('localhost', 5917)).toEqual([]);
    const lan = localAddresses().filter((a) => !a.startsWith('127.') && !a.startsWith('['));
    expect(lan.length, 'this machine has a non-loopback IPv4 address').toBeGreaterThan(0);
    expect(networkUrls('0.0.0.0', 5917)).toEqual(lan.map((a) => `http://${a}:5917/`));
    expect(networkUrls('192.168.1.20', 80)).toEqual(['http://192.168.1.20:80/']);
    expect(networkUrls('fd00::2', 80)).toEqual(['http://[fd00::2]:80/']);
  });
});
