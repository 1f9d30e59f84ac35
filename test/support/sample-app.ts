import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ApiRouter,
  AppError,
  createLogger,
  createServiceApp,
  Health,
  Metrics,
  Type,
  serve,
  type HealthCheck,
  type RunningServer,
  type ServeOptions,
  type Logger,
} from '@meshmart/kit';

/** Captures log lines as parsed JSON, so tests can assert on what a service writes. */
export class LogCapture extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n'))
      if (line) this.lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  }
}

export const Item = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 64 }),
    name: Type.String({ minLength: 1, maxLength: 100 }),
    quantity: Type.Integer({ minimum: 1, maximum: 99 }),
  },
  { additionalProperties: false },
);

export interface SampleApp {
  readonly app: ReturnType<typeof createServiceApp>;
  readonly logs: LogCapture;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly health: Health;
  readonly items: Map<string, { id: string; name: string; quantity: number }>;
}

/** Listens on a free loopback port, the way main.ts would. */
export function serveSample(
  kit: SampleApp,
  options: Partial<
    Pick<
      ServeOptions,
      | 'graceMs'
      | 'delayMs'
      | 'closers'
      | 'headersTimeoutMs'
      | 'requestTimeoutMs'
      | 'idleTimeoutMs'
      | 'inProcess'
    >
  > = {},
): Promise<RunningServer> {
  return serve({
    app: kit.app,
    port: 0,
    host: '127.0.0.1',
    logger: kit.logger,
    health: kit.health,
    ...options,
  });
}

/** A small service built from the kit the way every MeshMart service is. */
export function sampleApp(
  options: {
    checks?: Record<string, HealthCheck>;
    bodyLimitBytes?: number;
    kit?: { logger: Logger; metrics: Metrics; health: Health };
  } = {},
): SampleApp {
  const logs = new LogCapture();
  const logger = options.kit?.logger ?? createLogger({ service: 'sample', level: 'info', destination: logs });
  const metrics = options.kit?.metrics ?? new Metrics({ service: 'sample', processMetrics: false });
  const health = options.kit?.health ?? new Health({ checks: options.checks ?? {}, timeoutMs: 200 });
  const items = new Map<string, { id: string; name: string; quantity: number }>();
  const api = new ApiRouter('/v1')
    .route({
      method: 'get',
      path: '/items',
      operationId: 'listItems',
      summary: 'List items',
      query: Type.Object({
        limit: Type.Integer({ minimum: 1, maximum: 50, default: 10 }),
        q: Type.Optional(Type.String({ maxLength: 20 })),
      }),
      responses: {
        200: {
          description: 'items',
          schema: Type.Object({ items: Type.Array(Item), limit: Type.Integer() }),
        },
      },
      handler: ({ query }) => ({
        body: {
          items: [...items.values()]
            .filter((i) => !query.q || i.name.includes(query.q))
            .slice(0, query.limit),
          limit: query.limit,
        },
      }),
    })
    .route({
      method: 'get',
      path: '/items/:id',
      operationId: 'getItem',
      summary: 'One item',
      params: Type.Object({ id: Type.String({ pattern: '^[a-z0-9-]+$' }) }),
      responses: { 200: { description: 'the item', schema: Item }, 404: { description: 'no such item' } },
      handler: ({ params }) => {
        const item = items.get(params.id);
        if (!item) throw AppError.notFound(`no item ${params.id}`);
        return { body: item };
      },
    })
    .route({
      method: 'put',
      path: '/items/:id',
      operationId: 'putItem',
      summary: 'Create or replace an item',
      params: Type.Object({ id: Type.String({ pattern: '^[a-z0-9-]+$' }) }),
      body: Type.Object(
        { name: Item.properties.name, quantity: Item.properties.quantity },
        { additionalProperties: false },
      ),
      headers: { 'Idempotency-Key': { description: 'makes retries safe', required: true } },
      responses: { 200: { description: 'stored', schema: Item } },
      handler: ({ params, body }) => {
        const item = { id: params.id, ...body };
        items.set(params.id, item);
        return { body: item };
      },
    })
    .route({
      method: 'get',
      path: '/slow',
      operationId: 'slow',
      summary: 'Answers after a delay',
      query: Type.Object({ ms: Type.Integer({ minimum: 0, maximum: 5000, default: 100 }) }),
      responses: { 200: { description: 'done' } },
      handler: async ({ query }) => {
        await sleep(query.ms);
        return { body: { waited: query.ms } };
      },
    })
    .route({
      method: 'get',
      path: '/boom',
      operationId: 'boom',
      summary: 'Fails with an unexpected error',
      responses: { 200: { description: 'never' } },
      handler: () => {
        throw new Error('secret internal detail at /srv/app.ts:42');
      },
    });
  const app = createServiceApp({
    service: 'sample',
    logger,
    metrics,
    health,
    routers: [api],
    openapi: { title: 'Sample', version: '1.0.0' },
    slowRequestMs: 250,
    ...(options.bodyLimitBytes ? { bodyLimitBytes: options.bodyLimitBytes } : {}),
  });
  return { app, logs, logger, metrics, health, items };
}
