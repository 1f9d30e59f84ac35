import { ApiRouter, AppError, Type, type Static } from '@meshmart/kit';
import { checkoutApi } from '@meshmart/contracts';
import type { SagaRepository } from '../adapters/saga-repository.ts';
import type { CheckoutContext } from '../domain/checkout-saga.ts';
import { checkoutStatus, type CheckoutService } from '../domain/checkout-service.ts';
import type { Saga } from '../domain/saga.ts';

const {
  Accepted,
  Id,
  isIdempotencyKey,
  SagaList,
  SagaView,
  SCOPED_IDEMPOTENCY_KEY_MAX_LENGTH,
  ScopedIdempotencyKey,
  StartBody,
} = checkoutApi;

type SagaViewT = Static<typeof SagaView>;

/** The saga as checkout answers it (`checkoutApi.SagaView`). */
export function sagaView(saga: Saga<CheckoutContext>): SagaViewT {
  const c = saga.context;
  return {
    sagaId: saga.id,
    orderId: saga.orderId,
    userId: saga.userId,
    status: saga.status,
    checkoutStatus: checkoutStatus(saga),
    ...(saga.reason !== undefined ? { reason: saga.reason } : {}),
    totalCents: c.totalCents,
    currency: c.currency,
    reservationId: c.reservationId,
    ...(c.paymentId !== undefined ? { paymentId: c.paymentId } : {}),
    steps: saga.steps.map((s) => ({ ...s })),
    log: saga.log,
    createdAt: saga.createdAt,
    updatedAt: saga.updatedAt,
    ...(saga.finishedAt !== undefined ? { finishedAt: saga.finishedAt } : {}),
  };
}

export interface CheckoutRoutesDeps {
  readonly checkout: CheckoutService;
  readonly repository: SagaRepository<CheckoutContext>;
}

export function checkoutRouter(deps: CheckoutRoutesDeps): ApiRouter {
  const { checkout, repository } = deps;
  const find = async (sagaId: string): Promise<{ body: SagaViewT }> => {
    const saga = await repository.get(sagaId);
    if (!saga) throw AppError.notFound(`saga ${sagaId} not found`);
    return { body: sagaView(saga) };
  };
  const SagaParams = Type.Object({ sagaId: Id });

  return new ApiRouter()
    .route({
      method: 'post',
      path: '/checkouts',
      operationId: 'startCheckout',
      summary: 'Starts a checkout saga for the user’s cart',
      description:
        'Answers at once; the saga (place order, reserve stock, authorize payment, confirm, commit, capture) runs ' +
        'in the background. The same Idempotency-Key again returns the same saga and order.',
      tags: ['checkout'],
      body: StartBody,
      headers: {
        'Idempotency-Key': {
          description:
            `one key per checkout attempt: 1-${SCOPED_IDEMPOTENCY_KEY_MAX_LENGTH} printable characters, a client's ` +
            'key or one its caller scoped to the user as <userId>:<key>',
          required: true,
          schema: ScopedIdempotencyKey,
        },
      },
      responses: {
        202: { description: 'the saga was started (or had been, with this key)', schema: Accepted },
        409: {
          description:
            'the cart is empty (cart-empty), has a product the catalog no longer has (product-unavailable), or ' +
            'costs another total than expectedTotalCents (price-changed)',
        },
        422: {
          description:
            'the key was used for a different request (idempotency-key-reused), a product is priced 0 ' +
            '(invalid-price), or the total is over the payment limit (amount-over-limit)',
        },
        429: {
          description:
            'this replica drives SAGA_MAX_IN_FLIGHT checkouts already (checkout-busy): try again after Retry-After',
        },
        503: { description: 'the cart could not be read' },
      },
      handler: async ({ body, req, trace, log }) => {
        const key = req.headers['idempotency-key'];
        if (!isIdempotencyKey(key, SCOPED_IDEMPOTENCY_KEY_MAX_LENGTH)) {
          throw AppError.badRequest('the request is not valid', [
            {
              field: 'header/idempotency-key',
              message: `must be 1-${SCOPED_IDEMPOTENCY_KEY_MAX_LENGTH} printable characters`,
            },
          ]);
        }
        const { saga, created } = await checkout.start({
          userId: body.userId,
          paymentToken: body.paymentToken,
          idempotencyKey: key,
          ...(body.expectedTotalCents !== undefined ? { expectedTotalCents: body.expectedTotalCents } : {}),
          trace,
        });
        if (created) log.info({ sagaId: saga.id, orderId: saga.orderId }, 'checkout started');
        return {
          status: 202,
          headers: {
            location: `/checkouts/${saga.id}`,
            ...(created ? {} : { 'idempotent-replayed': 'true' }),
          },
          body: {
            sagaId: saga.id,
            orderId: saga.orderId,
            status: created ? 'PENDING' : checkoutStatus(saga),
            sagaStatus: saga.status,
          },
        };
      },
    })
    .route({
      method: 'get',
      path: '/checkouts/:sagaId',
      operationId: 'getCheckout',
      summary: 'A checkout: its saga’s status, steps and log',
      tags: ['checkout'],
      params: SagaParams,
      responses: {
        200: { description: 'the checkout', schema: SagaView },
        404: { description: 'unknown saga' },
      },
      handler: ({ params }) => find(params.sagaId),
    })
    .route({
      method: 'get',
      path: '/sagas/:sagaId',
      operationId: 'getSaga',
      summary: 'A saga with its steps (attempts, errors) and log',
      tags: ['sagas'],
      params: SagaParams,
      responses: { 200: { description: 'the saga', schema: SagaView }, 404: { description: 'unknown saga' } },
      handler: ({ params }) => find(params.sagaId),
    })
    .route({
      method: 'get',
      path: '/sagas',
      operationId: 'listSagas',
      summary: 'Sagas, newest first; status=FAILED lists those needing an operator',
      tags: ['sagas'],
      query: checkoutApi.SagaListQuery,
      responses: {
        200: { description: 'the sagas', schema: SagaList },
      },
      handler: async ({ query }) => {
        const items = await repository.list({ status: query.status, limit: query.limit });
        return { body: { items: items.map(sagaView), limit: query.limit } };
      },
    });
}
