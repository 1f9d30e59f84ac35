import { ApiRouter, AppError, Type } from '@meshmart/kit';
import type { Catalog } from '../domain/catalog.ts';
import { normalizeQuery } from '../domain/product.ts';
import {
  CategoriesSchema,
  ListQuery,
  ProductId,
  ProductPageSchema,
  ProductPatchSchema,
  ProductSchema,
} from './schemas.ts';

/** More than a cart's lines can be (CART_MAX_LINES, 50 by default). */
const MAX_PRICE_IDS = 100;

const PricesSchema = Type.Object({
  items: Type.Array(ProductSchema),
  missing: Type.Array(Type.String(), { description: 'ids the catalog does not know' }),
});

const ACTOR = /^[\w.@:-]{1,128}$/;

export function productRoutes(catalog: Catalog): ApiRouter {
  return new ApiRouter('')
    .route({
      method: 'get',
      path: '/products',
      operationId: 'listProducts',
      summary: 'Lists products, optionally searched and filtered by category, one page at a time',
      tags: ['products'],
      query: ListQuery,
      responses: { 200: { description: 'a page of products and the total', schema: ProductPageSchema } },
      handler: async ({ query }) => ({ body: await catalog.list(normalizeQuery(query)) }),
    })
    .route({
      method: 'get',
      path: '/products/:id',
      operationId: 'getProduct',
      summary: 'Gets one product',
      tags: ['products'],
      params: Type.Object({ id: ProductId }),
      responses: {
        200: { description: 'the product', schema: ProductSchema },
        404: { description: 'no such product' },
      },
      handler: async ({ params }) => ({ body: await catalog.product(params.id) }),
    })
    .route({
      method: 'get',
      path: '/prices',
      operationId: 'getPrices',
      summary:
        'The current name, picture and price of each product named, in one call (cart re-prices its lines)',
      tags: ['products'],
      query: Type.Object(
        {
          ids: Type.String({
            maxLength: MAX_PRICE_IDS * 129,
            pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}(,[A-Za-z0-9][A-Za-z0-9._-]{0,127})*$',
            description: `comma-separated product ids, at most ${MAX_PRICE_IDS}`,
          }),
        },
        { additionalProperties: false },
      ),
      responses: {
        200: {
          description: 'the products found, and the ids the catalog does not know',
          schema: PricesSchema,
        },
      },
      handler: async ({ query }) => {
        const ids = query.ids.split(',');
        if (ids.length > MAX_PRICE_IDS) {
          throw AppError.badRequest('the request is not valid', [
            { field: 'query/ids', message: `must name at most ${MAX_PRICE_IDS} products` },
          ]);
        }
        const items = await catalog.products(ids);
        const known = new Set(items.map((p) => p.id));
        return { body: { items, missing: [...new Set(ids)].filter((id) => !known.has(id)) } };
      },
    })
    .route({
      method: 'get',
      path: '/categories',
      operationId: 'listCategories',
      summary: 'Lists the categories with how many products each has',
      tags: ['products'],
      responses: { 200: { description: 'every category', schema: CategoriesSchema } },
      handler: async () => ({ body: { items: await catalog.categoryCounts() } }),
    })
    .route({
      method: 'put',
      path: '/admin/products/:id',
      operationId: 'updateProduct',
      summary: 'Changes a product (admin): invalidates the cache and publishes ProductUpdated',
      tags: ['admin'],
      params: Type.Object({ id: ProductId }),
      body: ProductPatchSchema,
      headers: {
        'X-Actor': { description: 'who made the change (set by the gateway), recorded in the event' },
      },
      responses: {
        200: { description: 'the product after the change', schema: ProductSchema },
        404: { description: 'no such product' },
        413: { description: 'the body is too large' },
        415: { description: 'the body is not JSON' },
        422: { description: 'unknown category' },
      },
      handler: async ({ params, body, req }) => {
        const actor = req.headers['x-actor'];
        if (actor !== undefined && (typeof actor !== 'string' || !ACTOR.test(actor))) {
          throw AppError.badRequest('the request is not valid', [
            { field: 'header/x-actor', message: `must match ${ACTOR.source}` },
          ]);
        }
        return { body: await catalog.update(params.id, body, actor) };
      },
    });
}
