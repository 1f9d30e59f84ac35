import type { Collection, Db } from 'mongodb';
import type { OrderView } from '../domain/order-aggregate.ts';
import type { OrderListQuery, OrderPage, OrderViewRepository, PutOutcome } from './order-view-repository.ts';

type OrderViewDocument = Omit<OrderView, 'id'> & { _id: string };

const DUPLICATE_KEY = 11000;

/** `orders_view`: the OrderView with `_id` as the order id; writes are conditional on the version moving forward. */
export class MongoOrderViewRepository implements OrderViewRepository {
  readonly collection: Collection<OrderViewDocument>;

  constructor(db: Db, collectionName = 'orders_view') {
    this.collection = db.collection<OrderViewDocument>(collectionName);
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex({ userId: 1, createdAt: -1 }, { name: 'userId_createdAt' });
    await this.collection.createIndex({ createdAt: -1 }, { name: 'createdAt' });
  }

  async get(orderId: string): Promise<OrderView | undefined> {
    const doc = await this.collection.findOne({ _id: orderId });
    return doc ? toView(doc) : undefined;
  }

  async list(query: OrderListQuery): Promise<OrderPage> {
    const filter = query.userId === undefined ? {} : { userId: query.userId };
    const [docs, total] = await Promise.all([
      this.collection
        .find(filter)
        .sort({ createdAt: -1, _id: 1 })
        .skip((query.page - 1) * query.limit)
        .limit(query.limit)
        .toArray(),
      this.collection.countDocuments(filter),
    ]);
    return { items: docs.map(toView), total };
  }

  async put(view: OrderView, options: { readonly absent?: boolean } = {}): Promise<PutOutcome> {
    const { id, ...rest } = view;
    // Twice at most: an insert can lose to a concurrent insert of an older version, which the update then replaces.
    for (let attempt = 0; attempt < 2; attempt++) {
      if (attempt > 0 || !options.absent) {
        const updated = await this.collection.replaceOne({ _id: id, version: { $lt: view.version } }, rest);
        if (updated.matchedCount === 1) return 'written';
      }
      try {
        await this.collection.insertOne({ _id: id, ...rest });
        return 'written';
      } catch (err) {
        if ((err as { code?: unknown }).code !== DUPLICATE_KEY) throw err;
      }
      const current = await this.collection.findOne({ _id: id }, { projection: { version: 1 } });
      if (current && current.version >= view.version) return 'stale';
    }
    return 'stale';
  }

  async clear(): Promise<number> {
    // deleteMany rather than drop: the indexes stay.
    const result = await this.collection.deleteMany({});
    return result.deletedCount;
  }
}

function toView(doc: OrderViewDocument): OrderView {
  const { _id, ...rest } = doc;
  return { id: _id, ...rest };
}
