/**
 * The backend process the Electron shell relays IPC to: forked exactly as src/main/shell/electronMain.ts forks
 * it (the Electron binary itself cannot run here), answering contract calls and forwarding events.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { FromBackend, ToBackend } from '../../src/main/shell/backendMessages';
import { builtFile } from '../helpers/built';
import { useTempDir } from '../helpers/tempDir';

const tempDir = useTempDir();
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill();
});

function startBackend(appData: string) {
  const child = fork(builtFile('main/backend.js'), [], {
    env: { ...process.env, ALOL_APP_DATA: appData, ALOL_PROJECT: '' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.push(child);
  const messages: FromBackend[] = [];
  const waiters: { test: (m: FromBackend) => boolean; resolve: (m: FromBackend) => void }[] = [];
  child.on('message', (m: FromBackend) => {
    messages.push(m);
    for (const w of waiters.splice(0)) {
      if (w.test(m)) w.resolve(m);
      else waiters.push(w);
    }
  });
  const next = (test: (m: FromBackend) => boolean) =>
    new Promise<FromBackend>((resolve) => {
      const seen = messages.find(test);
      if (seen) resolve(seen);
      else waiters.push({ test, resolve });
    });
  let id = 0;
  const call = async (method: string, input: unknown) => {
    const callId = ++id;
    child.send({ type: 'call', id: callId, method, input } satisfies ToBackend);
    const reply = await next((m) => m.type === 'result' && m.id === callId);
    return reply.type === 'result' ? reply.result : null;
  };
  return { child, call, next };
}

describe('Electron backend process', () => {
  it('serves the contract over the fork channel in the app-data project, and forwards job events', async () => {
    const appData = tempDir();
    const backend = startBackend(appData);
    await backend.next((m) => m.type === 'ready');
    const info = await backend.call('app.info', {});
    expect(info).toMatchObject({ ok: true, value: { projectDir: appData, shell: 'electron' } });
    expect(await backend.call('nope.nothing', {})).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await backend.call('datasets.list', { extra: 1 })).toMatchObject({
      ok: false,
      error: { code: 'invalid_input' },
    });

    const fixture = fileURLToPath(new URL('../fixtures/hh-pairs.jsonl', import.meta.url));
    const started = await backend.call('imports.start', { source: { kind: 'path', path: fixture }, name: 'hh' });
    expect(started).toMatchObject({ ok: true });
    const finished = await backend.next((m) => m.type === 'event' && m.name === 'jobs.finished');
    expect(finished).toMatchObject({ payload: { status: 'succeeded', result: { pairs: 3 } } });
    expect(await backend.call('datasets.list', {})).toMatchObject({ ok: true, value: [{ name: 'hh', pairs: 3 }] });
  });

  it('exits when the shell goes away', async () => {
    const backend = startBackend(tempDir());
    await backend.next((m) => m.type === 'ready');
    const exited = new Promise<number | null>((resolve) => backend.child.on('exit', resolve));
    backend.child.disconnect();
    expect(await exited).toBe(0);
  });
});
