import { checkoutApi } from '@meshmart/contracts';
import { ApiRouter, Type } from '@meshmart/kit';
import type { Upstreams } from '../adapters/upstreams.ts';
import { act, requireRole } from '../middleware/locals.ts';
import { AuditPageSchema, AuditVerifySchema, BEARER, Id, SagaListSchema, SagaSchema } from './schemas.ts';

const Text = (description: string) => Type.String({ minLength: 1, maxLength: 256, description });
const Seq = (description: string) =>
  Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description });

/** Operator views (admin role): the audit trail and the checkout sagas. Reading them is itself audited. */
export function adminRoutes(deps: { upstreams: Upstreams }): ApiRouter {
  const { upstreams } = deps;
  const denied = { 401: { description: 'no valid token' }, 403: { description: 'not an admin' } };
  return new ApiRouter('/api/v1')
    .route({
      method: 'get',
      path: '/admin/audit',
      operationId: 'listAuditRecords',
      summary: 'Audit records, newest first, by actor and resource, paged by a seq cursor',
      description:
        'Every admin read is itself recorded, so the trail grows while it is read: pages go by seq, never by ' +
        'number. The first page has no cursor; `before` = the `older` of a page gives the next older one, `after` ' +
        '= its `newer` the next newer one (both: the records between). A page read by its cursor never shifts.',
      tags: ['admin'],
      security: BEARER,
      query: Type.Object(
        {
          actor: Type.Optional(Text('a user id, or service:<name>')),
          resource: Type.Optional(Text('e.g. order/<id>')),
          before: Type.Optional(Seq('records older than this seq: the `older` of the page before')),
          after: Type.Optional(Seq('records just newer than this seq: the `newer` of the page after')),
          limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
        },
        { additionalProperties: false },
      ),
      responses: { 200: { description: 'a page of records', schema: AuditPageSchema }, ...denied },
      handler: async ({ query, res, trace, requestId }) => {
        requireRole(res, 'admin');
        act(res, 'audit.read', 'audit');
        const page = await upstreams.call('audit', 'GET', '/audit', {
          query: {
            limit: query.limit,
            ...(query.before !== undefined ? { before: query.before } : {}),
            ...(query.after !== undefined ? { after: query.after } : {}),
            ...(query.actor ? { actor: query.actor } : {}),
            ...(query.resource ? { resource: query.resource } : {}),
          },
          trace,
          requestId,
        });
        return { body: page.body };
      },
    })
    .route({
      method: 'get',
      path: '/admin/audit/verify',
      operationId: 'verifyAuditChain',
      summary: 'Walks the hash chain: ok, or the first record altered, re-linked or removed',
      tags: ['admin'],
      security: BEARER,
      responses: { 200: { description: 'the verdict', schema: AuditVerifySchema }, ...denied },
      handler: async ({ res, trace, requestId }) => {
        requireRole(res, 'admin');
        act(res, 'audit.verify', 'audit');
        const verdict = await upstreams.call('audit', 'GET', '/audit/verify', { trace, requestId });
        return { body: verdict.body };
      },
    })
    .route({
      method: 'get',
      path: '/admin/sagas',
      operationId: 'listSagas',
      summary: 'Checkout sagas, newest first; status=FAILED lists those needing an operator',
      tags: ['admin'],
      security: BEARER,
      query: checkoutApi.SagaListQuery,
      responses: {
        200: { description: 'the sagas', schema: SagaListSchema },
        ...denied,
      },
      handler: async ({ query, res, trace, requestId }) => {
        requireRole(res, 'admin');
        act(res, 'saga.list', 'sagas');
        const list = await upstreams.call('checkout', 'GET', '/sagas', {
          query: { limit: query.limit, ...(query.status ? { status: query.status } : {}) },
          trace,
          requestId,
        });
        return { body: list.body };
      },
    })
    .route({
      method: 'get',
      path: '/admin/sagas/:id',
      operationId: 'getSaga',
      summary: 'One checkout saga: its steps (attempts, errors) and log',
      tags: ['admin'],
      security: BEARER,
      params: Type.Object({ id: Id }),
      responses: {
        200: { description: 'the saga', schema: SagaSchema },
        404: { description: 'unknown saga' },
        ...denied,
      },
      handler: async ({ params, res, trace, requestId }) => {
        requireRole(res, 'admin');
        act(res, 'saga.read', `saga/${params.id}`);
        const saga = await upstreams.call('checkout', 'GET', `/sagas/${encodeURIComponent(params.id)}`, {
          trace,
          requestId,
        });
        return { body: saga.body };
      },
    });
}
