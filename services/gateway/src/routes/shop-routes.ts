import { cartApi, checkoutApi } from '@meshmart/contracts';
import { ApiRouter, AppError, preferredWait, PREFER_DESCRIPTION, Type } from '@meshmart/kit';
import type { HttpResponse } from '@meshmart/kit/http';
import type { CallOptions, Upstreams } from '../adapters/upstreams.ts';
import { hasRole, type Principal } from '../domain/users.ts';
import { act, requireUser } from '../middleware/locals.ts';
import {
  BEARER,
  CartSchema,
  CheckoutAcceptedSchema,
  Id,
  MeSchema,
  OrderEventsSchema,
  OrderListSchema,
  OrderSchema,
  ProductId,
  publicImage,
} from './schemas.ts';

const { ExpectedTotalCents, IDEMPOTENCY_KEY_MAX_LENGTH, IdempotencyKey, isIdempotencyKey, PaymentToken } =
  checkoutApi;

type Json = Record<string, unknown>;
/** At the cart's default MAX_QUANTITY_PER_ITEM: the document states the limit the server enforces. */
const SetCartItemBody = cartApi.setItemBody(cartApi.DEFAULT_MAX_QUANTITY_PER_ITEM);
/** Bound of `Prefer: wait` on an order (orders holds the answer at most 20 s too). */
const MAX_WAIT_SECONDS = 20;
/** Checkout's own rules for what it is given, less the user id (the token's subject). */
const CheckoutBody = Type.Object(
  { paymentToken: PaymentToken, expectedTotalCents: Type.Optional(ExpectedTotalCents) },
  { additionalProperties: false },
);

const cartView = (cart: Json): Json => ({
  ...cart,
  items: Array.isArray(cart.items)
    ? (cart.items as Json[]).map((line) => ({ ...line, image: publicImage(line.image) }))
    : [],
});

/**
 * The signed-in user's own resources. The user id always comes from the token's subject, never from the request,
 * so nobody reaches another user's cart or orders; someone else's order is a 404, as if it did not exist.
 */
export function shopRoutes(deps: { upstreams: Upstreams }): ApiRouter {
  const { upstreams } = deps;
  const cartPath = (userId: string) => `/carts/${encodeURIComponent(userId)}`;

  /** The order if it is this user's (admins see every order); a 404 otherwise. */
  const ownOrder = async (
    user: Principal,
    orderId: string,
    call: CallOptions,
    asOf?: string,
  ): Promise<Json> => (await ownOrderResponse(user, orderId, call, asOf)).body;

  const ownOrderResponse = async (
    user: Principal,
    orderId: string,
    call: CallOptions,
    asOf?: string,
  ): Promise<HttpResponse<Json>> => {
    const res = await upstreams.call<Json>('orders', 'GET', `/orders/${encodeURIComponent(orderId)}`, {
      ...call,
      ...(asOf ? { query: { asOf } } : {}),
    });
    if (res.body.userId !== user.id && !hasRole(user, 'admin'))
      throw AppError.notFound(`order ${orderId} not found`);
    return res;
  };

  return new ApiRouter('/api/v1')
    .route({
      method: 'get',
      path: '/me',
      operationId: 'getMe',
      summary: 'Who the token belongs to',
      tags: ['account'],
      security: BEARER,
      responses: {
        200: { description: 'the user', schema: MeSchema },
        401: { description: 'no valid token' },
      },
      handler: ({ res }) => {
        const user = requireUser(res);
        return { body: { id: user.id, sub: user.id, username: user.id, roles: [...user.roles] } };
      },
    })
    .route({
      method: 'get',
      path: '/cart',
      operationId: 'getCart',
      summary: "The user's cart (empty when there is none)",
      tags: ['cart'],
      security: BEARER,
      responses: {
        200: { description: 'the cart', schema: CartSchema },
        401: { description: 'no valid token' },
      },
      handler: async ({ res, trace, requestId }) => {
        const user = requireUser(res);
        const cart = await upstreams.call<Json>('cart', 'GET', cartPath(user.id), { trace, requestId });
        return { body: cartView(cart.body) };
      },
    })
    .route({
      method: 'put',
      path: '/cart/items/:productId',
      operationId: 'setCartItem',
      summary: 'Sets the quantity of a product in the cart',
      tags: ['cart'],
      security: BEARER,
      params: Type.Object({ productId: ProductId }),
      body: SetCartItemBody,
      responses: {
        200: { description: 'the cart after the change', schema: CartSchema },
        401: { description: 'no valid token' },
        404: { description: 'no such product (product-not-found)' },
        409: { description: 'the cart is full (cart-full)' },
        503: { description: 'the catalog or the cart cannot be reached' },
      },
      handler: async ({ params, body, res, trace, requestId }) => {
        const user = requireUser(res);
        act(res, 'cart.set-item', `product/${params.productId}`);
        const cart = await upstreams.call<Json>(
          'cart',
          'PUT',
          `${cartPath(user.id)}/items/${encodeURIComponent(params.productId)}`,
          { body, trace, requestId },
        );
        return { body: cartView(cart.body) };
      },
    })
    .route({
      method: 'delete',
      path: '/cart/items/:productId',
      operationId: 'removeCartItem',
      summary: 'Removes a product from the cart',
      tags: ['cart'],
      security: BEARER,
      params: Type.Object({ productId: ProductId }),
      responses: {
        200: { description: 'the cart after the change', schema: CartSchema },
        401: { description: 'no valid token' },
      },
      handler: async ({ params, res, trace, requestId }) => {
        const user = requireUser(res);
        act(res, 'cart.remove-item', `product/${params.productId}`);
        const cart = await upstreams.call<Json>(
          'cart',
          'DELETE',
          `${cartPath(user.id)}/items/${encodeURIComponent(params.productId)}`,
          { trace, requestId },
        );
        return { body: cartView(cart.body) };
      },
    })
    .route({
      method: 'delete',
      path: '/cart',
      operationId: 'clearCart',
      summary: 'Empties the cart',
      tags: ['cart'],
      security: BEARER,
      responses: { 204: { description: 'the cart is empty' }, 401: { description: 'no valid token' } },
      handler: async ({ res, trace, requestId }) => {
        const user = requireUser(res);
        act(res, 'cart.clear', `cart/${user.id}`);
        await upstreams.call('cart', 'DELETE', cartPath(user.id), { trace, requestId });
        return { status: 204 };
      },
    })
    .route({
      method: 'post',
      path: '/checkout',
      operationId: 'checkout',
      summary: 'Buys what is in the cart; the order is PENDING until the saga confirms or cancels it',
      description:
        'paymentToken `tok_visa` (or `tok_mastercard`) succeeds, `tok_decline` is declined and the order ends ' +
        'CANCELLED with the reason. The same Idempotency-Key again returns the same order. The order is priced ' +
        "from the catalog now (the cart shows today's prices, with priceWhenAddedCents where one changed); send " +
        'expectedTotalCents, the total you showed, to have any other total refused (409 price-changed).',
      tags: ['checkout'],
      security: BEARER,
      body: CheckoutBody,
      headers: {
        'Idempotency-Key': {
          description: `one key per checkout attempt (1-${IDEMPOTENCY_KEY_MAX_LENGTH} printable characters), e.g. a UUID`,
          required: true,
          schema: IdempotencyKey,
        },
      },
      responses: {
        202: { description: 'the checkout was accepted', schema: CheckoutAcceptedSchema },
        401: { description: 'no valid token' },
        409: {
          description:
            'the cart is empty (cart-empty), has a product the catalog no longer has (product-unavailable), or ' +
            'costs another total than expectedTotalCents (price-changed)',
        },
        422: {
          description:
            'the key was used for a different request (idempotency-key-reused), a product is priced 0 ' +
            '(invalid-price), or the total is over the payment limit of 1,000,000.00 (amount-over-limit)',
        },
      },
      handler: async ({ body, req, res, trace, requestId }) => {
        const user = requireUser(res);
        const key = req.headers['idempotency-key'];
        if (!isIdempotencyKey(key, IDEMPOTENCY_KEY_MAX_LENGTH)) {
          throw AppError.badRequest('the request is not valid', [
            {
              field: 'header/idempotency-key',
              message: `must be 1-${IDEMPOTENCY_KEY_MAX_LENGTH} printable characters`,
            },
          ]);
        }
        act(res, 'checkout.start', `cart/${user.id}`);
        const started = await upstreams.call<{ sagaId: string; orderId: string; status: string }>(
          'checkout',
          'POST',
          '/checkouts',
          {
            body: {
              userId: user.id,
              paymentToken: body.paymentToken,
              ...(body.expectedTotalCents !== undefined
                ? { expectedTotalCents: body.expectedTotalCents }
                : {}),
            },
            // Keys are the user's: two users choosing the same key never meet. Checkout's limit on a scoped key
            // makes room for a user id and a key of IDEMPOTENCY_KEY_MAX_LENGTH.
            idempotencyKey: `${user.id}:${key}`,
            trace,
            requestId,
          },
        );
        act(res, 'checkout.start', `order/${started.body.orderId}`);
        return {
          status: 202,
          headers: { location: `/api/v1/orders/${started.body.orderId}` },
          body: { orderId: started.body.orderId, status: started.body.status, sagaId: started.body.sagaId },
        };
      },
    })
    .route({
      method: 'get',
      path: '/orders',
      operationId: 'listOrders',
      summary: "The user's orders, newest first",
      tags: ['orders'],
      security: BEARER,
      query: Type.Object(
        {
          page: Type.Integer({ minimum: 1, maximum: 10_000, default: 1 }),
          limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
        },
        { additionalProperties: false },
      ),
      responses: {
        200: { description: 'a page of orders', schema: OrderListSchema },
        401: { description: 'no valid token' },
      },
      handler: async ({ query, res, trace, requestId }) => {
        const user = requireUser(res);
        const page = await upstreams.call('orders', 'GET', '/orders', {
          query: { userId: user.id, page: query.page, limit: query.limit },
          trace,
          requestId,
        });
        return { body: page.body };
      },
    })
    .route({
      method: 'get',
      path: '/orders/:id',
      operationId: 'getOrder',
      summary: 'One of the user’s orders with its history; `asOf` gives its state at that instant',
      tags: ['orders'],
      security: BEARER,
      params: Type.Object({ id: Id }),
      query: Type.Object(
        { asOf: Type.Optional(Type.String({ format: 'date-time', description: 'ISO 8601 instant' })) },
        { additionalProperties: false },
      ),
      headers: {
        Prefer: {
          description: `${PREFER_DESCRIPTION} (CONFIRMED or CANCELLED) instead of polling; at most ${MAX_WAIT_SECONDS}`,
        },
      },
      responses: {
        200: {
          description: 'the order',
          schema: OrderSchema,
          headers: { 'Preference-Applied': { description: 'wait=<seconds> when the request waited' } },
        },
        401: { description: 'no valid token' },
        404: { description: 'no such order of this user (or it did not exist yet at asOf)' },
      },
      handler: async ({ params, query, req, res, trace, requestId }) => {
        const user = requireUser(res);
        const wait = query.asOf ? undefined : preferredWait(req.headers.prefer, MAX_WAIT_SECONDS);
        if (!wait) return { body: await ownOrder(user, params.id, { trace, requestId }, query.asOf) };
        // Passed on to orders, which holds the answer until the order settles; our deadline allows for the wait.
        const gone = new AbortController();
        // Only a client that went away before the answer cancels the wait (an abort makes an error, stack and all).
        res.once('close', () => res.writableEnded || gone.abort());
        const answer = await ownOrderResponse(user, params.id, {
          trace,
          requestId,
          headers: { prefer: `wait=${wait}` },
          timeoutMs: wait * 1000 + 2000,
          signal: gone.signal,
        });
        const applied = answer.headers['preference-applied'];
        return {
          body: answer.body,
          ...(typeof applied === 'string' ? { headers: { 'preference-applied': applied } } : {}),
        };
      },
    })
    .route({
      method: 'get',
      path: '/orders/:id/events',
      operationId: 'listOrderEvents',
      summary: "The order's events in order: the timeline of what happened to it",
      tags: ['orders'],
      security: BEARER,
      params: Type.Object({ id: Id }),
      responses: {
        200: { description: 'the events', schema: OrderEventsSchema },
        401: { description: 'no valid token' },
        404: { description: 'no such order of this user' },
      },
      handler: async ({ params, res, trace, requestId }) => {
        const user = requireUser(res);
        await ownOrder(user, params.id, { trace, requestId });
        const events = await upstreams.call(
          'orders',
          'GET',
          `/orders/${encodeURIComponent(params.id)}/events`,
          {
            trace,
            requestId,
          },
        );
        return { body: events.body };
      },
    });
}
