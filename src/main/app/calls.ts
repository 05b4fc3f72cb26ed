/** Calling the contract in-process, as the CLI, npm start's demo loop and the tests do. */
import { AppError, type Input, type Job, type MethodName, type Output } from '../../shared/contract';
import type { Backend } from './backend';

/** One method through `dispatch`: its output, or its error thrown as an AppError. */
export async function call<M extends MethodName>(backend: Backend, method: M, input: Input<M>): Promise<Output<M>> {
  const result = await backend.dispatch(method, input);
  if (!result.ok) throw AppError.from(result.error);
  // dispatch parsed it with methods[M].output; TypeScript cannot narrow the union by a generic M.
  return result.value as Output<M>;
}

/** How a job ended, whether it is still running or already over. */
export function jobEnd(backend: Backend, jobId: number): Promise<Job> {
  return new Promise((resolve) => {
    const off = backend.bus.subscribe((event) => {
      if (event.name === 'jobs.finished' && event.payload.id === jobId) {
        off();
        resolve(event.payload);
      }
    });
    void call(backend, 'jobs.get', { jobId }).then((job) => {
      if (job.status !== 'running') {
        off();
        resolve(job);
      }
    });
  });
}
