import { ApiRouter, AppError, PROBLEM_CONTENT_TYPE, Type, type Metrics, type Reply } from '@meshmart/kit';
import type { StoredResponse } from '../adapters/idempotency-store.ts';
import type { Idempotency } from '../domain/idempotency.ts';
import { paymentView, type Payment, type PaymentOperation } from '../domain/payment.ts';
import type { PaymentService } from '../domain/payment-service.ts';
import { Cents, Id, IDEMPOTENCY_HEADER, PaymentSchema } from './schemas.ts';
import { paymentsMetrics } from '../metrics.ts';

export interface PaymentRoutesDeps {
  readonly payments: PaymentService;
  readonly idempotency: Idempotency;
  readonly metrics: Metrics;
}

const KEY = /^[\x21-\x7e]{1,255}$/;
const IdParams = Type.Object({ id: Id });
const AmountBody = Type.Object(
  { amountCents: Type.Optional(Cents) },
  { additionalProperties: false, description: 'omit amountCents for the whole amount' },
);

const mutationResponses = (ok: number, what: string) => ({
  [ok]: { description: what, schema: PaymentSchema },
  400: { description: 'invalid input or missing Idempotency-Key' },
  404: { description: 'no such payment' },
  409: { description: "'invalid-transition', an amount over the limit, or 'request-in-progress'" },
  422: { description: "'idempotency-key-reused' (same key, different request)" },
  503: { description: "'provider-unavailable' (nothing stored: retry with the same key)" },
});

export function paymentRoutes(deps: PaymentRoutesDeps): ApiRouter {
  const total = deps.metrics.counter(paymentsMetrics.operations);

  /** The idempotent envelope every mutation shares: key check, replay, metrics. */
  async function mutate(
    operation: PaymentOperation,
    req: { headers: Record<string, string | string[] | undefined>; originalUrl: string },
    body: unknown,
    ok: number,
    run: (key: string, resumed: boolean) => Promise<Payment>,
  ): Promise<Reply> {
    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string' || !KEY.test(key)) {
      throw AppError.badRequest('the request is not valid', [
        { field: 'header/idempotency-key', message: 'must be 1-255 visible ASCII characters' },
      ]);
    }
    const path = req.originalUrl.split('?')[0];
    let result;
    try {
      result = await deps.idempotency.run(
        { key, operation: `${operation} ${path}`, body, instance: path },
        async ({ resumed }): Promise<StoredResponse> => ({
          status: ok,
          body: paymentView(await run(key, resumed)),
        }),
      );
    } catch (err) {
      total.inc({ operation, outcome: err instanceof AppError && err.status < 500 ? 'rejected' : 'failed' });
      throw err;
    }
    const { response, replayed } = result;
    total.inc({ operation, outcome: replayed ? 'replayed' : outcomeOf(response.status) });
    return {
      status: response.status,
      body: response.body,
      headers: {
        ...(response.status >= 400 ? { 'content-type': PROBLEM_CONTENT_TYPE } : {}),
        ...(replayed ? { 'idempotent-replayed': 'true' } : {}),
      },
    };
  }

  return new ApiRouter()
    .route({
      method: 'post',
      path: '/payments/authorizations',
      operationId: 'authorizePayment',
      summary: 'Authorizes a card payment for an order',
      description:
        "tok_visa is approved; tok_decline and tok_insufficient_funds are declined (402 'payment-declined', the " +
        "declined payment is stored); any other token is 422 'invalid-payment-token'.",
      headers: IDEMPOTENCY_HEADER,
      body: Type.Object(
        {
          orderId: Id,
          amountCents: Cents,
          currency: Type.Literal('USD'),
          paymentToken: Type.String({ minLength: 1, maxLength: 64 }),
        },
        { additionalProperties: false },
      ),
      responses: {
        ...mutationResponses(201, 'the payment, AUTHORIZED'),
        402: { description: "'payment-declined' with extensions paymentId and reason" },
      },
      handler: ({ req, body, trace }) =>
        mutate('authorize', req, body, 201, (key, resumed) =>
          deps.payments.authorize(body, trace, key, { firstRun: !resumed }),
        ),
    })
    .route({
      method: 'post',
      path: '/payments/:id/capture',
      operationId: 'capturePayment',
      summary: 'Captures an authorized payment (all of it, or amountCents of it)',
      headers: IDEMPOTENCY_HEADER,
      params: IdParams,
      body: AmountBody,
      responses: mutationResponses(200, 'the payment, CAPTURED'),
      handler: ({ req, params, body, trace }) =>
        mutate('capture', req, body, 200, () => deps.payments.capture(params.id, body.amountCents, trace)),
    })
    .route({
      method: 'post',
      path: '/payments/:id/void',
      operationId: 'voidPayment',
      summary: 'Releases an authorization without capturing it',
      headers: IDEMPOTENCY_HEADER,
      params: IdParams,
      responses: mutationResponses(200, 'the payment, VOIDED'),
      handler: ({ req, params, trace }) =>
        mutate('void', req, null, 200, () => deps.payments.void(params.id, trace)),
    })
    .route({
      method: 'post',
      path: '/payments/:id/refunds',
      operationId: 'refundPayment',
      summary: 'Refunds captured money (all that is left, or amountCents of it)',
      headers: IDEMPOTENCY_HEADER,
      params: IdParams,
      body: AmountBody,
      responses: mutationResponses(200, 'the payment, REFUNDED or PARTIALLY_REFUNDED'),
      handler: ({ req, params, body, trace }) =>
        mutate('refund', req, body, 200, () => deps.payments.refund(params.id, body.amountCents, trace)),
    })
    .route({
      method: 'get',
      path: '/payments/:id',
      operationId: 'getPayment',
      summary: 'One payment',
      params: IdParams,
      responses: {
        200: { description: 'the payment', schema: PaymentSchema },
        404: { description: 'no such payment' },
      },
      handler: async ({ params }) => ({ body: paymentView(await deps.payments.get(params.id)) }),
    })
    .route({
      method: 'get',
      path: '/payments',
      operationId: 'listPaymentsOfOrder',
      summary: "An order's payments, oldest first",
      query: Type.Object({ orderId: Id }, { additionalProperties: false }),
      responses: {
        200: { description: 'the payments', schema: Type.Object({ items: Type.Array(PaymentSchema) }) },
      },
      handler: async ({ query }) => ({
        body: { items: (await deps.payments.findByOrder(query.orderId)).map(paymentView) },
      }),
    });
}

function outcomeOf(status: number): string {
  if (status === 402) return 'declined';
  return status < 400 ? 'succeeded' : 'rejected';
}
