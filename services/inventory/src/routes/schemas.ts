import { Type } from '@meshmart/kit';

export const MAX_QUANTITY = 10_000;
export const MAX_AVAILABLE = 1_000_000_000;
export const MAX_LINES = 100;
export const MAX_TTL_SECONDS = 86_400;

export const Id = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]*$' });

export const StockLevelSchema = Type.Object({
  productId: Type.String(),
  available: Type.Integer({ minimum: 0 }),
  reserved: Type.Integer({ minimum: 0 }),
});

export const StockLineSchema = Type.Object(
  { productId: Id, quantity: Type.Integer({ minimum: 1, maximum: MAX_QUANTITY }) },
  { additionalProperties: false },
);

export const ReservationSchema = Type.Object({
  id: Type.String(),
  orderId: Type.String(),
  items: Type.Array(StockLineSchema),
  status: Type.Union(
    ['PENDING', 'HELD', 'COMMITTED', 'RELEASED', 'EXPIRED', 'REJECTED'].map((s) => Type.Literal(s)),
  ),
  expiresAt: Type.String({ format: 'date-time' }),
});
