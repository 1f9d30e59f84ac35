import type { Collection, Db, Document, Filter } from 'mongodb';
import { OUTBOX_PENDING, withOutbox, withOutboxUpdate, type OutboxEntry } from '@meshmart/kit/events';
import type { Rejection, Reservation, ReservationStatus, StockLine } from '../domain/stock.ts';
import { RESERVATIONS_COLLECTION } from './in-memory-reservation-repository.ts';
import type { ReservationRepository, TransitionChanges } from './reservation-repository.ts';

export interface ReservationDocument {
  _id: string;
  orderId: string;
  items: StockLine[];
  status: ReservationStatus;
  expiresAt: Date;
  createdAt: Date;
  updatedAt: Date;
  rejection?: Rejection;
  outbox: OutboxEntry[];
  [OUTBOX_PENDING]?: boolean;
}

const DUPLICATE_KEY = 11000;
const WITHOUT_OUTBOX = { projection: { outbox: 0, [OUTBOX_PENDING]: 0 } } as const;

/**
 * One document per reservation. The unique _id lets exactly one `create` win; each status change is one conditional
 * update on the status it leaves (`findOneAndUpdate({_id, status: 'HELD'}, ...)`), which MongoDB and DocumentDB apply
 * atomically, so of concurrent transitions exactly one matches, and its events are pushed into the outbox in the
 * same update.
 */
export class MongoReservationRepository implements ReservationRepository {
  readonly collection: Collection<ReservationDocument>;

  constructor(db: Db) {
    this.collection = db.collection<ReservationDocument>(RESERVATIONS_COLLECTION);
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex({ status: 1, expiresAt: 1 });
    await this.collection.createIndex({ status: 1, createdAt: 1 });
    // The kit's MongoOutboxStore names its index the same, so either may create it first.
    await this.collection.createIndex({ [OUTBOX_PENDING]: 1 }, { name: 'outbox_pending' });
  }

  async create(reservation: Reservation): Promise<boolean> {
    try {
      await this.collection.insertOne(withOutbox({ ...toDocument(reservation), outbox: [] }, []));
      return true;
    } catch (err) {
      if ((err as { code?: unknown }).code === DUPLICATE_KEY) return false;
      throw err;
    }
  }

  async get(id: string): Promise<Reservation | undefined> {
    const doc = await this.collection.findOne({ _id: id }, WITHOUT_OUTBOX);
    return doc ? fromDocument(doc) : undefined;
  }

  async getMany(ids: readonly string[]): Promise<Reservation[]> {
    if (ids.length === 0) return [];
    const docs = await this.collection.find({ _id: { $in: [...ids] } }, WITHOUT_OUTBOX).toArray();
    return docs.map(fromDocument);
  }

  async transition(
    id: string,
    from: readonly ReservationStatus[],
    to: ReservationStatus,
    changes: TransitionChanges,
    outbox: readonly OutboxEntry[],
  ): Promise<Reservation | undefined> {
    const filter: Filter<ReservationDocument> = {
      _id: id,
      status: from.length === 1 ? from[0] : { $in: [...from] },
      ...(changes.unexpiredAt ? { expiresAt: { $gt: changes.unexpiredAt } } : {}),
    };
    const set = {
      status: to,
      updatedAt: changes.at,
      ...(changes.rejection ? { rejection: changes.rejection } : {}),
    };
    const update: Document = outbox.length > 0 ? withOutboxUpdate({ $set: set }, outbox) : { $set: set };
    // FerretDB's findAndModify takes no projection: the whole document comes back.
    const doc = await this.collection.findOneAndUpdate(filter, update, { returnDocument: 'after' });
    return doc ? fromDocument(doc) : undefined;
  }

  async expired(now: Date, limit: number): Promise<Reservation[]> {
    return this.select({ status: 'HELD', expiresAt: { $lte: now } }, limit);
  }

  async stalePending(before: Date, limit: number): Promise<Reservation[]> {
    return this.select({ status: 'PENDING', createdAt: { $lt: before } }, limit);
  }

  private async select(filter: Filter<ReservationDocument>, limit: number): Promise<Reservation[]> {
    if (limit <= 0) return [];
    const docs = await this.collection.find(filter, { ...WITHOUT_OUTBOX, limit }).toArray();
    return docs.map(fromDocument);
  }
}

function toDocument(r: Reservation): Omit<ReservationDocument, 'outbox'> {
  return {
    _id: r.id,
    orderId: r.orderId,
    items: r.items.map((i) => ({ productId: i.productId, quantity: i.quantity })),
    status: r.status,
    expiresAt: r.expiresAt,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    ...(r.rejection ? { rejection: r.rejection } : {}),
  };
}

function fromDocument(d: Omit<ReservationDocument, 'outbox'>): Reservation {
  return {
    id: d._id,
    orderId: d.orderId,
    items: d.items.map((i) => ({ productId: i.productId, quantity: i.quantity })),
    status: d.status,
    expiresAt: d.expiresAt,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
    ...(d.rejection ? { rejection: { code: d.rejection.code, products: [...d.rejection.products] } } : {}),
  };
}
