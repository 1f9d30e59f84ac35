import { Type } from '@meshmart/kit';

export const MAX_LINES = 50;
export const MAX_QUANTITY = 1000;
export const MAX_UNIT_PRICE_CENTS = 100_000_000;

export const Id = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9._:@-]*$' });
const Text = (maxLength: number) => Type.String({ minLength: 1, maxLength });

export const OrderLineSchema = Type.Object(
  {
    productId: Id,
    name: Type.String({ maxLength: 200 }),
    unitPriceCents: Type.Integer({ minimum: 0, maximum: MAX_UNIT_PRICE_CENTS }),
    quantity: Type.Integer({ minimum: 1, maximum: MAX_QUANTITY }),
  },
  { additionalProperties: false },
);

const ExpectedVersion = Type.Optional(
  Type.Integer({ minimum: 0, description: 'the version last seen; a different current version is a 409' }),
);

export const PlaceOrderBody = Type.Object(
  {
    orderId: Id,
    userId: Id,
    items: Type.Array(OrderLineSchema, { minItems: 1, maxItems: MAX_LINES }),
    currency: Type.Literal('USD'),
  },
  { additionalProperties: false },
);

export const StockReservedBody = Type.Object(
  { reservationId: Id, expectedVersion: ExpectedVersion },
  { additionalProperties: false },
);
export const PaymentAuthorizedBody = Type.Object(
  { paymentId: Id, expectedVersion: ExpectedVersion },
  { additionalProperties: false },
);
export const ConfirmBody = Type.Object({ expectedVersion: ExpectedVersion }, { additionalProperties: false });
export const CancelBody = Type.Object(
  { reason: Text(500), expectedVersion: ExpectedVersion },
  { additionalProperties: false },
);

export const OrderIdParams = Type.Object({ id: Id });

const HistoryEntrySchema = Type.Object({
  type: Type.String(),
  version: Type.Integer({ minimum: 1 }),
  at: Type.String({ format: 'date-time' }),
  data: Type.Record(Type.String(), Type.Unknown()),
});

export const OrderViewSchema = Type.Object(
  {
    id: Type.String(),
    userId: Type.String(),
    status: Type.Union([Type.Literal('PENDING'), Type.Literal('CONFIRMED'), Type.Literal('CANCELLED')]),
    reason: Type.Optional(Type.String()),
    items: Type.Array(OrderLineSchema),
    totalCents: Type.Integer({ minimum: 0 }),
    currency: Type.String(),
    version: Type.Integer({ minimum: 1 }),
    reservationId: Type.Optional(Type.String()),
    paymentId: Type.Optional(Type.String()),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
    history: Type.Array(HistoryEntrySchema),
  },
  { description: 'an order, as the read model (or the event store) has it' },
);

export const OrderListQuerySchema = Type.Object({
  userId: Type.Optional(Id),
  page: Type.Integer({ minimum: 1, maximum: 10_000, default: 1 }),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
});

export const OrderListSchema = Type.Object({
  items: Type.Array(OrderViewSchema),
  page: Type.Integer(),
  limit: Type.Integer(),
  total: Type.Integer(),
});

export const AsOfQuery = Type.Object({
  asOf: Type.Optional(
    Type.String({
      format: 'date-time',
      description: 'ISO 8601 instant: the state at that moment, from the events',
    }),
  ),
});

export const EventListSchema = Type.Object({
  items: Type.Array(
    Type.Object({
      type: Type.String(),
      version: Type.Integer({ minimum: 1 }),
      occurredAt: Type.String({ format: 'date-time' }),
      data: Type.Record(Type.String(), Type.Unknown()),
    }),
  ),
});

export const RebuildSchema = Type.Object({
  orders: Type.Integer({ minimum: 0 }),
  events: Type.Integer({ minimum: 0 }),
});
