import type { Collection, Db, Document, Filter } from 'mongodb';
import { OUTBOX_PENDING, withOutbox, withOutboxUpdate, type OutboxEntry } from '@meshmart/kit/events';
import type { StockLevel } from '../domain/stock.ts';
import type { StockRepository } from './stock-repository.ts';
import { STOCK_COLLECTION } from './in-memory-stock-repository.ts';

export interface StockDocument {
  _id: string;
  available: number;
  reserved: number;
  /** Reservations whose units are counted in `reserved` (see StockRepository). Absent means none. */
  holds?: string[];
  outbox: OutboxEntry[];
  [OUTBOX_PENDING]?: boolean;
}

const DUPLICATE_KEY = 11000;
const LEVEL = { projection: { available: 1, reserved: 1 } } as const;

/**
 * One document per product, every change one single-document update. Each unit movement is conditional on the
 * document as it is when the write applies — `available >= q` and the hold absent to take units, the hold present to
 * give them back or sell them — and moves the hold in the same update: MongoDB and DocumentDB apply a single-document
 * update atomically (the filter is matched again if another write got there first), so of racing writers exactly as
 * many match as there are units, `available` never drops below zero and a hold is taken or dropped at most once.
 * The test FerretDB gives the same guarantee through its per-collection write lock (test/testenv checks it).
 */
export class MongoStockRepository implements StockRepository {
  readonly collection: Collection<StockDocument>;

  constructor(db: Db) {
    this.collection = db.collection<StockDocument>(STOCK_COLLECTION);
  }

  async ensureIndexes(): Promise<void> {
    // The kit's MongoOutboxStore names its index the same, so either may create it first.
    await this.collection.createIndex({ [OUTBOX_PENDING]: 1 }, { name: 'outbox_pending' });
  }

  async get(productId: string): Promise<StockLevel | undefined> {
    const doc = await this.collection.findOne({ _id: productId }, LEVEL);
    return doc ? level(doc) : undefined;
  }

  async list(productIds: readonly string[]): Promise<StockLevel[]> {
    if (productIds.length === 0) return [];
    const docs = await this.collection.find({ _id: { $in: [...productIds] } }, LEVEL).toArray();
    const byId = new Map(docs.map((d) => [d._id, level(d)]));
    return productIds.flatMap((id) => byId.get(id) ?? []);
  }

  async setAvailable(
    productId: string,
    available: number,
    outbox: readonly OutboxEntry[],
  ): Promise<StockLevel> {
    const update: Document =
      outbox.length > 0
        ? withOutboxUpdate({ $set: { available }, $setOnInsert: { reserved: 0 } }, outbox)
        : { $set: { available }, $setOnInsert: { reserved: 0, outbox: [] } };
    for (let attempt = 0; ; attempt++) {
      try {
        // FerretDB's findAndModify takes no projection: the whole document comes back.
        const doc = await this.collection.findOneAndUpdate({ _id: productId }, update, {
          upsert: true,
          returnDocument: 'after',
        });
        return level(doc!);
      } catch (err) {
        // Two upserts of a new product can both try the insert; the loser updates the winner's document.
        if (attempt > 0 || (err as { code?: unknown }).code !== DUPLICATE_KEY) throw err;
      }
    }
  }

  async seed(productId: string, available: number, outbox: readonly OutboxEntry[]): Promise<boolean> {
    try {
      await this.collection.insertOne(
        withOutbox({ _id: productId, available, reserved: 0, holds: [], outbox: [] }, outbox),
      );
      return true;
    } catch (err) {
      if ((err as { code?: unknown }).code === DUPLICATE_KEY) return false;
      throw err;
    }
  }

  async hold(productId: string, reservationId: string, quantity: number): Promise<boolean> {
    const res = await this.collection.updateOne(
      { _id: productId, available: { $gte: quantity }, holds: { $ne: reservationId } },
      { $inc: { available: -quantity, reserved: quantity }, $push: { holds: reservationId } },
    );
    return res.modifiedCount === 1;
  }

  consumeHold(productId: string, reservationId: string, quantity: number): Promise<boolean> {
    return this.drop(productId, reservationId, { reserved: -quantity });
  }

  returnHold(productId: string, reservationId: string, quantity: number): Promise<boolean> {
    return this.drop(productId, reservationId, { available: quantity, reserved: -quantity });
  }

  async withHolds(limit: number): Promise<{ productId: string; holds: string[] }[]> {
    const docs = await this.collection
      .find({ 'holds.0': { $exists: true } } as Filter<StockDocument>, { projection: { holds: 1 }, limit })
      .toArray();
    return docs.map((d) => ({ productId: d._id, holds: [...(d.holds ?? [])] }));
  }

  private async drop(
    productId: string,
    reservationId: string,
    inc: Record<string, number>,
  ): Promise<boolean> {
    const res = await this.collection.updateOne(
      { _id: productId, holds: reservationId },
      { $inc: inc, $pull: { holds: reservationId } },
    );
    return res.modifiedCount === 1;
  }
}

function level(doc: Pick<StockDocument, '_id' | 'available' | 'reserved'>): StockLevel {
  return { productId: doc._id, available: doc.available, reserved: doc.reserved };
}
