import type { Context } from '@opentelemetry/api';

/** What every participant call carries: a key that makes a retried call safe, and the saga's trace context. */
export interface CallOptions {
  readonly idempotencyKey: string;
  readonly context?: Context;
}

export interface OrderLine {
  readonly productId: string;
  readonly name: string;
  readonly unitPriceCents: number;
  readonly quantity: number;
}

export interface OrderResult {
  readonly id: string;
  readonly status: string;
  readonly version: number;
}

export interface ReservationResult {
  readonly id: string;
  readonly status: string;
}

export interface PaymentResult {
  readonly id: string;
  readonly status: string;
}

export interface CartSnapshot {
  readonly userId: string;
  /** Every line at the catalog's price now (cart re-prices them when read). */
  readonly items: readonly OrderLine[];
  readonly totalCents: number;
  readonly currency: string;
  /** Products of the cart the catalog no longer has. */
  readonly unavailable?: readonly string[];
}

export interface OrdersParticipant {
  place(
    input: { orderId: string; userId: string; items: readonly OrderLine[]; currency: string },
    options: CallOptions,
  ): Promise<OrderResult>;
  stockReserved(
    input: { orderId: string; reservationId: string },
    options: CallOptions,
  ): Promise<OrderResult>;
  paymentAuthorized(
    input: { orderId: string; paymentId: string },
    options: CallOptions,
  ): Promise<OrderResult>;
  confirm(input: { orderId: string }, options: CallOptions): Promise<OrderResult>;
  cancel(input: { orderId: string; reason: string }, options: CallOptions): Promise<OrderResult>;
}

export interface InventoryParticipant {
  reserve(
    input: {
      reservationId: string;
      orderId: string;
      items: readonly { productId: string; quantity: number }[];
    },
    options: CallOptions,
  ): Promise<ReservationResult>;
  commit(input: { reservationId: string }, options: CallOptions): Promise<ReservationResult>;
  release(input: { reservationId: string }, options: CallOptions): Promise<ReservationResult>;
}

export interface PaymentsParticipant {
  authorize(
    input: { orderId: string; amountCents: number; currency: string; paymentToken: string },
    options: CallOptions,
  ): Promise<PaymentResult>;
  capture(input: { paymentId: string }, options: CallOptions): Promise<PaymentResult>;
  /** Voids the payment named, or, when the authorization's answer was lost, every authorized payment of the order. */
  voidAuthorization(
    input: { orderId: string; paymentId?: string | undefined },
    options: CallOptions,
  ): Promise<{ voided: readonly string[] }>;
}

export interface CartParticipant {
  get(input: { userId: string }, options: CallOptions): Promise<CartSnapshot>;
  /** What the order bought leaves the cart (once per order: lines added since stay). */
  removeBought(
    input: { userId: string; orderId: string; items: readonly { productId: string; quantity: number }[] },
    options: CallOptions,
  ): Promise<{ removed: boolean }>;
}

/** The services the saga coordinates. Every operation is idempotent, so re-running an interrupted step is safe. */
export interface Participants {
  readonly orders: OrdersParticipant;
  readonly inventory: InventoryParticipant;
  readonly payments: PaymentsParticipant;
  readonly cart: CartParticipant;
}

export type ParticipantName = keyof Participants;

/**
 * `business`: the participant said no (declined, out of stock, illegal transition); retrying cannot help.
 * `transient`: 5xx, timeouts, unreachable; the same call may succeed later.
 */
export type FailureKind = 'business' | 'transient';

export class ParticipantError extends Error {
  override readonly name = 'ParticipantError';

  /**
   * @param code stable code from the participant (`payment-declined`, `out-of-stock`, `not-found`, `unavailable`)
   * @param message a human reason, used as the order's cancellation reason for business failures
   */
  constructor(
    readonly kind: FailureKind,
    readonly code: string,
    message: string,
    readonly status?: number,
    options: { cause?: unknown; details?: Readonly<Record<string, unknown>> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.details = options.details;
  }

  /** Extension members of the participant's problem answer (e.g. `products` of out-of-stock). */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  static business(
    code: string,
    message: string,
    status?: number,
    details?: Readonly<Record<string, unknown>>,
  ): ParticipantError {
    return new ParticipantError('business', code, message, status, details ? { details } : {});
  }

  static transient(code: string, message: string, status?: number, cause?: unknown): ParticipantError {
    return new ParticipantError('transient', code, message, status, { cause });
  }
}

/** Anything that is not a participant's business answer (a bug, a lost connection) is treated as transient. */
export function classify(err: unknown): { kind: FailureKind; code: string; message: string } {
  if (err instanceof ParticipantError) return { kind: err.kind, code: err.code, message: err.message };
  return { kind: 'transient', code: 'error', message: err instanceof Error ? err.message : String(err) };
}
