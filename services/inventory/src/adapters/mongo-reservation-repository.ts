import type { Db } from 'mongodb';
import type { OutboxEntry } from '@meshmart/kit/events';
import {
  FINAL_STATUSES,
  type Rejection,
  type Reservation,
  type ReservationStatus,
  type StockLine,
} from '../domain/stock.ts';
import { RESERVATIONS_COLLECTION } from './in-memory-reservation-repository.ts';
import {
  MongoVersionedCollection,
  type MongoVersionedCollectionOptions,
} from './mongo-versioned-collection.ts';
import type { ReservationRepository, TransitionChanges } from './reservation-repository.ts';

export interface ReservationState {
  orderId: string;
  items: StockLine[];
  status: ReservationStatus;
  expiresAt: Date;
  createdAt: Date;
  updatedAt: Date;
  settled: boolean;
  rejection?: Rejection;
}

/** Reservations as insert-only versions (see MongoVersionedCollection): each transition has exactly one winner. */
export class MongoReservationRepository implements ReservationRepository {
  readonly versions: MongoVersionedCollection<ReservationState>;

  constructor(db: Db, options: MongoVersionedCollectionOptions = {}) {
    this.versions = new MongoVersionedCollection<ReservationState>(db, RESERVATIONS_COLLECTION, options);
  }

  ensureIndexes(): Promise<void> {
    return this.versions.ensureIndexes([
      { 'state.status': 1, 'state.expiresAt': 1 },
      { 'state.status': 1, 'state.settled': 1 },
    ]);
  }

  create(reservation: Reservation): Promise<boolean> {
    return this.versions.create(reservation.id, { state: toState(reservation) });
  }

  async get(id: string): Promise<Reservation | undefined> {
    const latest = await this.versions.latest(id);
    return latest ? fromState(id, latest.state) : undefined;
  }

  async transition(
    id: string,
    from: readonly ReservationStatus[],
    to: ReservationStatus,
    changes: TransitionChanges,
    outbox: readonly OutboxEntry[],
  ): Promise<Reservation | undefined> {
    const state = await this.versions.change(id, (cur) => {
      if (!cur || !from.includes(cur.status)) return undefined;
      return {
        state: {
          ...cur,
          status: to,
          settled: changes.settled,
          updatedAt: changes.at,
          ...(changes.rejection ? { rejection: changes.rejection } : {}),
        },
        outbox,
      };
    });
    return state ? fromState(id, state) : undefined;
  }

  async markSettled(id: string): Promise<void> {
    await this.versions.change(id, (cur) =>
      cur && !cur.settled ? { state: { ...cur, settled: true } } : undefined,
    );
  }

  async expired(now: Date, limit: number): Promise<Reservation[]> {
    const found = await this.versions.find(
      { 'state.status': 'HELD', 'state.expiresAt': { $lte: now } },
      (s) => s.status === 'HELD' && s.expiresAt.getTime() <= now.getTime(),
      limit,
    );
    return found.map((f) => fromState(f.key, f.state));
  }

  async stalePending(before: Date, limit: number): Promise<Reservation[]> {
    const found = await this.versions.find(
      { 'state.status': 'PENDING', 'state.createdAt': { $lt: before } },
      (s) => s.status === 'PENDING',
      limit,
    );
    return found.map((f) => fromState(f.key, f.state));
  }

  async unsettled(limit: number): Promise<Reservation[]> {
    const found = await this.versions.find(
      { 'state.status': { $in: [...FINAL_STATUSES] }, 'state.settled': false },
      (s) => FINAL_STATUSES.includes(s.status) && !s.settled,
      limit,
    );
    return found.map((f) => fromState(f.key, f.state));
  }
}

function toState(r: Reservation): ReservationState {
  return {
    orderId: r.orderId,
    items: r.items.map((i) => ({ productId: i.productId, quantity: i.quantity })),
    status: r.status,
    expiresAt: r.expiresAt,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    settled: r.settled,
    ...(r.rejection ? { rejection: r.rejection } : {}),
  };
}

function fromState(id: string, s: ReservationState): Reservation {
  return {
    id,
    orderId: s.orderId,
    items: s.items.map((i) => ({ productId: i.productId, quantity: i.quantity })),
    status: s.status,
    expiresAt: s.expiresAt,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    settled: s.settled,
    ...(s.rejection ? { rejection: { code: s.rejection.code, products: [...s.rejection.products] } } : {}),
  };
}
