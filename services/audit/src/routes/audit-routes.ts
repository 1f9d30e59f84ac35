import { ApiRouter, Type } from '@meshmart/kit';
import type { AuditLog } from '../adapters/audit-log.ts';
import type { AuditTrail } from '../domain/audit-trail.ts';

const Text = (description: string) => Type.String({ minLength: 1, maxLength: 256, description });

const RecordSchema = Type.Object({
  seq: Type.Integer(),
  id: Type.String({ description: 'the event id' }),
  at: Type.String({ description: 'when it happened' }),
  recordedAt: Type.String(),
  actor: Type.String({ description: 'user id, or service:<name>' }),
  action: Type.String({ description: 'the event type' }),
  resource: Type.String({ description: 'e.g. order/<id>, payment/<id>, product/<id>' }),
  topic: Type.String(),
  traceId: Type.Union([Type.String(), Type.Null()]),
  data: Type.Unknown(),
  prevHash: Type.String(),
  hash: Type.String(),
});

const VerifySchema = Type.Object({
  ok: Type.Boolean(),
  records: Type.Integer({ description: 'records in the chain' }),
  firstInvalid: Type.Optional(
    Type.Object({
      seq: Type.Integer(),
      id: Type.String(),
      reason: Type.Union([
        Type.Literal('hash mismatch'),
        Type.Literal('broken link'),
        Type.Literal('gap in sequence'),
      ]),
    }),
  ),
});

export function auditRoutes(deps: { log: AuditLog; trail: AuditTrail }): ApiRouter {
  return new ApiRouter()
    .route({
      method: 'get',
      path: '/audit',
      operationId: 'listAuditRecords',
      summary: 'Audit records, newest first, filtered by actor and resource',
      query: Type.Object(
        {
          actor: Type.Optional(Text('who: a user id or service:<name>')),
          resource: Type.Optional(Text('which resource, e.g. order/o-1')),
          page: Type.Integer({ minimum: 1, maximum: 100_000, default: 1 }),
          limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
        },
        { additionalProperties: false },
      ),
      responses: {
        200: {
          description: 'one page of records',
          schema: Type.Object({
            items: Type.Array(RecordSchema),
            page: Type.Integer(),
            limit: Type.Integer(),
            total: Type.Integer(),
          }),
        },
      },
      handler: async ({ query }) => {
        const { items, total } = await deps.log.list(query);
        return { body: { items, page: query.page, limit: query.limit, total } };
      },
    })
    .route({
      method: 'get',
      path: '/audit/verify',
      operationId: 'verifyAuditChain',
      summary: 'Walks the hash chain and names the first record that was altered, removed or relinked',
      responses: { 200: { description: 'the verdict', schema: VerifySchema } },
      handler: async () => ({ body: await deps.trail.verify() }),
    });
}
