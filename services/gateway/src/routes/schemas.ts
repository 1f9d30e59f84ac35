import { cartApi, checkoutApi } from '@meshmart/contracts';
import { Type } from '@meshmart/kit';

/** Ids as the services accept them in paths. */
export const Id = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9._:@-]*$' });
export const ProductId = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
  description: 'product id',
});

export const BEARER = [{ bearerAuth: [] }] as const;

export const ProductSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  category: Type.String(),
  priceCents: Type.Integer({ minimum: 0 }),
  currency: Type.Literal('USD'),
  image: Type.String({ description: 'URL of the picture on this gateway: /api/v1/images/<file>' }),
});

export const ProductPageSchema = Type.Object({
  items: Type.Array(ProductSchema),
  page: Type.Integer({ minimum: 1 }),
  limit: Type.Integer({ minimum: 1 }),
  total: Type.Integer({ minimum: 0 }),
});

export const CategoriesSchema = Type.Object({
  items: Type.Array(Type.Object({ id: Type.String(), name: Type.String(), count: Type.Integer() })),
});

/** The cart's answer as the gateway passes it on: each line's picture is a URL on this gateway (`publicImage`). */
export const CartSchema = Type.Object({
  ...cartApi.CartSchema.properties,
  items: Type.Array(
    Type.Object({
      ...cartApi.CartLineSchema.properties,
      image: Type.String({ description: 'URL of the picture on this gateway' }),
    }),
  ),
});

const OrderLine = Type.Object({
  productId: Type.String(),
  name: Type.String(),
  unitPriceCents: Type.Integer(),
  quantity: Type.Integer(),
});

export const OrderSchema = Type.Object({
  id: Type.String(),
  userId: Type.String(),
  status: Type.Union([Type.Literal('PENDING'), Type.Literal('CONFIRMED'), Type.Literal('CANCELLED')]),
  reason: Type.Optional(Type.String({ description: 'why the order was cancelled' })),
  items: Type.Array(OrderLine),
  totalCents: Type.Integer(),
  currency: Type.String(),
  version: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  history: Type.Array(
    Type.Object({
      type: Type.String(),
      version: Type.Integer(),
      at: Type.String({ format: 'date-time' }),
      data: Type.Record(Type.String(), Type.Unknown()),
    }),
  ),
});

export const OrderListSchema = Type.Object({
  items: Type.Array(OrderSchema),
  page: Type.Integer(),
  limit: Type.Integer(),
  total: Type.Integer(),
});

export const OrderEventsSchema = Type.Object({
  items: Type.Array(
    Type.Object({
      type: Type.String(),
      version: Type.Integer(),
      occurredAt: Type.String({ format: 'date-time' }),
      data: Type.Record(Type.String(), Type.Unknown()),
    }),
  ),
});

/** Checkout's answer as the gateway passes it on: its order, status and saga. */
export const CheckoutAcceptedSchema = Type.Pick(checkoutApi.Accepted, ['orderId', 'status', 'sagaId']);

export const TokenSchema = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'seconds' }),
});

export const MeSchema = Type.Object({
  id: Type.String({ description: "the token's subject: the user id" }),
  sub: Type.String({ description: 'the same as id (the JWT claim name)' }),
  username: Type.String({ description: 'the name to show (the user id)' }),
  roles: Type.Array(Type.String()),
});

export const AuditPageSchema = Type.Object({
  items: Type.Array(
    Type.Object({
      seq: Type.Integer(),
      id: Type.String(),
      at: Type.String(),
      actor: Type.String(),
      action: Type.String(),
      resource: Type.String(),
      topic: Type.String(),
      traceId: Type.Union([Type.String(), Type.Null()]),
      hash: Type.String(),
      prevHash: Type.String(),
    }),
  ),
  limit: Type.Integer(),
  total: Type.Integer({ description: 'records matching the filters now' }),
  older: Type.Optional(
    Type.Integer({ description: 'pass as before for the next older page; absent on the oldest' }),
  ),
  newer: Type.Optional(
    Type.Integer({ description: 'pass as after for the next newer page; absent on the newest' }),
  ),
});

export const AuditVerifySchema = Type.Object({
  ok: Type.Boolean(),
  records: Type.Integer(),
  firstInvalid: Type.Optional(Type.Object({ seq: Type.Integer(), id: Type.String(), reason: Type.String() })),
});

/** The gateway's admin saga routes pass checkout's answers on as they are. */
export const SagaSchema = checkoutApi.SagaView;
export const SagaListSchema = checkoutApi.SagaList;

/** Catalog answers `/images/<file>`; clients get the gateway's own URL for it. */
export function publicImage(image: unknown): unknown {
  return typeof image === 'string' && image.startsWith('/images/') ? `/api/v1${image}` : image;
}
