import { AppError } from '@meshmart/kit';

export type PaymentStatus =
  'AUTHORIZED' | 'DECLINED' | 'CAPTURED' | 'VOIDED' | 'PARTIALLY_REFUNDED' | 'REFUNDED';

export type PaymentOperation = 'authorize' | 'capture' | 'void' | 'refund';

export interface HistoryEntry {
  readonly at: string;
  readonly operation: PaymentOperation;
  readonly status: PaymentStatus;
  readonly amountCents: number;
  readonly reason?: string;
}

export interface Payment {
  readonly id: string;
  readonly orderId: string;
  readonly amountCents: number;
  readonly currency: string;
  readonly status: PaymentStatus;
  readonly capturedCents: number;
  readonly refundedCents: number;
  readonly declineReason?: string;
  readonly history: readonly HistoryEntry[];
  /** Bumped by every change: the condition of the optimistic update. */
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** What a state change produced: the new state, the history line it adds and the event to publish. */
export interface Change {
  readonly next: Payment;
  readonly entry: HistoryEntry;
  readonly event: PaymentEvent;
}

export type PaymentEventType =
  'PaymentAuthorized' | 'PaymentDeclined' | 'PaymentCaptured' | 'PaymentVoided' | 'PaymentRefunded';

export interface PaymentEvent {
  readonly type: PaymentEventType;
  readonly data: {
    paymentId: string;
    orderId: string;
    amountCents: number;
    currency: string;
    reason?: string;
  };
}

export interface NewAuthorization {
  readonly id: string;
  readonly orderId: string;
  readonly amountCents: number;
  readonly currency: string;
  readonly at: string;
}

export function authorized(input: NewAuthorization): Change {
  return opened(input, 'AUTHORIZED', 'PaymentAuthorized');
}

export function declined(input: NewAuthorization, reason: string): Change {
  return opened(input, 'DECLINED', 'PaymentDeclined', reason);
}

function opened(
  input: NewAuthorization,
  status: 'AUTHORIZED' | 'DECLINED',
  type: PaymentEventType,
  reason?: string,
): Change {
  const entry: HistoryEntry = {
    at: input.at,
    operation: 'authorize',
    status,
    amountCents: input.amountCents,
    ...(reason ? { reason } : {}),
  };
  const next: Payment = {
    id: input.id,
    orderId: input.orderId,
    amountCents: input.amountCents,
    currency: input.currency,
    status,
    capturedCents: 0,
    refundedCents: 0,
    ...(reason ? { declineReason: reason } : {}),
    history: [entry],
    version: 1,
    createdAt: input.at,
    updatedAt: input.at,
  };
  return { next, entry, event: eventOf(type, next, input.amountCents, reason) };
}

/** Capture up to the authorized amount (default: all of it); only from AUTHORIZED. */
export function capture(payment: Payment, at: string, amountCents?: number): Change {
  expectStatus(payment, 'capture', ['AUTHORIZED']);
  const amount = amountCents ?? payment.amountCents;
  if (amount > payment.amountCents) {
    throw new AppError(
      409,
      'amount-exceeds-authorized',
      `cannot capture ${amount} cents: only ${payment.amountCents} are authorized`,
      { extensions: { paymentId: payment.id, authorizedCents: payment.amountCents } },
    );
  }
  return changed(payment, at, 'capture', 'CAPTURED', amount, 'PaymentCaptured', { capturedCents: amount });
}

export function voidAuthorization(payment: Payment, at: string): Change {
  expectStatus(payment, 'void', ['AUTHORIZED']);
  return changed(payment, at, 'void', 'VOIDED', payment.amountCents, 'PaymentVoided', {});
}

/** Refund up to what is captured and not yet refunded (default: all of that). */
export function refund(payment: Payment, at: string, amountCents?: number): Change {
  expectStatus(payment, 'refund', ['CAPTURED', 'PARTIALLY_REFUNDED']);
  const remaining = payment.capturedCents - payment.refundedCents;
  const amount = amountCents ?? remaining;
  if (amount > remaining) {
    throw new AppError(
      409,
      'amount-exceeds-captured',
      `cannot refund ${amount} cents: only ${remaining} captured cents are not yet refunded`,
      { extensions: { paymentId: payment.id, refundableCents: remaining } },
    );
  }
  const refundedCents = payment.refundedCents + amount;
  const status = refundedCents === payment.capturedCents ? 'REFUNDED' : 'PARTIALLY_REFUNDED';
  return changed(payment, at, 'refund', status, amount, 'PaymentRefunded', { refundedCents });
}

function expectStatus(
  payment: Payment,
  operation: PaymentOperation,
  allowed: readonly PaymentStatus[],
): void {
  if (allowed.includes(payment.status)) return;
  throw new AppError(
    409,
    'invalid-transition',
    `cannot ${operation} a payment that is ${payment.status} (allowed from ${allowed.join(', ')})`,
    { extensions: { paymentId: payment.id, status: payment.status } },
  );
}

function changed(
  payment: Payment,
  at: string,
  operation: PaymentOperation,
  status: PaymentStatus,
  amountCents: number,
  type: PaymentEventType,
  amounts: { capturedCents?: number; refundedCents?: number },
): Change {
  const entry: HistoryEntry = { at, operation, status, amountCents };
  const next: Payment = {
    ...payment,
    ...amounts,
    status,
    history: [...payment.history, entry],
    version: payment.version + 1,
    updatedAt: at,
  };
  return { next, entry, event: eventOf(type, next, amountCents) };
}

function eventOf(type: PaymentEventType, p: Payment, amountCents: number, reason?: string): PaymentEvent {
  return {
    type,
    data: {
      paymentId: p.id,
      orderId: p.orderId,
      amountCents,
      currency: p.currency,
      ...(reason !== undefined ? { reason } : {}),
    },
  };
}

/** The public representation (no internal version or outbox). */
export function paymentView(p: Payment) {
  return {
    id: p.id,
    orderId: p.orderId,
    amountCents: p.amountCents,
    currency: p.currency,
    status: p.status,
    capturedCents: p.capturedCents,
    refundedCents: p.refundedCents,
    ...(p.declineReason ? { declineReason: p.declineReason } : {}),
    history: p.history,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
  };
}
export type PaymentView = ReturnType<typeof paymentView>;
