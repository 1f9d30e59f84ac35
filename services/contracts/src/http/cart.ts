/**
 * The cart's HTTP contract: what its routes take and answer. The cart validates with it; the gateway composes its
 * public routes from it, so the two never disagree on what a cart request may hold.
 */
import { Type } from '@sinclair/typebox';

/** The cart's MAX_QUANTITY_PER_ITEM unless configured: the limit the gateway's document states. */
export const DEFAULT_MAX_QUANTITY_PER_ITEM = 10;

/** User and product ids as the cart accepts them in paths. */
export const Id = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9_.:@-]*$' });

export const CartLineSchema = Type.Object({
  productId: Type.String(),
  name: Type.String(),
  image: Type.String(),
  unitPriceCents: Type.Integer({
    minimum: 0,
    description: "the catalog's price now: what a checkout charges",
  }),
  quantity: Type.Integer({ minimum: 1 }),
  lineTotalCents: Type.Integer({ minimum: 0 }),
  priceWhenAddedCents: Type.Optional(
    Type.Integer({
      minimum: 0,
      description: 'the price when the line was put; only when it has changed since',
    }),
  ),
  unavailable: Type.Optional(
    Type.Literal(true, { description: 'the catalog no longer has the product; a checkout is refused' }),
  ),
});

export const CartSchema = Type.Object({
  userId: Type.String(),
  items: Type.Array(CartLineSchema),
  totalCents: Type.Integer({ minimum: 0 }),
  currency: Type.Literal('USD'),
  itemCount: Type.Integer({ minimum: 0 }),
});

export const UserParams = Type.Object({ userId: Id });
export const ItemParams = Type.Object({ userId: Id, productId: Id });

/** The body of setting a line's quantity, up to the cart's MAX_QUANTITY_PER_ITEM. */
export function setItemBody(maxQuantityPerItem: number) {
  return Type.Object(
    {
      quantity: Type.Integer({
        minimum: 1,
        maximum: maxQuantityPerItem,
        description: `1 to the cart's MAX_QUANTITY_PER_ITEM (${maxQuantityPerItem})`,
      }),
    },
    { additionalProperties: false },
  );
}

export const BoughtBody = Type.Object(
  {
    orderId: Id,
    items: Type.Array(
      Type.Object(
        { productId: Id, quantity: Type.Integer({ minimum: 1, maximum: 1_000_000 }) },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 1000 },
    ),
  },
  { additionalProperties: false },
);
