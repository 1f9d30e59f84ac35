import { Type } from '@meshmart/kit';
import { MAX_LIMIT, DEFAULT_LIMIT } from '../domain/product.ts';

export const MAX_PAGE = 10000;
export const MAX_PRICE_CENTS = 10_000_000;

export const ProductId = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
  description: 'product id',
});

export const ProductSchema = Type.Object(
  {
    id: ProductId,
    name: Type.String(),
    description: Type.String(),
    category: Type.String({ description: 'category id' }),
    priceCents: Type.Integer({ minimum: 0, description: 'price in integer cents' }),
    currency: Type.Literal('USD'),
    image: Type.String({ description: 'path of the picture on this service: /images/<file>' }),
  },
  { description: 'a product' },
);

export const ProductPageSchema = Type.Object({
  items: Type.Array(ProductSchema),
  page: Type.Integer({ minimum: 1 }),
  limit: Type.Integer({ minimum: 1 }),
  total: Type.Integer({ minimum: 0, description: 'products matching the query in all' }),
});

export const ListQuery = Type.Object({
  q: Type.Optional(
    Type.String({
      maxLength: 100,
      description: 'text searched (case-insensitive) in name, description and category',
    }),
  ),
  category: Type.Optional(Type.String({ maxLength: 64, description: 'category id; empty means all' })),
  page: Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: 1 }),
  limit: Type.Integer({ minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT }),
});

export const CategoriesSchema = Type.Object({
  items: Type.Array(
    Type.Object({ id: Type.String(), name: Type.String(), count: Type.Integer({ minimum: 0 }) }),
  ),
});

export const ProductPatchSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 120 })),
    description: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
    priceCents: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_PRICE_CENTS })),
    category: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false, minProperties: 1, description: 'the fields to change; at least one' },
);

export const ImageFile = Type.String({
  maxLength: 128,
  pattern: '^[a-z0-9][a-z0-9-]*\\.svg$',
  description: 'file name of a product picture',
});
