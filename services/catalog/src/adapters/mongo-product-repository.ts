import type { Collection, Db, Document, Filter } from 'mongodb';
import {
  MongoOutboxStore,
  withOutboxUpdate,
  type OutboxEntry,
  type OutboxStore,
  type PendingOutboxEntry,
} from '@meshmart/kit/events';
import {
  applyPatch,
  escapeRegex,
  type Product,
  type ProductPatch,
  type ProductQuery,
} from '../domain/product.ts';
import {
  PRODUCTS_COLLECTION,
  type EventsFor,
  type ProductList,
  type ProductRepository,
} from './product-repository.ts';
import { KeyedLock } from '@meshmart/kit';

/** A product as stored: the id is `_id`, and pending events wait in `outbox`. */
interface ProductDoc {
  _id: string;
  name: string;
  description: string;
  category: string;
  priceCents: number;
  currency: 'USD';
  image: string;
  updatedAt?: Date;
  /** Bumped by every update (compare-and-set); absent on a freshly seeded product. */
  version?: number;
  outbox?: OutboxEntry[];
}

const PUBLIC = { projection: { outbox: 0 } } as const;
const DUPLICATE_KEY = 11000;
const MAX_UPDATE_ATTEMPTS = 5;

/**
 * Products in MongoDB (DocumentDB, FerretDB): only find/updateOne/findOneAndUpdate/countDocuments, no transactions.
 *
 * Updates are compare-and-set on a `version` field, which MongoDB and DocumentDB apply atomically. FerretDB 1.x
 * (SQLite) rewrites whole documents without isolating a conditional update from a concurrent one, so writes to a
 * product (updates and the relay removing sent events) are also serialized per product within this process.
 */
export class MongoProductRepository implements ProductRepository {
  readonly outbox: OutboxStore;
  private readonly products: Collection<ProductDoc>;
  private readonly writes = new KeyedLock();

  constructor(db: Db) {
    this.products = db.collection<ProductDoc>(PRODUCTS_COLLECTION);
    const store = new MongoOutboxStore(this.products as unknown as Collection<Document>);
    this.outbox = {
      pending: (limit) => store.pending(limit),
      markSent: (entries: readonly PendingOutboxEntry[]) =>
        this.writes.runAll(
          entries.map((e) => String(e.key.id)),
          () => store.markSent(entries),
        ),
    };
  }

  async ensureIndexes(): Promise<void> {
    await this.products.createIndex({ name: 1, _id: 1 }, { name: 'name_id' });
    await this.products.createIndex({ category: 1, name: 1, _id: 1 }, { name: 'category_name_id' });
    await this.products.createIndex({ 'outbox.id': 1 }, { name: 'outbox_id' });
    await this.products.createIndex({ outboxPending: 1 }, { name: 'outbox_pending' });
  }

  async findById(id: string): Promise<Product | undefined> {
    const doc = await this.products.findOne({ _id: id }, PUBLIC);
    return doc ? toProduct(doc) : undefined;
  }

  async findByIds(ids: readonly string[]): Promise<Product[]> {
    const docs = await this.products.find({ _id: { $in: [...ids] } }, PUBLIC).toArray();
    return docs.map(toProduct);
  }

  async list(query: ProductQuery): Promise<ProductList> {
    const filter: Filter<ProductDoc> = {};
    if (query.category !== undefined) filter.category = query.category;
    if (query.q !== undefined) {
      const pattern = { $regex: escapeRegex(query.q), $options: 'i' };
      filter.$or = [{ name: pattern }, { description: pattern }, { category: pattern }];
    }
    const [docs, total] = await Promise.all([
      this.products
        .find(filter, PUBLIC)
        .sort({ name: 1, _id: 1 })
        .skip((query.page - 1) * query.limit)
        .limit(query.limit)
        .toArray(),
      this.products.countDocuments(filter),
    ]);
    return { items: docs.map(toProduct), total };
  }

  async countByCategory(): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    // A projection of one field instead of $group: the catalogue is small and FerretDB's aggregation is partial.
    for await (const doc of this.products.find({}, { projection: { category: 1 } })) {
      counts.set(doc.category, (counts.get(doc.category) ?? 0) + 1);
    }
    return counts;
  }

  update(id: string, patch: ProductPatch, eventsFor: EventsFor): Promise<Product | undefined> {
    return this.writes.run(id, () => this.compareAndSet(id, patch, eventsFor));
  }

  private async compareAndSet(
    id: string,
    patch: ProductPatch,
    eventsFor: EventsFor,
  ): Promise<Product | undefined> {
    for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
      const current = await this.products.findOne({ _id: id }, PUBLIC);
      if (!current) return undefined;
      const after = applyPatch(toProduct(current), patch);
      const version = current.version ?? 0;
      const set: Partial<ProductDoc> = {
        name: after.name,
        description: after.description,
        priceCents: after.priceCents,
        category: after.category,
        updatedAt: new Date(),
      };
      // Matches only the version we read: a concurrent update makes us re-read, so the event is exact.
      const filter: Filter<ProductDoc> =
        current.version === undefined ? { _id: id, version: { $exists: false } } : { _id: id, version };
      const doc = await this.products.findOneAndUpdate(
        filter,
        withOutboxUpdate({ $set: set, $inc: { version: 1 } }, eventsFor(after)),
        // No projection: FerretDB's findAndModify does not implement one; toProduct drops the outbox.
        { returnDocument: 'after' },
      );
      if (doc) return toProduct(doc);
    }
    throw new Error(
      `product ${id}: too many concurrent updates, gave up after ${MAX_UPDATE_ATTEMPTS} attempts`,
    );
  }

  async seed(products: readonly Product[]): Promise<number> {
    if (products.length === 0) return 0;
    // One round trip of upserts that only ever insert: an admin's changes survive, and replicas seeding at once
    // cannot duplicate a product (the id is `_id`).
    const ops = products.map(({ id, ...rest }) => ({
      updateOne: {
        filter: { _id: id },
        update: { $setOnInsert: { ...rest, version: 0, outbox: [] } },
        upsert: true,
      },
    }));
    try {
      const result = await this.products.bulkWrite(ops, { ordered: false });
      return result.upsertedCount;
    } catch (err) {
      // Another replica inserted some between our match and our insert: they are there, which is all we want.
      const bulk = err as { writeErrors?: { code?: unknown }[]; result?: { upsertedCount?: number } };
      const errors = Array.isArray(bulk.writeErrors) ? bulk.writeErrors : [bulk.writeErrors];
      if (!bulk.writeErrors || errors.some((e) => e?.code !== DUPLICATE_KEY)) throw err;
      return bulk.result?.upsertedCount ?? 0;
    }
  }

  count(): Promise<number> {
    return this.products.countDocuments({});
  }
}

function toProduct(doc: ProductDoc): Product {
  return {
    id: doc._id,
    name: doc.name,
    description: doc.description,
    category: doc.category,
    priceCents: doc.priceCents,
    currency: doc.currency,
    image: doc.image,
  };
}
