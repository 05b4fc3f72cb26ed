import { afterEach } from 'vitest';
import type { EventName, EventPayload, Input, Job } from '../../src/shared/contract';
import { call, jobEnd } from '../../src/main/app/calls';
import { createBackend, type Backend } from '../../src/main/app/backend';
import { builtFile } from './built';

/** A real backend on a real project folder, with jobs in real job processes (the built job entry). */
export function openBackend(projectDir: string): Backend {
  return createBackend({ projectDir, shell: 'browser', forcedTensorBackend: null, jobEntry: builtFile('main/job.js') });
}

export { call, jobEnd } from '../../src/main/app/calls';

/** Starts a job through the contract and returns how that job (not any other) ended, whatever its status. */
export async function jobOf(backend: Backend, start: () => Promise<{ jobId: number }>): Promise<Job> {
  const { jobId } = await start();
  return jobEnd(backend, jobId);
}

/** Backends opened by a test file, each closed after its test (unless the test closed it already). */
export function useBackends(): (projectDir: string) => Backend {
  const open: Backend[] = [];
  afterEach(() => {
    for (const b of open.splice(0)) if (b.db.open) b.close();
  });
  return (projectDir) => {
    const backend = openBackend(projectDir);
    open.push(backend);
    return backend;
  };
}

export function nextEvent<E extends EventName>(
  backend: Backend,
  name: E,
  where: (p: EventPayload<E>) => boolean = () => true,
): Promise<EventPayload<E>> {
  return new Promise((resolve) => {
    const off = backend.bus.subscribe((event) => {
      // The bus is typed per event; here the caller's name selects one, so the payload is that event's.
      const payload = event.payload as EventPayload<E>;
      if (event.name === name && where(payload)) {
        off();
        resolve(payload);
      }
    });
  });
}

/** Starts an import of a file on disk and waits for its job to end. */
export function importPath(
  backend: Backend,
  path: string,
  name: string,
  extra: Partial<Input<'imports.start'>> = {},
): Promise<Job> {
  return jobOf(backend, () => call(backend, 'imports.start', { source: { kind: 'path', path }, name, ...extra }));
}
