import { InMemoryOutboxStore } from '@meshmart/kit/events';
import type { OrderEvent, StoredOrderEvent } from '../domain/order-aggregate.ts';
import {
  checkAppend,
  prepare,
  versionConflict,
  type AppendOptions,
  type LoadOptions,
  type OrderEventStore,
} from './order-event-store.ts';

/** The in-memory twin: a check-and-push per order, which is atomic because nothing awaits in between. */
export class InMemoryOrderEventStore implements OrderEventStore {
  readonly outbox = new InMemoryOutboxStore();
  private readonly streams = new Map<string, StoredOrderEvent[]>();

  append(
    orderId: string,
    expectedVersion: number,
    events: readonly OrderEvent[],
    options: AppendOptions = {},
  ): Promise<StoredOrderEvent[]> {
    checkAppend(orderId, expectedVersion, events);
    const stream = this.streams.get(orderId) ?? [];
    if (stream.length !== expectedVersion) return Promise.reject(versionConflict(orderId, expectedVersion));
    const prepared = events.map((e) => prepare(e, options));
    for (const { stored, entry } of prepared) {
      stream.push(structuredClone(stored));
      const key = { collection: 'order_events', id: `${orderId}:${stored.version}` };
      this.outbox.add(key, [entry]);
      options.written?.(key, [entry]);
    }
    this.streams.set(orderId, stream);
    return Promise.resolve(prepared.map((p) => p.stored));
  }

  load(orderId: string, options: LoadOptions = {}): Promise<StoredOrderEvent[]> {
    const stream = this.streams.get(orderId) ?? [];
    const asOf = options.asOf?.getTime();
    const picked = asOf === undefined ? stream : stream.filter((e) => Date.parse(e.occurredAt) <= asOf);
    return Promise.resolve(structuredClone(picked));
  }

  all(): AsyncIterable<StoredOrderEvent> {
    const ids = [...this.streams.keys()].sort();
    const events = ids.flatMap((id) => structuredClone(this.streams.get(id) ?? []));
    let i = 0;
    // A snapshot taken now, served through the async-iterator protocol like a database cursor.
    return {
      [Symbol.asyncIterator]: () => ({
        next: () =>
          Promise.resolve(
            i < events.length
              ? { done: false as const, value: events[i++] }
              : { done: true as const, value: undefined },
          ),
      }),
    };
  }
}
