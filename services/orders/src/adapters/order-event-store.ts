import { randomUUID } from 'node:crypto';
import type { Context } from '@opentelemetry/api';
import { AppError } from '@meshmart/kit';
import { outboxEntry, type OutboxEntry, type OutboxStore, type OutboxWritten } from '@meshmart/kit/events';
import { events as contracts } from '@meshmart/contracts';
import type { OrderEvent, StoredOrderEvent } from '../domain/order-aggregate.ts';

export const ORDERS_TOPIC = 'orders.events';
export const ORDERS_SOURCE = 'orders';

export interface AppendOptions {
  /** The trace context the events belong to (a request's `trace`); travels with them through the outbox. */
  readonly context?: Context;
  /**
   * The caller read the stream up to `expectedVersion` just before (load, decide, append), so it cannot be ahead of
   * the stream: the store skips looking the head up. A stale caller is still refused by the unique version.
   */
  readonly afterLoad?: boolean;
  /** Told of each event document stored with its outbox entry (the relay publishes it at once). */
  readonly written?: OutboxWritten;
}

export interface LoadOptions {
  /** Only the events that occurred at or before this instant. */
  readonly asOf?: Date;
}

/**
 * The order event store. Each stored event carries its outbox entry, so an event is stored and queued for
 * publishing in one atomic write.
 */
export interface OrderEventStore {
  /**
   * Appends events after version `expectedVersion` (0 for a new order). Throws a 409 'version-conflict' AppError when
   * the stream is not at exactly that version (another writer got there first, or the caller is ahead).
   */
  append(
    orderId: string,
    expectedVersion: number,
    events: readonly OrderEvent[],
    options?: AppendOptions,
  ): Promise<StoredOrderEvent[]>;
  /** The order's events in version order; none for an unknown order. */
  load(orderId: string, options?: LoadOptions): Promise<StoredOrderEvent[]>;
  /** Every event, by order id then version (for rebuilding projections). */
  all(): AsyncIterable<StoredOrderEvent>;
  /** Where the relay finds the events not yet published. */
  readonly outbox: OutboxStore;
}

export function versionConflict(orderId: string, expectedVersion: number, detail?: string): AppError {
  return new AppError(
    409,
    'version-conflict',
    detail ?? `order ${orderId} is no longer at version ${expectedVersion}: reload and retry`,
    { extensions: { orderId, expectedVersion } },
  );
}

/** Checks what append is given: versions must follow `expectedVersion` one by one, for this order. */
export function checkAppend(orderId: string, expectedVersion: number, events: readonly OrderEvent[]): void {
  if (!Number.isInteger(expectedVersion) || expectedVersion < 0) {
    throw new TypeError(`append(${orderId}): expectedVersion must be an integer >= 0`);
  }
  events.forEach((event, i) => {
    if (event.data.orderId !== orderId)
      throw new TypeError(`append(${orderId}): event for ${event.data.orderId}`);
    if (event.data.orderVersion !== expectedVersion + i + 1) {
      throw new TypeError(
        `append(${orderId}): event ${i} has orderVersion ${event.data.orderVersion}, expected ${expectedVersion + i + 1}`,
      );
    }
  });
}

/** The stored event and its outbox entry share an id, so consumers can dedupe on it. */
export function prepare(
  event: OrderEvent,
  options: AppendOptions = {},
): { stored: StoredOrderEvent; entry: OutboxEntry } {
  const id = randomUUID();
  const newEvent = contracts.assertValid(ORDERS_TOPIC, {
    id,
    type: event.type,
    version: 1,
    occurredAt: event.occurredAt,
    data: event.data,
    ...(options.context ? { context: options.context } : {}),
  });
  const stored = { ...event, id, version: event.data.orderVersion } as StoredOrderEvent;
  return { stored, entry: outboxEntry(ORDERS_TOPIC, newEvent, ORDERS_SOURCE) };
}
