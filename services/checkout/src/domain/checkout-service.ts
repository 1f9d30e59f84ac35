import { createHash, randomUUID } from 'node:crypto';
import { propagation, type Context } from '@opentelemetry/api';
import { AppError } from '@meshmart/kit';
import { MAX_PAYMENT_CENTS } from '@meshmart/contracts';
import { classify, type CartSnapshot, type Participants } from '../adapters/participants.ts';
import type { SagaRepository } from '../adapters/saga-repository.ts';
import { reservationIdFor, type CheckoutContext } from './checkout-saga.ts';
import type { Saga, TraceCarrier } from './saga.ts';
import { initialSteps, type SagaDefinition } from './saga-definition.ts';
import type { SagaEngine } from './saga-engine.ts';
import type { OutboxEntry } from '@meshmart/kit/events';

export interface StartCheckout {
  readonly userId: string;
  readonly paymentToken: string;
  readonly idempotencyKey: string;
  /** The total the client showed the user; when given, a cart that now costs another amount is refused. */
  readonly expectedTotalCents?: number;
  readonly trace?: Context;
}

/** What a client sees of a checkout: PENDING until the saga ends, then the order's fate. */
export type CheckoutStatus = 'PENDING' | 'CONFIRMED' | 'CANCELLED' | 'FAILED';

export function checkoutStatus(saga: Saga<CheckoutContext>): CheckoutStatus {
  switch (saga.status) {
    case 'COMPLETED':
      return 'CONFIRMED';
    case 'COMPENSATED':
      return 'CANCELLED';
    case 'FAILED':
      return 'FAILED';
    default:
      return 'PENDING';
  }
}

export interface CheckoutServiceProps {
  readonly definition: SagaDefinition<CheckoutContext>;
  readonly repository: SagaRepository<CheckoutContext>;
  readonly participants: Participants;
  readonly engine: SagaEngine<CheckoutContext>;
  /** Events of a new saga (CheckoutStarted), written with its first state. */
  readonly startedEvents: (saga: Saga<CheckoutContext>) => readonly OutboxEntry[];
  /** After a new saga's events are stored: hands them to the outbox relay. */
  readonly wrote?: (saga: Saga<CheckoutContext>, events: readonly OutboxEntry[]) => void;
  /**
   * New checkouts are refused with 429 'checkout-busy' (Retry-After: 1) while the engine drives this many sagas: past
   * its capacity a replica that takes every checkout slows all of them until clients give up, and its callers' circuit
   * breakers open; one that refuses the excess at once keeps completing checkouts at the rate it can (BENCHMARKS.md).
   * Repeats of a checkout already started are answered whatever the load. Unset: no limit.
   */
  readonly maxInFlight?: number;
}

/** Starts checkouts: one saga per Idempotency-Key, run in the background by the engine. */
export class CheckoutService {
  constructor(private readonly props: CheckoutServiceProps) {}

  async start(input: StartCheckout): Promise<{ saga: Saga<CheckoutContext>; created: boolean }> {
    const { repository, engine } = this.props;
    // The saga's id comes from the key. A new checkout is not looked up first: creating it finds a saga already
    // there (the key's unique index). A repeat after completion finds the cart cleared, one while this replica is
    // busy is refused: on every refusal the key's saga is looked up (by id, the primary index) and answered instead.
    const sagaId = sagaIdFor(input.idempotencyKey);
    let cart: CartSnapshot;
    try {
      const { maxInFlight } = this.props;
      if (maxInFlight !== undefined && engine.inFlight >= maxInFlight) {
        throw new AppError(
          429,
          'checkout-busy',
          `${engine.inFlight} checkouts are in progress on this replica, its limit (SAGA_MAX_IN_FLIGHT); try again shortly`,
          { headers: { 'Retry-After': '1' } },
        );
      }
      cart = await this.cart(input);
    } catch (err) {
      const existing = await repository.get(sagaId);
      if (existing && existing.idempotencyKey === input.idempotencyKey) {
        return { saga: sameCaller(existing, input), created: false };
      }
      throw err;
    }

    const orderId = randomUUID();
    const now = new Date();
    const carrier: TraceCarrier = {};
    if (input.trace) propagation.inject(input.trace, carrier);
    const items = cart.items.map((i) => ({ ...i }));
    const saga: Saga<CheckoutContext> = {
      id: sagaId,
      definition: this.props.definition.name,
      idempotencyKey: input.idempotencyKey,
      userId: input.userId,
      orderId,
      status: 'RUNNING',
      context: {
        orderId,
        userId: input.userId,
        paymentToken: input.paymentToken,
        items,
        totalCents: items.reduce((n, i) => n + i.unitPriceCents * i.quantity, 0),
        currency: cart.currency,
        reservationId: reservationIdFor(sagaId),
      },
      steps: initialSteps(this.props.definition),
      log: [{ at: now.toISOString(), event: 'saga-started' }],
      lease: { owner: engine.owner, until: now.getTime() + engine.leaseMs, generation: 0 },
      trace: carrier,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
    };
    const started = this.props.startedEvents(saga);
    const result = await repository.create(saga, started);
    if (!result.created) return { saga: sameCaller(result.saga, input), created: false };
    this.props.wrote?.(result.saga, started);
    engine.start(sagaId, result.saga);
    return { saga: result.saga, created: true };
  }

  /** The cart, priced now, or the refusal of a checkout that could only fail later. */
  private async cart(input: StartCheckout): Promise<CartSnapshot> {
    let cart: CartSnapshot;
    try {
      cart = await this.props.participants.cart.get(
        { userId: input.userId },
        { idempotencyKey: input.idempotencyKey, ...(input.trace ? { context: input.trace } : {}) },
      );
    } catch (err) {
      const { kind, message } = classify(err);
      if (kind === 'transient') throw AppError.unavailable(`cannot read the cart: ${message}`, err);
      throw new AppError(502, 'cart-error', `cannot read the cart: ${message}`, { cause: err });
    }
    if (cart.items.length === 0) throw new AppError(409, 'cart-empty', 'the cart is empty');
    refuseDoomed(cart, input.expectedTotalCents);
    return cart;
  }
}

/**
 * What the saga could only fail on later, refused before it starts (no saga, no order, nothing reserved): a product
 * the catalog no longer has, one priced 0, a total payments would refuse, or a total other than the one the client
 * showed (the cart is priced from the catalog now, so an admin's change since is caught here, not charged unseen).
 */
function refuseDoomed(cart: CartSnapshot, expectedTotalCents: number | undefined): void {
  if (cart.unavailable && cart.unavailable.length > 0) {
    throw new AppError(
      409,
      'product-unavailable',
      `the catalog no longer has ${cart.unavailable.join(', ')}: remove it from the cart`,
      { extensions: { products: cart.unavailable } },
    );
  }
  const free = cart.items.filter((i) => i.unitPriceCents <= 0).map((i) => i.productId);
  if (free.length > 0) {
    throw new AppError(422, 'invalid-price', `${free.join(', ')} has no price and cannot be sold`, {
      extensions: { products: free },
    });
  }
  const totalCents = cart.items.reduce((n, i) => n + i.unitPriceCents * i.quantity, 0);
  if (totalCents > MAX_PAYMENT_CENTS) {
    throw new AppError(
      422,
      'amount-over-limit',
      `the cart total ${money(totalCents)} is over the payment limit of ${money(MAX_PAYMENT_CENTS)}`,
      { extensions: { totalCents, limitCents: MAX_PAYMENT_CENTS } },
    );
  }
  if (expectedTotalCents !== undefined && expectedTotalCents !== totalCents) {
    throw new AppError(
      409,
      'price-changed',
      `the cart now costs ${money(totalCents)}, not ${money(expectedTotalCents)}: prices changed since it was shown`,
      { extensions: { expectedTotalCents, totalCents } },
    );
  }
}

const money = (cents: number): string => `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;

/** The saga of an idempotency key: a UUID (version 8, RFC 9562) from its SHA-256, so a repeat finds it by id. */
export function sagaIdFor(idempotencyKey: string): string {
  const h = createHash('sha256').update(`meshmart-saga:${idempotencyKey}`).digest();
  h[6] = (h[6] & 0x0f) | 0x80;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

function sameCaller(saga: Saga<CheckoutContext>, input: StartCheckout): Saga<CheckoutContext> {
  if (saga.userId !== input.userId || saga.context.paymentToken !== input.paymentToken) {
    throw new AppError(
      422,
      'idempotency-key-reused',
      'this Idempotency-Key was used for a different checkout request',
    );
  }
  return saga;
}
