import type { InMemoryOutboxStore, OutboxEntry } from '@meshmart/kit/events';
import type { Reservation, ReservationStatus } from '../domain/stock.ts';
import type { ReservationRepository, TransitionChanges } from './reservation-repository.ts';

export const RESERVATIONS_COLLECTION = 'reservations';

export class InMemoryReservationRepository implements ReservationRepository {
  private readonly docs = new Map<string, Reservation>();

  constructor(private readonly outbox: InMemoryOutboxStore) {}

  create(reservation: Reservation): Promise<boolean> {
    if (this.docs.has(reservation.id)) return Promise.resolve(false);
    this.docs.set(reservation.id, structuredClone(reservation));
    return Promise.resolve(true);
  }

  get(id: string): Promise<Reservation | undefined> {
    const doc = this.docs.get(id);
    return Promise.resolve(doc ? structuredClone(doc) : undefined);
  }

  getMany(ids: readonly string[]): Promise<Reservation[]> {
    const out: Reservation[] = [];
    for (const id of new Set(ids)) {
      const doc = this.docs.get(id);
      if (doc) out.push(structuredClone(doc));
    }
    return Promise.resolve(out);
  }

  transition(
    id: string,
    from: readonly ReservationStatus[],
    to: ReservationStatus,
    changes: TransitionChanges,
    outbox: readonly OutboxEntry[],
  ): Promise<Reservation | undefined> {
    const doc = this.docs.get(id);
    if (!doc || !from.includes(doc.status)) return Promise.resolve(undefined);
    if (changes.unexpiredAt && doc.expiresAt.getTime() <= changes.unexpiredAt.getTime()) {
      return Promise.resolve(undefined);
    }
    const next: Reservation = {
      ...doc,
      status: to,
      updatedAt: changes.at,
      ...(changes.rejection ? { rejection: changes.rejection } : {}),
    };
    this.docs.set(id, next);
    if (outbox.length > 0) this.outbox.add({ collection: RESERVATIONS_COLLECTION, id }, outbox);
    return Promise.resolve(structuredClone(next));
  }

  expired(now: Date, limit: number): Promise<Reservation[]> {
    return this.select((r) => r.status === 'HELD' && r.expiresAt.getTime() <= now.getTime(), limit);
  }

  stalePending(before: Date, limit: number): Promise<Reservation[]> {
    return this.select((r) => r.status === 'PENDING' && r.createdAt.getTime() < before.getTime(), limit);
  }

  private select(match: (r: Reservation) => boolean, limit: number): Promise<Reservation[]> {
    const out: Reservation[] = [];
    for (const r of this.docs.values()) {
      if (out.length >= limit) break;
      if (match(r)) out.push(structuredClone(r));
    }
    return Promise.resolve(out);
  }
}
