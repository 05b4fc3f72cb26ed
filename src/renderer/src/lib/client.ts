/**
 * The typed client every state class uses: `call` resolves to the method's output or throws an
 * AppError (code, message, issues); `on` delivers only payloads that match the contract. Outputs
 * are validated here so a backend of another version fails loudly at the boundary, not deep in a view.
 */
import { z } from 'zod';
import type { Bridge } from '../../../shared/bridge';
import {
  AppError,
  events,
  methods,
  type AppErrorShape,
  type EventName,
  type EventPayload,
  type Input,
  type MethodName,
  type Output,
} from '../../../shared/contract';

export { AppError };

export class Client {
  readonly #bridge: Bridge;

  constructor(bridge: Bridge) {
    this.#bridge = bridge;
  }

  async call<M extends MethodName>(method: M, input: Input<M>): Promise<Output<M>> {
    const result = await this.#bridge.call(method, input);
    if (!result.ok) throw AppError.from(result.error);
    const parsed = methods[method].output.safeParse(result.value);
    if (!parsed.success) {
      throw new AppError('bad_response', `${method} answered in an unexpected shape: ${z.prettifyError(parsed.error)}`);
    }
    // TypeScript cannot narrow the union of all output schemas by a generic M; the schema is methods[M]'s.
    return parsed.data as Output<M>;
  }

  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void {
    return this.#bridge.on(event, (payload) => {
      const parsed = events[event].safeParse(payload);
      if (!parsed.success) {
        console.warn(`Ignored a ${event} event of unexpected shape: ${z.prettifyError(parsed.error)}`);
        return;
      }
      // Same generic narrowing limit as in call().
      listener(parsed.data as EventPayload<E>);
    });
  }
}

/** Any thrown value as the shape the views show. */
export function errorShape(error: unknown): AppErrorShape {
  if (error instanceof AppError) return error.toShape();
  if (error instanceof Error) return { code: 'internal', message: error.message };
  return { code: 'internal', message: String(error) };
}
