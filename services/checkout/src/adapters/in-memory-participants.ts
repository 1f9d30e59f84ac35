import {
  ParticipantError,
  type CallOptions,
  type CartParticipant,
  type CartSnapshot,
  type InventoryParticipant,
  type OrderLine,
  type OrderResult,
  type OrdersParticipant,
  type Participants,
  type PaymentResult,
  type PaymentsParticipant,
  type ReservationResult,
} from './participants.ts';

export interface SimOrder {
  id: string;
  userId: string;
  items: OrderLine[];
  currency: string;
  status: 'PENDING' | 'CONFIRMED' | 'CANCELLED';
  reason?: string;
  reservationId?: string;
  paymentId?: string;
  version: number;
}

export interface SimReservation {
  id: string;
  orderId: string;
  items: { productId: string; quantity: number }[];
  status: 'HELD' | 'COMMITTED' | 'RELEASED';
}

export interface SimPayment {
  id: string;
  orderId: string;
  amountCents: number;
  currency: string;
  status: 'AUTHORIZED' | 'CAPTURED' | 'VOIDED';
}

/** Tokens the simulated provider accepts; `tok_decline` is declined, anything else is invalid. */
export const ACCEPTED_TOKENS: readonly string[] = ['tok_visa', 'tok_mastercard', 'tok_amex'];

type Fault = { times: number; make: () => ParticipantError; when: 'before' | 'after' };
type Crash = { when: 'before' | 'after'; action: () => void };

/**
 * A small, faithful simulation of orders, inventory, payments and cart (the same rules as their APIs: idempotent
 * repeats, stock never negative, token rules, legal order transitions), with fault injection: transient or business
 * failures N times, and crash points that run an action (halting an engine) before or after an operation.
 * Operation names are `<participant>.<operation>`, e.g. `payments.authorize`.
 */
export class InMemoryParticipants implements Participants {
  readonly orderStore = new Map<string, SimOrder>();
  readonly stock = new Map<string, { available: number; reserved: number }>();
  readonly reservations = new Map<string, SimReservation>();
  readonly paymentStore = new Map<string, SimPayment>();
  readonly carts = new Map<string, OrderLine[]>();
  /** Per user, the products of the cart the catalog no longer has. */
  private readonly unavailable = new Map<string, readonly string[]>();
  /** Orders whose purchase has left their cart already (the cart service remembers it the same way). */
  private readonly bought = new Set<string>();
  /** Every operation invoked, in order, with the idempotency key it carried. */
  readonly calls: { op: string; key: string }[] = [];
  private readonly faults = new Map<string, Fault>();
  private readonly crashes = new Map<string, Crash>();
  private readonly holds = new Map<string, Promise<void>>();
  private readonly paymentKeys = new Map<string, { result?: PaymentResult; error?: ParticipantError }>();
  private nextPayment = 1;

  setStock(productId: string, available: number): void {
    this.stock.set(productId, { available, reserved: this.stock.get(productId)?.reserved ?? 0 });
  }

  setCart(userId: string, items: OrderLine[], unavailable: readonly string[] = []): void {
    this.carts.set(
      userId,
      items.map((i) => ({ ...i })),
    );
    this.unavailable.set(userId, unavailable);
  }

  /**
   * The next `times` calls of `op` fail transiently (503) or with the error given; `after`: each takes effect first
   * and its answer is lost on the way back.
   */
  failNext(
    op: string,
    times: number,
    make?: () => ParticipantError,
    when: 'before' | 'after' = 'before',
  ): void {
    this.faults.set(op, {
      times,
      make: make ?? (() => ParticipantError.transient('unavailable', `${op}: injected failure`, 503)),
      when,
    });
  }

  /** The next call of `op` runs `action` (e.g. halting the engine) before or after the operation takes effect. */
  crashAt(op: string, when: 'before' | 'after', action: () => void): void {
    this.crashes.set(op, { when, action });
  }

  /** Every call of `op` waits, before it takes effect, until the function returned is called. */
  holdAt(op: string): () => void {
    let release!: () => void;
    this.holds.set(op, new Promise<void>((resolve) => (release = resolve)));
    return () => {
      this.holds.delete(op);
      release();
    };
  }

  count(op: string): number {
    return this.calls.filter((c) => c.op === op).length;
  }

  paymentsOf(orderId: string): SimPayment[] {
    return [...this.paymentStore.values()].filter((p) => p.orderId === orderId);
  }

  readonly orders: OrdersParticipant = {
    place: (input, o) =>
      this.op('orders.place', o, () => {
        const existing = this.orderStore.get(input.orderId);
        if (existing) {
          const same =
            existing.userId === input.userId &&
            JSON.stringify(existing.items) === JSON.stringify(input.items);
          if (!same) throw ParticipantError.business('conflict', `order ${input.orderId} exists`, 409);
          return view(existing);
        }
        const order: SimOrder = {
          id: input.orderId,
          userId: input.userId,
          items: input.items.map((i) => ({ ...i })),
          currency: input.currency,
          status: 'PENDING',
          version: 1,
        };
        this.orderStore.set(order.id, order);
        return view(order);
      }),
    stockReserved: (input, o) =>
      this.op('orders.stockReserved', o, () =>
        this.transition(input.orderId, (order) => {
          if (order.reservationId === input.reservationId) return false;
          if (order.status !== 'PENDING') return invalid(order, 'stock-reserved');
          order.reservationId = input.reservationId;
          return true;
        }),
      ),
    paymentAuthorized: (input, o) =>
      this.op('orders.paymentAuthorized', o, () =>
        this.transition(input.orderId, (order) => {
          if (order.paymentId === input.paymentId) return false;
          if (order.status !== 'PENDING') return invalid(order, 'payment-authorized');
          order.paymentId = input.paymentId;
          return true;
        }),
      ),
    confirm: (input, o) =>
      this.op('orders.confirm', o, () =>
        this.transition(input.orderId, (order) => {
          if (order.status === 'CONFIRMED') return false;
          if (order.status !== 'PENDING' || !order.reservationId || !order.paymentId)
            return invalid(order, 'confirm');
          order.status = 'CONFIRMED';
          return true;
        }),
      ),
    cancel: (input, o) =>
      this.op('orders.cancel', o, () =>
        this.transition(input.orderId, (order) => {
          if (order.status === 'CANCELLED') return false;
          if (order.status !== 'PENDING') return invalid(order, 'cancel');
          order.status = 'CANCELLED';
          order.reason = input.reason;
          return true;
        }),
      ),
  };

  readonly inventory: InventoryParticipant = {
    reserve: (input, o) =>
      this.op('inventory.reserve', o, () => {
        const existing = this.reservations.get(input.reservationId);
        if (existing) return { id: existing.id, status: existing.status };
        const short = input.items
          .filter((i) => (this.stock.get(i.productId)?.available ?? 0) < i.quantity)
          .map((i) => i.productId);
        if (short.length > 0) {
          throw ParticipantError.business('out-of-stock', `out of stock: ${short.join(', ')}`, 409, {
            products: short,
          });
        }
        for (const i of input.items) {
          const s = this.stock.get(i.productId)!;
          s.available -= i.quantity;
          s.reserved += i.quantity;
        }
        const reservation: SimReservation = {
          id: input.reservationId,
          orderId: input.orderId,
          items: input.items.map((i) => ({ ...i })),
          status: 'HELD',
        };
        this.reservations.set(reservation.id, reservation);
        return { id: reservation.id, status: reservation.status };
      }),
    commit: (input, o) =>
      this.op('inventory.commit', o, () => {
        const r = this.reservation(input.reservationId);
        if (r.status === 'RELEASED')
          throw ParticipantError.business('reservation-not-held', `reservation ${r.id} is released`, 409);
        if (r.status === 'HELD') {
          r.status = 'COMMITTED';
          for (const i of r.items) this.stock.get(i.productId)!.reserved -= i.quantity;
        }
        return { id: r.id, status: r.status } satisfies ReservationResult;
      }),
    release: (input, o) =>
      this.op('inventory.release', o, () => {
        const r = this.reservation(input.reservationId);
        if (r.status === 'COMMITTED')
          throw ParticipantError.business('reservation-committed', `reservation ${r.id} is committed`, 409);
        if (r.status === 'HELD') {
          r.status = 'RELEASED';
          for (const i of r.items) {
            const s = this.stock.get(i.productId)!;
            s.reserved -= i.quantity;
            s.available += i.quantity;
          }
        }
        return { id: r.id, status: r.status } satisfies ReservationResult;
      }),
  };

  readonly payments: PaymentsParticipant = {
    authorize: (input, o) =>
      this.op('payments.authorize', o, () =>
        this.once(o.idempotencyKey, () => {
          if (input.paymentToken === 'tok_decline')
            throw ParticipantError.business('payment-declined', 'payment declined: card_declined', 402, {
              reason: 'card_declined',
            });
          if (!ACCEPTED_TOKENS.includes(input.paymentToken))
            throw ParticipantError.business(
              'invalid-payment-token',
              'payment rejected: invalid payment token',
              422,
            );
          const payment: SimPayment = {
            id: `pay-${this.nextPayment++}`,
            orderId: input.orderId,
            amountCents: input.amountCents,
            currency: input.currency,
            status: 'AUTHORIZED',
          };
          this.paymentStore.set(payment.id, payment);
          return { id: payment.id, status: payment.status };
        }),
      ),
    capture: (input, o) =>
      this.op('payments.capture', o, () =>
        this.once(o.idempotencyKey, () => {
          const p = this.payment(input.paymentId);
          if (p.status === 'VOIDED') throw ParticipantError.business('invalid-transition', 'voided', 409);
          p.status = 'CAPTURED';
          return { id: p.id, status: p.status };
        }),
      ),
    voidAuthorization: (input, o) =>
      this.op('payments.voidAuthorization', o, () => {
        const targets = input.paymentId
          ? [this.payment(input.paymentId)]
          : this.paymentsOf(input.orderId).filter((p) => p.status === 'AUTHORIZED');
        for (const p of targets) {
          if (p.status === 'CAPTURED') throw ParticipantError.business('invalid-transition', 'captured', 409);
          p.status = 'VOIDED';
        }
        return { voided: targets.map((p) => p.id) };
      }),
  };

  readonly cart: CartParticipant = {
    get: (input, o) =>
      this.op('cart.get', o, (): CartSnapshot => {
        const items = this.carts.get(input.userId) ?? [];
        const unavailable = this.unavailable.get(input.userId) ?? [];
        return {
          userId: input.userId,
          items: items.map((i) => ({ ...i })),
          totalCents: items.reduce((n, i) => n + i.unitPriceCents * i.quantity, 0),
          currency: 'USD',
          ...(unavailable.length > 0 ? { unavailable } : {}),
        };
      }),
    removeBought: (input, o) =>
      this.op('cart.removeBought', o, () => {
        if (this.bought.has(input.orderId)) return { removed: false };
        this.bought.add(input.orderId);
        const left = (this.carts.get(input.userId) ?? [])
          .map((line) => {
            const taken = input.items.find((i) => i.productId === line.productId)?.quantity ?? 0;
            return { ...line, quantity: line.quantity - taken };
          })
          .filter((line) => line.quantity > 0);
        if (left.length > 0) this.carts.set(input.userId, left);
        else this.carts.delete(input.userId);
        return { removed: true };
      }),
  };

  private async op<T>(name: string, options: CallOptions, perform: () => T): Promise<T> {
    this.calls.push({ op: name, key: options.idempotencyKey });
    await Promise.resolve();
    await this.holds.get(name);
    const fault = this.faults.get(name);
    if (fault && fault.times > 0 && fault.when === 'before') {
      fault.times--;
      throw fault.make();
    }
    const crash = this.crashes.get(name);
    if (crash) this.crashes.delete(name);
    if (crash?.when === 'before') {
      crash.action();
      throw ParticipantError.transient('unavailable', `${name}: the caller died`, 503);
    }
    const result = perform();
    if (crash?.when === 'after') crash.action();
    if (fault && fault.times > 0 && fault.when === 'after') {
      fault.times--;
      throw fault.make();
    }
    return result;
  }

  /** Payments' Idempotency-Key rule: a repeated key gets the first answer, refusal included. */
  private once(key: string, perform: () => PaymentResult): PaymentResult {
    const seen = this.paymentKeys.get(key);
    if (seen?.error) throw seen.error;
    if (seen?.result) return seen.result;
    try {
      const result = perform();
      this.paymentKeys.set(key, { result });
      return result;
    } catch (err) {
      if (err instanceof ParticipantError && err.kind === 'business')
        this.paymentKeys.set(key, { error: err });
      throw err;
    }
  }

  private transition(orderId: string, apply: (order: SimOrder) => boolean): OrderResult {
    const order = this.orderStore.get(orderId);
    if (!order) throw ParticipantError.business('not-found', `order ${orderId} not found`, 404);
    if (apply(order)) order.version++;
    return view(order);
  }

  private reservation(id: string): SimReservation {
    const r = this.reservations.get(id);
    if (!r) throw ParticipantError.business('not-found', `reservation ${id} not found`, 404);
    return r;
  }

  private payment(id: string): SimPayment {
    const p = this.paymentStore.get(id);
    if (!p) throw ParticipantError.business('not-found', `payment ${id} not found`, 404);
    return p;
  }
}

function view(order: SimOrder): OrderResult {
  return { id: order.id, status: order.status, version: order.version };
}

function invalid(order: SimOrder, command: string): never {
  throw ParticipantError.business(
    'invalid-transition',
    `order ${order.id} is ${order.status}: cannot ${command}`,
    409,
  );
}
