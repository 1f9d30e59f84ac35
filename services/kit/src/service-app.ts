import { randomUUID } from 'node:crypto';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import express, { type Express, type RequestHandler } from 'express';
import type { ApiRouter, OpenApiInfo } from './api.ts';
import type { Health } from './health.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import { notFoundHandler, problemHandler } from './problem-middleware.ts';

export interface ServiceAppOptions {
  readonly service: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly health: Health;
  /** Routers mounted at their prefix, in order. */
  readonly routers?: readonly ApiRouter[];
  /** Served as /openapi.json, generated from the routers' schemas. */
  readonly openapi?: OpenApiInfo;
  /** @default 102400 */
  readonly bodyLimitBytes?: number;
  /** Requests slower than this are logged even when they succeed. @default 1000 */
  readonly slowRequestMs?: number;
  /** Middleware that runs after the kit's own and before the routes (auth, rate limits, ...). */
  readonly middleware?: readonly RequestHandler[];
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

function isInfrastructure(url: string): boolean {
  return url.startsWith('/healthz/') || url === '/metrics';
}

/**
 * One middleware for request id, server span, RED metrics and the access log: a single 'close' listener per request
 * instead of four, which is most of what keeps the kit close to bare Express.
 */
export function observe(options: {
  logger: Logger;
  metrics: Metrics;
  slowRequestMs: number;
}): RequestHandler {
  const { logger, metrics, slowRequestMs } = options;
  const tracer = trace.getTracer('@meshmart/kit');
  return (req, res, next) => {
    if (isInfrastructure(req.url)) {
      next();
      return;
    }
    const start = performance.now();
    const incoming = req.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = requestId;
    res.setHeader('x-request-id', requestId);
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer.startSpan(req.method, { kind: SpanKind.SERVER }, parent);
    metrics.httpRequestsInFlight.inc();
    res.once('close', () => {
      const seconds = (performance.now() - start) / 1000;
      const route =
        (res.locals.route as string | undefined) ??
        (req.route ? `${req.baseUrl}${(req.route as { path: string }).path}` : 'unmatched');
      // 499: the client went away before the answer was complete (nginx's convention).
      const status = res.writableFinished ? res.statusCode : 499;
      metrics.httpRequestsInFlight.dec();
      metrics.observeRequest(req.method, route, status, seconds);
      if (span.isRecording()) {
        span.updateName(`${req.method} ${route}`);
        span.setAttributes({
          'http.request.method': req.method,
          'http.route': route,
          'url.path': req.path,
          'http.response.status_code': status,
        });
        if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
      if (status >= 400 || seconds * 1000 >= slowRequestMs) {
        const ctx = span.spanContext();
        const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
        logger[level](
          {
            request_id: requestId,
            trace_id: ctx.traceId,
            span_id: ctx.spanId,
            method: req.method,
            route,
            path: req.path,
            status,
            duration_ms: Math.round(seconds * 10000) / 10,
          },
          status >= 400 ? 'request failed' : 'slow request',
        );
      }
    });
    context.with(trace.setSpan(parent, span), next);
  };
}

/** Builds a service's Express app. Never listens: main.ts does, so tests drive the app with supertest. */
export function createServiceApp(options: ServiceAppOptions): Express {
  const { logger, metrics, health } = options;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(observe({ logger, metrics, slowRequestMs: options.slowRequestMs ?? 1000 }));
  app.get('/healthz/live', health.liveHandler);
  app.get('/healthz/ready', health.readyHandler);
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  const routers = options.routers ?? [];
  if (options.openapi) {
    const [first, ...rest] = routers;
    const doc = first ? first.openapi(options.openapi, rest) : { openapi: '3.1.0', info: options.openapi, paths: {} };
    const body = JSON.stringify(doc);
    app.get('/openapi.json', (_req, res) => {
      res.type('application/json').send(body);
    });
  }
  app.use(express.json({ limit: options.bodyLimitBytes ?? 102400 }));
  for (const mw of options.middleware ?? []) app.use(mw);
  for (const router of routers) router.mount(app);
  app.use(notFoundHandler());
  app.use(problemHandler(logger));
  return app;
}
