import { AppError } from '@meshmart/kit';
import type {
  OrderCancelledData,
  OrderConfirmedData,
  OrderPaymentAuthorizedData,
  OrderPlacedData,
  OrderStockReservedData,
} from '@meshmart/contracts';

export type OrderStatus = 'PENDING' | 'CONFIRMED' | 'CANCELLED';

export interface OrderLine {
  readonly productId: string;
  readonly name: string;
  readonly unitPriceCents: number;
  readonly quantity: number;
}

/** An event of the order's own stream, as decided (before it is stored). */
export type OrderEvent =
  | { readonly type: 'OrderPlaced'; readonly occurredAt: string; readonly data: OrderPlacedData }
  | {
      readonly type: 'OrderStockReserved';
      readonly occurredAt: string;
      readonly data: OrderStockReservedData;
    }
  | {
      readonly type: 'OrderPaymentAuthorized';
      readonly occurredAt: string;
      readonly data: OrderPaymentAuthorizedData;
    }
  | { readonly type: 'OrderConfirmed'; readonly occurredAt: string; readonly data: OrderConfirmedData }
  | { readonly type: 'OrderCancelled'; readonly occurredAt: string; readonly data: OrderCancelledData };

export type OrderEventType = OrderEvent['type'];

export const ORDER_EVENT_TYPES: readonly OrderEventType[] = [
  'OrderPlaced',
  'OrderStockReserved',
  'OrderPaymentAuthorized',
  'OrderConfirmed',
  'OrderCancelled',
];

/** An event as the store keeps it: `version` is its position in the order's stream (= data.orderVersion). */
export type StoredOrderEvent = OrderEvent & { readonly id: string; readonly version: number };

export interface HistoryEntry {
  readonly type: OrderEventType;
  readonly version: number;
  readonly at: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** The aggregate's state, which is also the read model's document (CQRS with one shape on both sides). */
export interface OrderView {
  readonly id: string;
  readonly userId: string;
  readonly status: OrderStatus;
  readonly reason?: string;
  readonly items: readonly OrderLine[];
  readonly totalCents: number;
  readonly currency: string;
  readonly version: number;
  readonly reservationId?: string;
  readonly paymentId?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly history: readonly HistoryEntry[];
}

export type OrderCommand =
  | {
      readonly kind: 'place';
      readonly orderId: string;
      readonly userId: string;
      readonly items: readonly OrderLine[];
      readonly currency: string;
    }
  | { readonly kind: 'reserve-stock'; readonly reservationId: string }
  | { readonly kind: 'authorize-payment'; readonly paymentId: string }
  | { readonly kind: 'confirm' }
  | { readonly kind: 'cancel'; readonly reason: string };

export function totalCents(items: readonly OrderLine[]): number {
  return items.reduce((sum, line) => sum + line.unitPriceCents * line.quantity, 0);
}

const invalidTransition = (state: OrderView, what: string): AppError =>
  new AppError(409, 'invalid-transition', `order ${state.id} is ${state.status}: cannot ${what}`, {
    extensions: { orderId: state.id, status: state.status, version: state.version },
  });

function sameLines(a: readonly OrderLine[], b: readonly OrderLine[]): boolean {
  return (
    a.length === b.length &&
    a.every(
      (line, i) =>
        line.productId === b[i].productId &&
        line.name === b[i].name &&
        line.unitPriceCents === b[i].unitPriceCents &&
        line.quantity === b[i].quantity,
    )
  );
}

/**
 * What a command does to an order: the events to append (none when it repeats what is already done), or an AppError
 * (409 invalid-transition, 409 order-exists, 404). Each command emits at most one event, so an append never has to
 * be split across documents.
 * @param now ISO instant stamped on the events (passed in to keep this pure)
 */
export function decide(command: OrderCommand, state: OrderView | undefined, now: string): OrderEvent[] {
  if (command.kind === 'place') {
    if (state) {
      const same =
        state.userId === command.userId &&
        state.currency === command.currency &&
        sameLines(state.items, command.items);
      if (same) return [];
      throw new AppError(409, 'order-exists', `order ${command.orderId} exists with different content`, {
        extensions: { orderId: command.orderId },
      });
    }
    return [
      {
        type: 'OrderPlaced',
        occurredAt: now,
        data: {
          orderId: command.orderId,
          userId: command.userId,
          orderVersion: 1,
          items: command.items.map((l) => ({ ...l })),
          totalCents: totalCents(command.items),
          currency: command.currency,
        },
      },
    ];
  }
  if (!state) throw AppError.notFound('order not found');
  const facts = { orderId: state.id, userId: state.userId, orderVersion: state.version + 1 };
  switch (command.kind) {
    case 'reserve-stock':
      if (state.reservationId === command.reservationId) return [];
      if (state.status !== 'PENDING') throw invalidTransition(state, 'record a stock reservation');
      if (state.reservationId !== undefined)
        throw invalidTransition(state, `replace reservation ${state.reservationId}`);
      return [
        {
          type: 'OrderStockReserved',
          occurredAt: now,
          data: { ...facts, reservationId: command.reservationId },
        },
      ];
    case 'authorize-payment':
      if (state.paymentId === command.paymentId) return [];
      if (state.status !== 'PENDING') throw invalidTransition(state, 'record a payment authorization');
      if (state.paymentId !== undefined) throw invalidTransition(state, `replace payment ${state.paymentId}`);
      return [
        { type: 'OrderPaymentAuthorized', occurredAt: now, data: { ...facts, paymentId: command.paymentId } },
      ];
    case 'confirm':
      if (state.status === 'CONFIRMED') return [];
      if (state.status !== 'PENDING') throw invalidTransition(state, 'confirm');
      return [{ type: 'OrderConfirmed', occurredAt: now, data: facts }];
    case 'cancel':
      if (state.status === 'CANCELLED' && state.reason === command.reason) return [];
      if (state.status !== 'PENDING') throw invalidTransition(state, 'cancel');
      return [{ type: 'OrderCancelled', occurredAt: now, data: { ...facts, reason: command.reason } }];
  }
}

/** The fold: one event applied to the state. Throws on an event out of sequence (a bug or a corrupt stream). */
export function evolve(state: OrderView | undefined, event: OrderEvent): OrderView {
  const version = event.data.orderVersion;
  const entry: HistoryEntry = { type: event.type, version, at: event.occurredAt, data: { ...event.data } };
  if (event.type === 'OrderPlaced') {
    if (state)
      throw new Error(`order ${event.data.orderId}: OrderPlaced at version ${version} on an existing order`);
    const d = event.data;
    return {
      id: d.orderId,
      userId: d.userId,
      status: 'PENDING',
      items: d.items.map((l) => ({ ...l })),
      totalCents: d.totalCents,
      currency: d.currency,
      version,
      createdAt: event.occurredAt,
      updatedAt: event.occurredAt,
      history: [entry],
    };
  }
  if (!state) throw new Error(`order ${event.data.orderId}: ${event.type} before OrderPlaced`);
  if (version !== state.version + 1) {
    throw new Error(`order ${state.id}: ${event.type} has version ${version}, expected ${state.version + 1}`);
  }
  const next = { ...state, version, updatedAt: event.occurredAt, history: [...state.history, entry] };
  switch (event.type) {
    case 'OrderStockReserved':
      return { ...next, reservationId: event.data.reservationId };
    case 'OrderPaymentAuthorized':
      return { ...next, paymentId: event.data.paymentId };
    case 'OrderConfirmed':
      return { ...next, status: 'CONFIRMED' };
    case 'OrderCancelled':
      return { ...next, status: 'CANCELLED', reason: event.data.reason };
  }
}

/** The state after these events (in version order); undefined for none. */
export function fold(events: Iterable<OrderEvent>): OrderView | undefined {
  let state: OrderView | undefined;
  for (const event of events) state = evolve(state, event);
  return state;
}

/** The pure aggregate as one value, for callers that like `OrderAggregate.decide(...)`. */
export const OrderAggregate = { decide, evolve, fold } as const;
