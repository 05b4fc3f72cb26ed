/**
 * The renderer's event stream (transport.ts EventStream), run in Node against the real HTTP adapter
 * and against a server that writes frames in awkward pieces: the token goes in the Authorization
 * header, frames are parsed whatever the chunking and line endings, comments are skipped, a lost
 * connection is made again, a refused token stops it, and close() ends it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/main/core/eventBus';
import { startHttpServer } from '../../src/main/http/httpServer';
import { EventStream } from '../../src/renderer/src/lib/eventStream';
import { useTempDir } from '../helpers/tempDir';

const tempDir = useTempDir();
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function until(check: () => boolean, timeoutMs = 8000): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (check()) return resolve();
      if (Date.now() - start > timeoutMs) return reject(new Error('timed out'));
      setTimeout(tick, 20);
    };
    tick();
  });
}

/** A server whose handler the test writes, on a fixed port so it can be restarted there. */
async function rawServer(handler: (req: IncomingMessage, res: ServerResponse) => void, port = 0): Promise<Server> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return server;
}

function portOf(server: Server): number {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

describe('EventStream (the renderer side of /api/events)', () => {
  it("receives the adapter's events with the token in the Authorization header", async () => {
    const bus = new EventBus();
    const rendererDir = join(tempDir(), 'renderer');
    mkdirSync(rendererDir);
    writeFileSync(join(rendererDir, 'index.html'), '<!doctype html>');
    const server = await startHttpServer({
      dispatch: () => Promise.resolve({ ok: true, value: null }),
      bus,
      token: 'secret-token',
      rendererDir,
      host: '127.0.0.1',
      port: 0,
    });
    cleanups.push(() => server.close(100));
    const stream = new EventStream(`http://127.0.0.1:${server.port}/api/events`, 'secret-token');
    cleanups.push(() => stream.close());
    const got: unknown[] = [];
    stream.addEventListener('jobs.progress', (data) => got.push(JSON.parse(data)));
    const progress = { jobId: 3, kind: 'import', phase: 'reading', done: 1, total: 2 } as const;
    // Until the stream is connected the bus has no one to send to: emit until it arrives.
    await until(() => {
      if (got.length === 0) bus.emit('jobs.progress', progress);
      return got.length > 0;
    });
    expect(got[0]).toEqual(progress);
  });

  it('parses frames split anywhere, with LF, CRLF or CR endings, multi-line data and comments', async () => {
    const seen: Array<{ auth: string | undefined; url: string | undefined }> = [];
    const server = await rawServer((req, res) => {
      seen.push({ auth: req.headers.authorization, url: req.url });
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      const text =
        ': connected\n\n' +
        'event: a\r\ndata: {"n":1}\r\n\r\n' +
        'event: b\rdata: line one\rdata: line two\r\r' +
        ': heartbeat\n\n' +
        'event:a\ndata:{"n":2}\nid: 7\nretry: 10\n\n' +
        'data: no event name\n\n' +
        'event: a\ndata: {"n":3}\n';
      // One byte at a time, so every boundary (CR then LF across chunks too) is crossed.
      let i = 0;
      const timer = setInterval(() => {
        if (i >= text.length) return clearInterval(timer);
        res.write(text[i++]);
      }, 1);
      req.on('close', () => clearInterval(timer));
    });
    const stream = new EventStream(`http://127.0.0.1:${portOf(server)}/api/events`, 'tok');
    cleanups.push(() => stream.close());
    const got: string[] = [];
    stream.addEventListener('a', (d) => got.push(`a:${d}`));
    stream.addEventListener('b', (d) => got.push(`b:${d}`));
    stream.addEventListener('message', (d) => got.push(`message:${d}`));
    await until(() => got.length >= 4);
    await new Promise((r) => setTimeout(r, 100));
    // The last frame has no blank line after it yet: not dispatched.
    expect(got).toEqual(['a:{"n":1}', 'b:line one\nline two', 'a:{"n":2}', 'message:no event name']);
    expect(seen[0]).toEqual({ auth: 'Bearer tok', url: '/api/events' });
  });

  it('connects again after the stream ends, and stops on close()', async () => {
    let connections = 0;
    const server = await rawServer((_req, res) => {
      connections += 1;
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.end(`event: hello\ndata: ${connections}\n\n`);
    });
    const stream = new EventStream(`http://127.0.0.1:${portOf(server)}/api/events`, 'tok');
    const got: string[] = [];
    stream.addEventListener('hello', (d) => got.push(d));
    await until(() => got.length >= 2, 5000);
    expect(got.slice(0, 2)).toEqual(['1', '2']);
    stream.close();
    const after = connections;
    await new Promise((r) => setTimeout(r, 1500));
    expect(connections).toBe(after);
  });

  it('connects again after the server was down, and stops for good on 401', async () => {
    let status = 503;
    let requests = 0;
    const server = await rawServer((_req, res) => {
      requests += 1;
      if (status !== 200) {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        return res.end('{}');
      }
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.write('event: up\ndata: 1\n\n');
    });
    const stream = new EventStream(`http://127.0.0.1:${portOf(server)}/api/events`, 'tok');
    cleanups.push(() => stream.close());
    const got: string[] = [];
    stream.addEventListener('up', (d) => got.push(d));
    await until(() => requests >= 1);
    status = 200;
    await until(() => got.length === 1, 5000);

    let refused = 0;
    const refusing = await rawServer((_req, res) => {
      refused += 1;
      res.writeHead(401, { 'Content-Type': 'application/json' });
      res.end('{}');
    });
    const denied = new EventStream(`http://127.0.0.1:${portOf(refusing)}/api/events`, 'wrong');
    cleanups.push(() => denied.close());
    await until(() => refused === 1);
    await new Promise((r) => setTimeout(r, 2500));
    expect(refused).toBe(1);
  });
});
