import { ApiRouter, preferredWait, PREFER_DESCRIPTION } from '@meshmart/kit';
import type { OrderService } from '../application/order-service.ts';
import type { OrderProjector } from '../application/order-projector.ts';
import type { OrderCommand } from '../domain/order-aggregate.ts';
import {
  AsOfQuery,
  CancelBody,
  ConfirmBody,
  EventListSchema,
  OrderIdParams,
  OrderListQuerySchema,
  OrderListSchema,
  OrderViewSchema,
  PaymentAuthorizedBody,
  PlaceOrderBody,
  RebuildSchema,
  StockReservedBody,
} from './schemas.ts';

const TAGS = ['orders'];
/** Bound of `Prefer: wait`, below the callers' deadlines and any proxy's idle timeout. */
export const MAX_WAIT_SECONDS = 20;
const orderResponse = { description: 'the order after the command', schema: OrderViewSchema };
const commandErrors = {
  404: { description: 'unknown order' },
  409: { description: "'version-conflict' (stale expectedVersion) or 'invalid-transition'" },
  413: { description: 'body too large' },
};

/** The orders API: commands on the event-sourced aggregate, queries on the read model (or the events). */
export function orderRoutes(service: OrderService, projector: OrderProjector): ApiRouter {
  const router = new ApiRouter();
  router.route({
    method: 'post',
    path: '/orders',
    operationId: 'placeOrder',
    summary:
      'Places an order (OrderPlaced); the same order id with the same content answers the existing order',
    tags: TAGS,
    body: PlaceOrderBody,
    responses: {
      200: { description: 'the order already placed with this content', schema: OrderViewSchema },
      201: { description: 'the order was placed', schema: OrderViewSchema },
      409: { description: "'order-exists': the order id is taken by different content" },
      413: { description: 'body too large' },
    },
    handler: async ({ body, trace }) => {
      const { order, changed } = await service.execute(
        body.orderId,
        {
          kind: 'place',
          orderId: body.orderId,
          userId: body.userId,
          items: body.items,
          currency: body.currency,
        },
        { context: trace },
      );
      return { status: changed ? 201 : 200, body: order };
    },
  });

  const command = <
    B extends
      typeof StockReservedBody | typeof PaymentAuthorizedBody | typeof ConfirmBody | typeof CancelBody,
  >(
    path: string,
    operationId: string,
    summary: string,
    body: B,
    toCommand: (body: B['static']) => OrderCommand,
  ) =>
    router.route({
      method: 'post',
      path: `/orders/:id/${path}`,
      operationId,
      summary,
      tags: TAGS,
      params: OrderIdParams,
      body,
      responses: { 200: orderResponse, ...commandErrors },
      handler: async ({ params, body: b, trace }) => {
        const { order } = await service.execute(params.id, toCommand(b), {
          context: trace,
          ...(b.expectedVersion !== undefined ? { expectedVersion: b.expectedVersion } : {}),
        });
        return { body: order };
      },
    });
  command(
    'stock-reserved',
    'recordStockReserved',
    "Records the order's stock reservation (OrderStockReserved)",
    StockReservedBody,
    (b) => ({ kind: 'reserve-stock', reservationId: b.reservationId }),
  );
  command(
    'payment-authorized',
    'recordPaymentAuthorized',
    "Records the order's payment authorization (OrderPaymentAuthorized)",
    PaymentAuthorizedBody,
    (b) => ({ kind: 'authorize-payment', paymentId: b.paymentId }),
  );
  command('confirm', 'confirmOrder', 'Confirms a pending order (OrderConfirmed)', ConfirmBody, () => ({
    kind: 'confirm',
  }));
  command(
    'cancel',
    'cancelOrder',
    'Cancels a pending order with a reason (OrderCancelled)',
    CancelBody,
    (b) => ({
      kind: 'cancel',
      reason: b.reason,
    }),
  );

  router.route({
    method: 'get',
    path: '/orders',
    operationId: 'listOrders',
    summary: "Lists orders, newest first, from the read model (optionally one user's)",
    tags: TAGS,
    query: OrderListQuerySchema,
    responses: { 200: { description: 'a page of orders', schema: OrderListSchema } },
    handler: async ({ query }) => {
      const page = await service.list(query);
      return { body: { items: page.items, page: query.page, limit: query.limit, total: page.total } };
    },
  });

  router.route({
    method: 'get',
    path: '/orders/:id',
    operationId: 'getOrder',
    summary:
      'An order from the read model (folded from its events if the model has not caught up), or as of an instant',
    tags: TAGS,
    params: OrderIdParams,
    query: AsOfQuery,
    headers: {
      Prefer: { description: `${PREFER_DESCRIPTION} (CONFIRMED or CANCELLED); at most ${MAX_WAIT_SECONDS}` },
    },
    responses: {
      200: {
        description: 'the order',
        schema: OrderViewSchema,
        headers: { 'Preference-Applied': { description: 'wait=<seconds> when the request waited' } },
      },
      404: { description: 'unknown order, or the order did not exist yet at asOf' },
    },
    handler: async ({ params, query, req, res }) => {
      if (query.asOf) return { body: await service.asOf(params.id, new Date(query.asOf)) };
      const wait = preferredWait(req.headers.prefer, MAX_WAIT_SECONDS);
      if (!wait) return { body: await service.get(params.id) };
      const gone = new AbortController();
      // Only a client that went away before the answer cancels the wait (an abort makes an error, stack and all).
      res.once('close', () => res.writableEnded || gone.abort());
      const order = await service.get(params.id, { waitMs: wait * 1000, signal: gone.signal });
      return { body: order, headers: { 'preference-applied': `wait=${wait}` } };
    },
  });

  router.route({
    method: 'get',
    path: '/orders/:id/events',
    operationId: 'listOrderEvents',
    summary: "The order's stored events in version order",
    tags: TAGS,
    params: OrderIdParams,
    responses: {
      200: { description: 'the events', schema: EventListSchema },
      404: { description: 'unknown order' },
    },
    handler: async ({ params }) => {
      const events = await service.events(params.id);
      return {
        body: {
          items: events.map((e) => ({
            type: e.type,
            version: e.version,
            occurredAt: e.occurredAt,
            data: e.data,
          })),
        },
      };
    },
  });

  router.route({
    method: 'post',
    path: '/admin/read-model/rebuild',
    operationId: 'rebuildOrderReadModel',
    summary: 'Clears the read model and refolds every order from the event store',
    tags: ['admin'],
    responses: { 200: { description: 'what was rebuilt', schema: RebuildSchema } },
    handler: async () => ({ body: await projector.rebuild() }),
  });
  return router;
}
