import { ApiRouter, Type } from '@meshmart/kit';
import { cartApi } from '@meshmart/contracts';
import type { CartService } from '../domain/cart-service.ts';

const { BoughtBody, CartSchema, ItemParams, setItemBody, UserParams } = cartApi;

export function cartRoutes(service: CartService): ApiRouter {
  const { maxQuantityPerItem, maxLines } = service.limits;
  return new ApiRouter()
    .route({
      method: 'get',
      path: '/carts/:userId',
      operationId: 'getCart',
      summary: "The cart of a user (empty when the user has none), every line at the catalog's price now",
      params: UserParams,
      responses: {
        200: { description: 'the cart', schema: CartSchema },
        503: { description: 'the catalog cannot be reached (catalog-unavailable)' },
      },
      handler: async ({ params, trace }) => ({ body: await service.get(params.userId, { context: trace }) }),
    })
    .route({
      method: 'put',
      path: '/carts/:userId/items/:productId',
      operationId: 'setCartItem',
      summary: 'Sets the quantity of a product in the cart, priced from the catalog now',
      params: ItemParams,
      body: setItemBody(maxQuantityPerItem),
      responses: {
        200: { description: 'the cart after the change', schema: CartSchema },
        404: { description: 'the catalog has no such product (product-not-found)' },
        409: { description: `the cart already holds ${maxLines} other products (cart-full)` },
        503: { description: 'the catalog cannot be reached (catalog-unavailable)' },
      },
      handler: async ({ params, body, trace }) => ({
        body: await service.setItem(params.userId, params.productId, body.quantity, { context: trace }),
      }),
    })
    .route({
      method: 'delete',
      path: '/carts/:userId/items/:productId',
      operationId: 'removeCartItem',
      summary: 'Removes a product from the cart (removing an absent one changes nothing)',
      params: ItemParams,
      responses: {
        200: { description: 'the cart after the change', schema: CartSchema },
        503: { description: 'the catalog cannot be reached (catalog-unavailable)' },
      },
      handler: async ({ params, trace }) => ({
        body: await service.removeItem(params.userId, params.productId, { context: trace }),
      }),
    })
    .route({
      method: 'post',
      path: '/carts/:userId/bought',
      operationId: 'removeBought',
      summary:
        'Takes what an order bought out of the cart (quantities down, lines at zero removed); once per order, so a ' +
        'retry changes nothing and lines added since the order stay',
      params: UserParams,
      body: BoughtBody,
      responses: {
        200: {
          description: 'done; removed is false when this order had already been taken out',
          schema: Type.Object({ removed: Type.Boolean() }),
        },
      },
      handler: async ({ params, body }) => ({
        body: { removed: await service.removeBought(params.userId, body.orderId, body.items) },
      }),
    })
    .route({
      method: 'delete',
      path: '/carts/:userId',
      operationId: 'clearCart',
      summary: 'Empties the cart',
      params: UserParams,
      responses: { 204: { description: 'the cart is empty' } },
      handler: async ({ params }) => {
        await service.clear(params.userId);
        return { status: 204 };
      },
    });
}
