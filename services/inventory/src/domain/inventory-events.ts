import { events } from '@meshmart/contracts';
import { outboxEntry, type NewEvent, type OutboxEntry } from '@meshmart/kit/events';
import type {
  StockAdjustedData,
  StockCommittedData,
  StockReleasedData,
  StockReservedData,
} from '@meshmart/contracts';

export const TOPIC = 'inventory.events';
export const SOURCE = 'inventory';

/** The caller's trace context, carried into the event's headers. */
export type TraceContext = NewEvent['context'];

type Events = {
  StockReserved: StockReservedData;
  StockCommitted: StockCommittedData;
  StockReleased: StockReleasedData;
  StockAdjusted: StockAdjustedData;
};

/** Checks the event against its contract (a failure is a bug here) and makes the outbox entry. */
export function inventoryEvent<K extends keyof Events>(
  type: K,
  data: Events[K],
  context?: TraceContext,
): OutboxEntry {
  const event = events.assertValid(TOPIC, { type, data, ...(context ? { context } : {}) });
  return outboxEntry(TOPIC, event, SOURCE);
}
