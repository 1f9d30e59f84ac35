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
  readonly compensationRetry?: Partial<RetryPolicy>;
  /**
   * Retries of the steps after the pivot. The order is already confirmed there, so giving up means an operator;
   * a deployment gives these a longer budget than `retry` to ride out an overloaded or restarting service.
   * @default retry
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
 * capturing the payment are retried forward and never compensated.
 */
export function checkoutSaga(options: CheckoutSagaOptions = {}): SagaDefinition<CheckoutContext> {
  const retry: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  const compensationRetry: RetryPolicy = { ...retry, ...options.compensationRetry };
  const forwardRetry: RetryPolicy = { ...retry, ...options.forwardRetry };
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
        retry,
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
        retry,
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
