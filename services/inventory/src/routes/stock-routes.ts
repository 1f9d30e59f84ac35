import { ApiRouter, AppError, Type } from '@meshmart/kit';
import type { InventoryService } from '../domain/inventory-service.ts';
import { Id, MAX_AVAILABLE, StockLevelSchema } from './schemas.ts';

const MAX_IDS = 100;
const ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

export function stockRoutes(service: InventoryService): ApiRouter {
  return new ApiRouter()
    .route({
      method: 'get',
      path: '/stock/:productId',
      operationId: 'getStock',
      summary: 'Units available and reserved of one product',
      params: Type.Object({ productId: Id }),
      responses: {
        200: { description: 'the stock of the product', schema: StockLevelSchema },
        404: { description: 'inventory knows no such product (product-not-found)' },
      },
      handler: async ({ params }) => ({ body: await service.getStock(params.productId) }),
    })
    .route({
      method: 'get',
      path: '/stock',
      operationId: 'listStock',
      summary: 'Stock of several products (unknown ones are left out)',
      query: Type.Object({
        ids: Type.String({ minLength: 1, maxLength: 13_000, description: 'comma-separated product ids' }),
      }),
      responses: {
        200: {
          description: 'the stock of the known products',
          schema: Type.Object({ items: Type.Array(StockLevelSchema) }),
        },
      },
      handler: async ({ query }) => {
        const ids = query.ids.split(',').map((s) => s.trim());
        const bad = ids.filter((id) => !ID.test(id));
        if (bad.length > 0 || ids.length > MAX_IDS) {
          throw AppError.badRequest('the request is not valid', [
            { field: 'query/ids', message: `must be 1 to ${MAX_IDS} comma-separated product ids` },
          ]);
        }
        return { body: { items: await service.listStock(ids) } };
      },
    })
    .route({
      method: 'put',
      path: '/admin/stock/:productId',
      operationId: 'setStock',
      summary: 'Sets the units available for sale (StockAdjusted); reserved units are not touched',
      params: Type.Object({ productId: Id }),
      body: Type.Object(
        { available: Type.Integer({ minimum: 0, maximum: MAX_AVAILABLE }) },
        { additionalProperties: false },
      ),
      responses: { 200: { description: 'the stock after the change', schema: StockLevelSchema } },
      handler: async ({ params, body, trace }) => ({
        body: await service.setStock(params.productId, body.available, { context: trace }),
      }),
    });
}
