import type { OrderLine } from '../adapters/participants.ts';
import { call, validateDefinition, type RetryPolicy, type SagaDefinition } from './saga-definition.ts';

export interface CheckoutContext {
  readonly orderId: string;
  readonly userId: string;
  readonly paymentToken: string;
  readonly items: readonly OrderLine[];
  readonly totalCents: number;
  readonly currency: string;
  /** Derived from the saga id when the saga is created, so a retried reservation is the same reservation. */
  readonly reservationId: string;
  readonly paymentId?: string;
}

export interface CheckoutSagaOptions {
  readonly retry?: Partial<RetryPolicy>;
  /**
   * Retries of a compensation. An undo that gives up leaves the order pending and the stock held for an operator,
   * so it gets the forward budget: a restarting service or datastore outlasted the steps' own. @default forwardRetry
   */
  readonly compensationRetry?: Partial<RetryPolicy>;
  /**
   * Retries of the pivot and of the steps after it. Once the confirmation may have happened, giving up means an
   * operator: a confirmation whose answer was lost and was then compensated left a CONFIRMED order with its payment
   * voided and its stock released. A deployment gives these a longer budget than `retry` to ride out an overloaded
   * or restarting service. @default retry
   */
  readonly forwardRetry?: Partial<RetryPolicy>;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, backoffMs: 100, maxBackoffMs: 5000 };

export function reservationIdFor(sagaId: string): string {
  return `res-${sagaId}`;
}

/**
 * The checkout saga (the Step Functions state machine of the whitepaper), as data. Compensations run in reverse
 * order: void, release, cancel. confirmOrder is the pivot: once the order is confirmed, committing the stock and
 * capturing the payment are retried forward and never compensated. Placing the order, the pivot and every
 * compensation take the forward budget too: none may give up on an outage the other steps would give up on.
 */
export function checkoutSaga(options: CheckoutSagaOptions = {}): SagaDefinition<CheckoutContext> {
  const retry: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  const forwardRetry: RetryPolicy = { ...retry, ...options.forwardRetry };
  const compensationRetry: RetryPolicy = { ...forwardRetry, ...options.compensationRetry };
  const definition: SagaDefinition<CheckoutContext> = {
    name: 'checkout',
    steps: [
      {
        name: 'placeOrder',
        action: [
          call('orders', 'place', (c: CheckoutContext) => ({
            orderId: c.orderId,
            userId: c.userId,
            items: c.items,
            currency: c.currency,
          })),
        ],
        compensation: [
          call('orders', 'cancel', (c: CheckoutContext, m) => ({
            orderId: c.orderId,
            reason: m.reason ?? 'checkout failed',
          })),
        ],
        // The customer already holds the order's id (the 202): an order never placed would be a 404 for ever, so an
        // outage is waited out here as after the pivot; nothing is held yet that waiting could keep from others.
        retry: forwardRetry,
        compensationRetry,
      },
      {
        name: 'reserveStock',
        action: [
          call('inventory', 'reserve', (c: CheckoutContext) => ({
            reservationId: c.reservationId,
            orderId: c.orderId,
            items: c.items.map((i) => ({ productId: i.productId, quantity: i.quantity })),
          })),
          call('orders', 'stockReserved', (c: CheckoutContext) => ({
            orderId: c.orderId,
            reservationId: c.reservationId,
          })),
        ],
        compensation: [
          call('inventory', 'release', (c: CheckoutContext) => ({ reservationId: c.reservationId })),
        ],
        retry,
        compensationRetry,
      },
      {
        name: 'authorizePayment',
        action: [
          call(
            'payments',
            'authorize',
            (c: CheckoutContext) => ({
              orderId: c.orderId,
              amountCents: c.totalCents,
              currency: c.currency,
              paymentToken: c.paymentToken,
            }),
            (payment) => ({ paymentId: payment.id }),
          ),
          call('orders', 'paymentAuthorized', (c: CheckoutContext) => ({
            orderId: c.orderId,
            paymentId: c.paymentId ?? '',
          })),
        ],
        compensation: [
          call('payments', 'voidAuthorization', (c: CheckoutContext) => ({
            orderId: c.orderId,
            paymentId: c.paymentId,
          })),
        ],
        retry,
        compensationRetry,
      },
      {
        name: 'confirmOrder',
        action: [call('orders', 'confirm', (c: CheckoutContext) => ({ orderId: c.orderId }))],
        // Retried until its outcome is known: a lost answer may hide a confirmation, which no compensation may undo.
        retry: forwardRetry,
        pivot: true,
      },
      {
        name: 'commitReservation',
        action: [call('inventory', 'commit', (c: CheckoutContext) => ({ reservationId: c.reservationId }))],
        retry: forwardRetry,
      },
      {
        name: 'capturePayment',
        action: [call('payments', 'capture', (c: CheckoutContext) => ({ paymentId: c.paymentId ?? '' }))],
        retry: forwardRetry,
      },
      {
        name: 'clearCart',
        // Only what this order bought leaves the cart: lines the shopper added since (after seeing CONFIRMED) stay.
        action: [
          call('cart', 'removeBought', (c: CheckoutContext) => ({
            userId: c.userId,
            orderId: c.orderId,
            items: c.items.map((i) => ({ productId: i.productId, quantity: i.quantity })),
          })),
        ],
        retry,
        bestEffort: true,
      },
    ],
  };
  validateDefinition(definition);
  return definition;
}
