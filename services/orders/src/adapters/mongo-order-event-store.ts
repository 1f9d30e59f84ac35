import type { Collection, Db } from 'mongodb';
import { MongoOutboxStore, type OutboxEntry } from '@meshmart/kit/events';
import type { OrderEvent, StoredOrderEvent } from '../domain/order-aggregate.ts';
import {
  checkAppend,
  prepare,
  versionConflict,
  type AppendOptions,
  type LoadOptions,
  type OrderEventStore,
} from './order-event-store.ts';

export interface OrderEventDocument {
  eventId: string;
  orderId: string;
  version: number;
  type: StoredOrderEvent['type'];
  occurredAt: string;
  /** occurredAt as a Date, for `asOf` range queries. */
  at: Date;
  data: Record<string, unknown>;
  /** This event's outbox entry until the relay has published it. */
  outbox: OutboxEntry[];
  /** True while the outbox has an entry (the relay's indexed query). */
  outboxPending?: boolean;
}

const DUPLICATE_KEY = 11000;

/**
 * One document per event in `order_events`, unique on {orderId, version}: two writers appending at the same version
 * cannot both succeed, whatever they checked before. The document is the unit of atomicity, so it carries its own
 * outbox entry.
 */
export class MongoOrderEventStore implements OrderEventStore {
  readonly collection: Collection<OrderEventDocument>;
  readonly outbox: MongoOutboxStore;

  constructor(db: Db, collectionName = 'order_events') {
    this.collection = db.collection<OrderEventDocument>(collectionName);
    this.outbox = new MongoOutboxStore(this.collection as unknown as Collection);
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex(
      { orderId: 1, version: 1 },
      { unique: true, name: 'orderId_version_unique' },
    );
    await this.collection.createIndex({ 'outbox.id': 1 }, { name: 'outbox_id' });
    await this.collection.createIndex({ outboxPending: 1 }, { name: 'outbox_pending' });
  }

  async append(
    orderId: string,
    expectedVersion: number,
    events: readonly OrderEvent[],
    options: AppendOptions = {},
  ): Promise<StoredOrderEvent[]> {
    checkAppend(orderId, expectedVersion, events);
    // A caller ahead of the stream would otherwise leave a gap; versions never disappear, so this check stays true.
    if (expectedVersion > 0 && !options.afterLoad) {
      const head = await this.collection.findOne(
        { orderId, version: expectedVersion },
        { projection: { _id: 1 } },
      );
      if (!head) throw versionConflict(orderId, expectedVersion);
    }
    const prepared = events.map((e) => prepare(e, options));
    // In version order, one insert each: a failure stops the rest, so what is stored stays a gap-free prefix.
    for (const { stored, entry } of prepared) {
      try {
        const { insertedId } = await this.collection.insertOne({
          eventId: stored.id,
          orderId,
          version: stored.version,
          type: stored.type,
          occurredAt: stored.occurredAt,
          at: new Date(stored.occurredAt),
          data: { ...stored.data },
          outbox: [entry],
          outboxPending: true,
        });
        options.written?.({ collection: this.collection.collectionName, id: insertedId }, [entry]);
      } catch (err) {
        if ((err as { code?: unknown }).code === DUPLICATE_KEY)
          throw versionConflict(orderId, stored.version - 1);
        throw err;
      }
    }
    return prepared.map((p) => p.stored);
  }

  async load(orderId: string, options: LoadOptions = {}): Promise<StoredOrderEvent[]> {
    const filter = options.asOf ? { orderId, at: { $lte: options.asOf } } : { orderId };
    const docs = await this.collection
      .find(filter, { projection: { outbox: 0 } })
      .sort({ version: 1 })
      .toArray();
    return docs.map(toStored);
  }

  async *all(): AsyncIterable<StoredOrderEvent> {
    const cursor = this.collection.find({}, { projection: { outbox: 0 } }).sort({ orderId: 1, version: 1 });
    for await (const doc of cursor) yield toStored(doc);
  }
}

function toStored(doc: OrderEventDocument): StoredOrderEvent {
  return {
    id: doc.eventId,
    type: doc.type,
    version: doc.version,
    occurredAt: doc.occurredAt,
    data: doc.data,
  } as StoredOrderEvent;
}
