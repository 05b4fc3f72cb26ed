/**
 * Cancellation of a running parse. Callers tell a cancel from a failure by the error's name, as
 * with fetch and Node's own streams, so every cancel path must throw the same kind of error.
 */

export function abortError(): Error {
  const error = new Error('the import was cancelled');
  error.name = 'AbortError';
  return error;
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError();
}
