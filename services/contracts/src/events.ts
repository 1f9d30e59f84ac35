/**
 * The versioned schema of every event on every topic, in one place. Publishers check what they write
 * (`events.assertValid`), consumers wrap their handlers (`events.validated`), so a message of an unknown version or
 * with bad data is dead-lettered with the reason instead of being dropped. A breaking change adds a version; the
 * old one stays until no publisher writes it.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { eventSchema, EventSchemaRegistry, type EventData } from '@meshmart/kit/events';
import type { Topic } from '@meshmart/catalogue';

const Id = Type.String({ minLength: 1, maxLength: 128 });
const Cents = Type.Integer({ minimum: 0 });
const Currency = Type.String({ pattern: '^[A-Z]{3}$' });
const Instant = Type.String({ format: 'date-time' });
const Quantity = Type.Integer({ minimum: 1 });

export const StockLine = Type.Object({ productId: Id, quantity: Quantity }, { additionalProperties: false });
export const OrderLine = Type.Object(
  { productId: Id, name: Type.String(), unitPriceCents: Cents, quantity: Quantity },
  { additionalProperties: false },
);

function ev<S extends TSchema>(topic: Topic, type: string, version: number, data: S, description: string) {
  return eventSchema(topic, type, version, data, description);
}
const obj = <P extends Parameters<typeof Type.Object>[0]>(props: P) =>
  Type.Object(props, { additionalProperties: false });

// catalog.events
export const ProductUpdated = ev(
  'catalog.events',
  'ProductUpdated',
  1,
  obj({
    productId: Id,
    name: Type.String(),
    priceCents: Cents,
    category: Type.String(),
    actor: Type.Optional(Id),
  }),
  'an admin changed a product (price, name, description, category)',
);

// inventory.events
export const StockReserved = ev(
  'inventory.events',
  'StockReserved',
  1,
  obj({ reservationId: Id, orderId: Id, items: Type.Array(StockLine, { minItems: 1 }), expiresAt: Instant }),
  'units set aside for an order until expiresAt',
);
export const StockCommitted = ev(
  'inventory.events',
  'StockCommitted',
  1,
  obj({ reservationId: Id, orderId: Id, items: Type.Array(StockLine) }),
  'a reservation became a sale: the units leave the warehouse',
);
export const StockReleased = ev(
  'inventory.events',
  'StockReleased',
  1,
  obj({
    reservationId: Id,
    orderId: Id,
    items: Type.Array(StockLine),
    reason: Type.Union([Type.Literal('released'), Type.Literal('expired')]),
  }),
  'reserved units returned to stock, on request or because the reservation expired',
);
export const StockAdjusted = ev(
  'inventory.events',
  'StockAdjusted',
  1,
  obj({ productId: Id, available: Type.Integer({ minimum: 0 }), actor: Type.Optional(Id) }),
  'an admin set the units available for sale',
);

// payments.events
const PaymentFacts = { paymentId: Id, orderId: Id, amountCents: Cents, currency: Currency };
export const PaymentAuthorized = ev(
  'payments.events',
  'PaymentAuthorized',
  1,
  obj(PaymentFacts),
  'the card was authorized for the amount',
);
export const PaymentDeclined = ev(
  'payments.events',
  'PaymentDeclined',
  1,
  obj({ ...PaymentFacts, reason: Type.String() }),
  'the provider declined the card',
);
export const PaymentCaptured = ev(
  'payments.events',
  'PaymentCaptured',
  1,
  obj(PaymentFacts),
  'authorized money was taken',
);
export const PaymentVoided = ev(
  'payments.events',
  'PaymentVoided',
  1,
  obj(PaymentFacts),
  'an authorization was released without capture',
);
export const PaymentRefunded = ev(
  'payments.events',
  'PaymentRefunded',
  1,
  obj(PaymentFacts),
  'captured money (all or part) was given back',
);

// orders.events: the event-sourced order's own events, published from its event store through the outbox
const OrderFacts = { orderId: Id, userId: Id, orderVersion: Type.Integer({ minimum: 1 }) };
export const OrderPlaced = ev(
  'orders.events',
  'OrderPlaced',
  1,
  obj({
    ...OrderFacts,
    items: Type.Array(OrderLine, { minItems: 1 }),
    totalCents: Cents,
    currency: Currency,
  }),
  'a customer placed an order (status PENDING)',
);
export const OrderStockReserved = ev(
  'orders.events',
  'OrderStockReserved',
  1,
  obj({ ...OrderFacts, reservationId: Id }),
  'the order’s items are reserved',
);
export const OrderPaymentAuthorized = ev(
  'orders.events',
  'OrderPaymentAuthorized',
  1,
  obj({ ...OrderFacts, paymentId: Id }),
  'the order’s payment is authorized',
);
export const OrderConfirmed = ev(
  'orders.events',
  'OrderConfirmed',
  1,
  obj(OrderFacts),
  'the order is confirmed (status CONFIRMED)',
);
export const OrderCancelled = ev(
  'orders.events',
  'OrderCancelled',
  1,
  obj({ ...OrderFacts, reason: Type.String({ minLength: 1 }) }),
  'the order is cancelled with a reason (status CANCELLED)',
);

// checkout.events
export const CheckoutStarted = ev(
  'checkout.events',
  'CheckoutStarted',
  1,
  obj({ sagaId: Id, orderId: Id, userId: Id, totalCents: Cents }),
  'a checkout saga began',
);
export const CheckoutCompleted = ev(
  'checkout.events',
  'CheckoutCompleted',
  1,
  obj({ sagaId: Id, orderId: Id, userId: Id }),
  'every step of the saga succeeded',
);
export const CheckoutFailed = ev(
  'checkout.events',
  'CheckoutFailed',
  1,
  obj({ sagaId: Id, orderId: Id, userId: Id, reason: Type.String(), compensated: Type.Boolean() }),
  'a step failed; compensations ran (compensated=false means some need an operator)',
);

// gateway.user-actions
export const UserAction = ev(
  'gateway.user-actions',
  'UserAction',
  1,
  obj({
    actor: Id,
    action: Type.String({ minLength: 1 }),
    resource: Type.String({ minLength: 1 }),
    method: Type.String(),
    path: Type.String(),
    status: Type.Integer(),
    at: Instant,
    traceId: Type.Optional(Type.String()),
    requestId: Type.Optional(Type.String()),
  }),
  'what an authenticated user did through the gateway (who, what, which resource, when, trace id)',
);

export const SignInFailed = ev(
  'gateway.user-actions',
  'SignInFailed',
  1,
  obj({
    actor: Type.String({ minLength: 1, maxLength: 64, description: 'the user name that was tried' }),
    resource: Type.String({ minLength: 1 }),
    sourceAddress: Type.String({ minLength: 1, maxLength: 64, description: 'the client address' }),
    reason: Type.Union([Type.Literal('unknown-user'), Type.Literal('wrong-password')]),
    method: Type.String(),
    path: Type.String(),
    status: Type.Integer(),
    at: Instant,
    traceId: Type.Optional(Type.String()),
    requestId: Type.Optional(Type.String()),
  }),
  'a sign-in with a wrong password or an unknown user name: who was tried, from where, why it failed',
);

export type ProductUpdatedData = EventData<typeof ProductUpdated>;
export type StockReservedData = EventData<typeof StockReserved>;
export type StockCommittedData = EventData<typeof StockCommitted>;
export type StockReleasedData = EventData<typeof StockReleased>;
export type StockAdjustedData = EventData<typeof StockAdjusted>;
export type PaymentEventData = EventData<typeof PaymentAuthorized>;
export type PaymentDeclinedData = EventData<typeof PaymentDeclined>;
export type OrderPlacedData = EventData<typeof OrderPlaced>;
export type OrderStockReservedData = EventData<typeof OrderStockReserved>;
export type OrderPaymentAuthorizedData = EventData<typeof OrderPaymentAuthorized>;
export type OrderConfirmedData = EventData<typeof OrderConfirmed>;
export type OrderCancelledData = EventData<typeof OrderCancelled>;
export type CheckoutStartedData = EventData<typeof CheckoutStarted>;
export type CheckoutCompletedData = EventData<typeof CheckoutCompleted>;
export type CheckoutFailedData = EventData<typeof CheckoutFailed>;
export type UserActionData = EventData<typeof UserAction>;
export type SignInFailedData = EventData<typeof SignInFailed>;

/** Every event of the system. */
export const events = new EventSchemaRegistry([
  ProductUpdated,
  StockReserved,
  StockCommitted,
  StockReleased,
  StockAdjusted,
  PaymentAuthorized,
  PaymentDeclined,
  PaymentCaptured,
  PaymentVoided,
  PaymentRefunded,
  OrderPlaced,
  OrderStockReserved,
  OrderPaymentAuthorized,
  OrderConfirmed,
  OrderCancelled,
  CheckoutStarted,
  CheckoutCompleted,
  CheckoutFailed,
  UserAction,
  SignInFailed,
]);
