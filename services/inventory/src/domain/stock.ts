/** Units of one product: `available` for sale, `reserved` set aside for orders. Neither ever goes below zero. */
export interface StockLevel {
  readonly productId: string;
  readonly available: number;
  readonly reserved: number;
}

export interface StockLine {
  readonly productId: string;
  readonly quantity: number;
}

export type ReservationStatus = 'PENDING' | 'HELD' | 'COMMITTED' | 'RELEASED' | 'EXPIRED' | 'REJECTED';

/** Statuses a reservation never leaves; the sweeper's audit finishes their stock effects after a crash. */
export const FINAL_STATUSES: readonly ReservationStatus[] = ['COMMITTED', 'RELEASED', 'EXPIRED', 'REJECTED'];

export type RejectionCode = 'out-of-stock' | 'product-not-found' | 'reservation-timed-out';

export interface Rejection {
  readonly code: RejectionCode;
  readonly products: readonly string[];
}

/**
 * A reservation and the intent for its stock. The truth of which units are set aside lives in the stock documents
 * (`holds`): the status says what should happen to them, a hold still present says it has not happened yet.
 * `orderId`, `items`, `expiresAt` and `createdAt` never change after the reservation is created.
 */
export interface Reservation {
  readonly id: string;
  readonly orderId: string;
  readonly items: readonly StockLine[];
  readonly status: ReservationStatus;
  readonly expiresAt: Date;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly rejection?: Rejection;
}

/** The public view (HTTP answers). */
export interface ReservationView {
  readonly id: string;
  readonly orderId: string;
  readonly items: readonly StockLine[];
  readonly status: ReservationStatus;
  readonly expiresAt: string;
}

export function viewOf(r: Reservation): ReservationView {
  return {
    id: r.id,
    orderId: r.orderId,
    items: r.items.map((i) => ({ productId: i.productId, quantity: i.quantity })),
    status: r.status,
    expiresAt: r.expiresAt.toISOString(),
  };
}

/** Same order and the same lines (in any order): a repeat of the same request. */
export function sameContent(r: Reservation, orderId: string, items: readonly StockLine[]): boolean {
  if (r.orderId !== orderId || r.items.length !== items.length) return false;
  const mine = new Map(r.items.map((i) => [i.productId, i.quantity]));
  return items.every((i) => mine.get(i.productId) === i.quantity);
}
