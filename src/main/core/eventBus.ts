import type { EventName, EventPayload } from '../../shared/contract';

/** One contract event; narrowing on `name` types the payload. */
export type StudioEvent = { [E in EventName]: { name: E; payload: EventPayload<E> } }[EventName];
export type EventListener = (event: StudioEvent) => void;

/** Contract events from the services to whichever adapters are listening (SSE clients, the Electron relay, the CLI). */
export class EventBus {
  private readonly listeners = new Set<EventListener>();

  emit<E extends EventName>(name: E, payload: EventPayload<E>): void {
    this.publish({ name, payload } as StudioEvent);
  }

  publish(event: StudioEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
