import { ApiRouter, Type } from '@meshmart/kit';
import { FAILURE_STATUSES, type Chaos } from '../adapters/chaos-payment-provider.ts';

const ChaosSchema = Type.Object({
  latencyMs: Type.Integer({ description: 'added before every provider call' }),
  failureRate: Type.Number({ description: 'fraction of provider calls that fail' }),
  failureStatus: Type.Integer({ description: 'status of an injected failure' }),
});
const settings = { 200: { description: 'the chaos settings now in force', schema: ChaosSchema } };

/** Run-time fault injection into the simulated provider, for tests and demos (as in AWS's retail-store sample). */
export function chaosRoutes(chaos: Chaos): ApiRouter {
  return new ApiRouter()
    .route({
      method: 'get',
      path: '/chaos',
      operationId: 'getChaos',
      summary: 'The injected latency and failure rate',
      tags: ['chaos'],
      responses: settings,
      handler: () => ({ body: chaos.settings }),
    })
    .route({
      method: 'put',
      path: '/chaos/latency',
      operationId: 'setChaosLatency',
      summary: 'Adds latency to every provider call',
      tags: ['chaos'],
      body: Type.Object(
        { ms: Type.Integer({ minimum: 0, maximum: 30_000 }) },
        { additionalProperties: false },
      ),
      responses: settings,
      handler: ({ body }) => ({ body: chaos.set({ latencyMs: body.ms }) }),
    })
    .route({
      method: 'put',
      path: '/chaos/failure-rate',
      operationId: 'setChaosFailureRate',
      summary:
        "Makes a fraction of provider calls fail (503 'provider-unavailable' unless status says otherwise)",
      tags: ['chaos'],
      body: Type.Object(
        {
          rate: Type.Number({ minimum: 0, maximum: 1 }),
          status: Type.Optional(Type.Union(FAILURE_STATUSES.map((s) => Type.Literal(s)))),
        },
        { additionalProperties: false },
      ),
      responses: settings,
      handler: ({ body }) => ({
        body: chaos.set({ failureRate: body.rate, ...(body.status ? { failureStatus: body.status } : {}) }),
      }),
    })
    .route({
      method: 'delete',
      path: '/chaos',
      operationId: 'resetChaos',
      summary: 'Stops injecting latency and failures',
      tags: ['chaos'],
      responses: settings,
      handler: () => ({ body: chaos.reset() }),
    });
}
