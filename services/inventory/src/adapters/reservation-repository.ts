import type { OutboxEntry } from '@meshmart/kit/events';
import type { Rejection, Reservation, ReservationStatus } from '../domain/stock.ts';

export interface TransitionChanges {
  readonly at: Date;
  readonly rejection?: Rejection;
  /** When set, only a reservation whose expiresAt is later than this moves (commit and release). */
  readonly unexpiredAt?: Date;
}

export interface ReservationRepository {
  /** Inserts a new reservation; false when one with the same id exists (nothing is changed then). */
  create(reservation: Reservation): Promise<boolean>;
  get(id: string): Promise<Reservation | undefined>;
  /** Those of the reservations that exist, in no particular order. */
  getMany(ids: readonly string[]): Promise<Reservation[]>;
  /**
   * Moves the reservation from one of `from` to `to` with its events, atomically: of concurrent callers exactly one
   * gets the updated reservation, the others undefined.
   */
  transition(
    id: string,
    from: readonly ReservationStatus[],
    to: ReservationStatus,
    changes: TransitionChanges,
    outbox: readonly OutboxEntry[],
  ): Promise<Reservation | undefined>;
  /** HELD reservations whose expiresAt has passed. */
  expired(now: Date, limit: number): Promise<Reservation[]>;
  /** PENDING reservations created before `before` (their reserve call died or stalled). */
  stalePending(before: Date, limit: number): Promise<Reservation[]>;
}
