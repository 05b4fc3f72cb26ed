import { AppError, type EventName, type EventPayload, type Input, type MethodName, type Output } from '../../src/shared/contract';
import { createBackend, type Backend } from '../../src/main/api/backend';
import { builtFile } from './built';

/** A real backend on a real project folder, with jobs in real job processes (the built job entry). */
export function openBackend(projectDir: string): Backend {
  return createBackend({ projectDir, shell: 'browser', forcedBackend: null, jobEntry: builtFile('main/job.js') });
}

export async function call<M extends MethodName>(backend: Backend, method: M, input: Input<M>): Promise<Output<M>> {
  const result = await backend.dispatch(method, input);
  if (!result.ok) throw AppError.from(result.error);
  return result.value as Output<M>;
}

export function nextEvent<E extends EventName>(backend: Backend, name: E, where: (p: EventPayload<E>) => boolean = () => true): Promise<EventPayload<E>> {
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
export async function importPath(backend: Backend, path: string, name: string, extra: Partial<Input<'imports.start'>> = {}) {
  const finished = nextEvent(backend, 'jobs.finished');
  const { jobId } = await call(backend, 'imports.start', { source: { kind: 'path', path }, name, ...extra });
  const job = await finished;
  if (job.id !== jobId) throw new Error(`expected job ${jobId} to finish, got ${job.id}`);
  return job;
}
