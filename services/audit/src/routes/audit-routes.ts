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

const Seq = (description: string) =>
  Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description });

const AuditQuerySchema = Type.Object(
  {
    actor: Type.Optional(Text('who: a user id or service:<name>')),
    resource: Type.Optional(Text('which resource, e.g. order/o-1')),
    before: Type.Optional(Seq('the records older than this seq (the `older` of the page before)')),
    after: Type.Optional(Seq('the records just newer than this seq (the `newer` of the page after)')),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  },
  { additionalProperties: false },
);

const AuditPageSchema = Type.Object({
  items: Type.Array(RecordSchema),
  limit: Type.Integer(),
  total: Type.Integer({ description: 'records matching the filters now' }),
  older: Type.Optional(
    Type.Integer({ description: 'pass as before for the next older page; absent on the oldest' }),
  ),
  newer: Type.Optional(
    Type.Integer({ description: 'pass as after for the next newer page; absent on the newest' }),
  ),
});

export function auditRoutes(deps: { log: AuditLog; trail: AuditTrail }): ApiRouter {
  return new ApiRouter()
    .route({
      method: 'get',
      path: '/audit',
      operationId: 'listAuditRecords',
      summary: 'Audit records, newest first, filtered by actor and resource, paged by a seq cursor',
      description:
        'Records are only appended, so a page read by its cursor never shifts: `before` gives the records older ' +
        'than that seq, `after` those just newer (both: between the two); each page names the cursors of its ' +
        'neighbours (`older`, `newer`).',
      query: AuditQuerySchema,
      responses: { 200: { description: 'one page of records', schema: AuditPageSchema } },
      handler: async ({ query }) => ({ body: { ...(await deps.log.list(query)), limit: query.limit } }),
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
