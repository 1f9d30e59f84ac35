import { ApiRouter, Type } from '@meshmart/kit';
import type { InventoryService } from '../domain/inventory-service.ts';
import { viewOf } from '../domain/stock.ts';
import { Id, MAX_LINES, MAX_TTL_SECONDS, ReservationSchema, StockLineSchema } from './schemas.ts';

const ReservationParams = Type.Object({ id: Id });

export function reservationRoutes(service: InventoryService): ApiRouter {
  return new ApiRouter()
    .route({
      method: 'post',
      path: '/reservations',
      operationId: 'reserveStock',
      summary: 'Sets units aside for an order until expiresAt (StockReserved); all items or none',
      body: Type.Object(
        {
          reservationId: Id,
          orderId: Id,
          items: Type.Array(StockLineSchema, { minItems: 1, maxItems: MAX_LINES }),
          ttlSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_TTL_SECONDS })),
        },
        { additionalProperties: false },
      ),
      responses: {
        201: { description: 'the reservation, HELD', schema: ReservationSchema },
        200: {
          description: 'the same reservation id was reserved before: that reservation',
          schema: ReservationSchema,
        },
        400: { description: 'invalid request, or a product listed twice (duplicate-product)' },
        404: { description: 'inventory knows no such product (product-not-found, extension products)' },
        409: {
          description:
            'not enough stock (out-of-stock, extension products), the id was used for other items ' +
            '(reservation-conflict), or it is still being made (reservation-pending)',
        },
      },
      handler: async ({ body, trace }) => {
        const { created, reservation } = await service.reserve(body, { context: trace });
        return { status: created ? 201 : 200, body: viewOf(reservation) };
      },
    })
    .route({
      method: 'get',
      path: '/reservations/:id',
      operationId: 'getReservation',
      summary: 'One reservation',
      params: ReservationParams,
      responses: {
        200: { description: 'the reservation', schema: ReservationSchema },
        404: { description: 'no such reservation (reservation-not-found)' },
      },
      handler: async ({ params }) => ({ body: viewOf(await service.getReservation(params.id)) }),
    })
    .route({
      method: 'post',
      path: '/reservations/:id/commit',
      operationId: 'commitReservation',
      summary: 'The reserved units are sold (StockCommitted); repeating it answers the same',
      params: ReservationParams,
      responses: {
        200: { description: 'the reservation, COMMITTED', schema: ReservationSchema },
        404: { description: 'no such reservation (reservation-not-found)' },
        409: { description: 'the reservation is released, expired or rejected (reservation-not-held)' },
      },
      handler: async ({ params, trace }) => ({
        body: viewOf(await service.commit(params.id, { context: trace })),
      }),
    })
    .route({
      method: 'post',
      path: '/reservations/:id/release',
      operationId: 'releaseReservation',
      summary:
        'The reserved units return to stock (StockReleased); repeating it, or releasing an expired ' +
        'reservation, answers it as it is',
      params: ReservationParams,
      responses: {
        200: { description: 'the reservation, RELEASED (or EXPIRED, REJECTED)', schema: ReservationSchema },
        404: { description: 'no such reservation (reservation-not-found)' },
        409: { description: 'the reservation is committed (reservation-committed) or still being made' },
      },
      handler: async ({ params, trace }) => ({
        body: viewOf(await service.release(params.id, { context: trace })),
      }),
    });
}
