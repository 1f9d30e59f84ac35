import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  context,
  INVALID_SPAN_CONTEXT,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Span,
} from '@opentelemetry/api';
import express, {
  type Express,
  type NextFunction,
  type Request,
  type ErrorRequestHandler,
  type RequestHandler,
  type Response,
} from 'express';
import type { ApiRouter, OpenApiInfo } from './api.ts';
import { PARSED_JSON_BODY } from './http/in-process.ts';
import { AppError, PROBLEM_CONTENT_TYPE } from './errors.ts';
import type { Health } from './health.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import { isSampled, requestSampling, SAMPLED_BY_KIT, UnsampledSpan } from './sampling.ts';
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
  /**
   * The credential of the service's `/admin/` routes (ADMIN_TOKEN): a caller sends it as `X-Admin-Token`. Unset, a
   * service that has admin routes refuses every call to them (403 admin-disabled). @default unset
   */
  readonly adminToken?: string | undefined;
}

/** The header an internal admin call carries its credential in (never Authorization: SigV4 signs with that). */
export const ADMIN_TOKEN_HEADER = 'x-admin-token';

const REQUEST_ID = /^[\w.:-]{1,128}$/;
const SERVER = { kind: SpanKind.SERVER };

type RawHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
type Next = () => void;

/**
 * The kit's front door, run before Express's router: request id, server span (only for sampled requests), RED
 * metrics and the access log, with a single 'close' listener; health, metrics and docs endpoints answered straight
 * from Node's API. Not being a router layer is part of what keeps the kit close to bare Express.
 */
export function frontDoor(options: {
  logger: Logger;
  metrics: Metrics;
  slowRequestMs: number;
  /** Exact GET paths answered without Express and without being observed. */
  infrastructure?: ReadonlyMap<string, RawHandler>;
}): (req: IncomingMessage, res: ServerResponse, next: Next) => void {
  const { logger, metrics, slowRequestMs } = options;
  const infrastructure = options.infrastructure ?? new Map<string, RawHandler>();
  const tracer = trace.getTracer('@meshmart/kit');
  return (req, res, next) => {
    const url = req.url ?? '/';
    if (req.method === 'GET' && infrastructure.size > 0) {
      const q = url.indexOf('?');
      const serveInfra = infrastructure.get(q < 0 ? url : url.slice(0, q));
      if (serveInfra) {
        Promise.resolve(serveInfra(req, res)).catch((err: unknown) => {
          logger.error({ err, path: url }, 'infrastructure endpoint failed');
          if (!res.headersSent) sendJson(res, 500, { status: 'error' });
        });
        return;
      }
    }
    const start = performance.now();
    const incoming = req.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    // Express keeps a res.locals it finds, so the kit's request state is there for handlers and the error handler.
    const locals: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    (res as ServerResponse & { locals: Record<string, unknown> }).locals = locals;
    locals.requestId = requestId;
    locals.logger = logger;
    res.setHeader('x-request-id', requestId);
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const remote = trace.getSpanContext(parent);
    const sampling = requestSampling();
    let span: Span;
    if (isSampled(remote)) span = tracer.startSpan(req.method ?? 'HTTP', SERVER, parent);
    else if (remote) span = trace.wrapSpanContext(remote);
    else if (!sampling) span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
    else if (Math.random() < sampling.ratio)
      span = tracer.startSpan(req.method ?? 'HTTP', SERVER, parent.setValue(SAMPLED_BY_KIT, true));
    else span = new UnsampledSpan(sampling.xray);
    metrics.inFlight++;
    res.once('close', () => {
      const seconds = (performance.now() - start) / 1000;
      const method = req.method ?? 'HTTP';
      // ApiRouter records its template; a plain Express route is found where Express left it.
      const route =
        (locals.route as string | undefined) ??
        (req as { route?: { path?: string } }).route?.path ??
        'unmatched';
      // 499: the client went away before the answer was complete (nginx's convention).
      const status = res.writableFinished ? res.statusCode : 499;
      metrics.inFlight--;
      metrics.observeRequest(method, route, status, seconds);
      if (span.isRecording()) {
        span.updateName(`${method} ${route}`);
        span.setAttributes({
          'http.request.method': method,
          'http.route': route,
          'url.path': pathOf(url),
          'http.response.status_code': status,
        });
        if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
      if (status >= 400 || seconds * 1000 >= slowRequestMs) {
        const ctx = span.spanContext();
        const ids = trace.isSpanContextValid(ctx) ? { trace_id: ctx.traceId, span_id: ctx.spanId } : {};
        const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
        logger[level](
          {
            request_id: requestId,
            ...ids,
            method,
            route,
            path: pathOf(url),
            status,
            duration_ms: Math.round(seconds * 10000) / 10,
          },
          status >= 400 ? 'request failed' : 'slow request',
        );
      }
    });
    // Tracing off and nothing received: no context to carry.
    if (!sampling && !remote) {
      next();
      return;
    }
    const ctx = trace.setSpan(parent, span);
    locals.trace = ctx;
    context.with(ctx, next);
  };
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  contentType = 'application/json',
): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) }).end(text);
}

/** Builds a service's Express app. Never listens: main.ts does, so tests drive the app with supertest. */
export function createServiceApp(options: ServiceAppOptions): Express {
  const { logger, metrics, health } = options;
  const app = express();
  // A route matches its path exactly as declared: no case folding and no optional trailing slash, so a middleware
  // that looks at req.path (a gateway's auth or rate limit) sees the path the route answers (`POST /API/v1/auth/token`
  // was a sign-in that skipped every check on `/api/`). Doubled, dotted and encoded slashes never matched a route.
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  app.disable('x-powered-by');
  app.set('etag', false);
  const infrastructure = new Map<string, RawHandler>([
    ['/healthz/live', (_req, res) => sendJson(res, 200, { status: 'ok' })],
    [
      '/healthz/ready',
      async (_req, res) => {
        const { ok, checks } = await health.ready();
        const status = health.isShuttingDown ? 'shutting-down' : ok ? 'ok' : 'unavailable';
        sendJson(res, ok ? 200 : 503, { status, checks });
      },
    ],
  ]);
  // With METRICS_PORT the host serves /metrics on its own listener; here it is then an unknown path like any other.
  if (metrics.exposition === 'main')
    infrastructure.set('/metrics', async (_req, res) =>
      sendJson(res, 200, await metrics.registry.metrics(), metrics.registry.contentType),
    );
  const routers = options.routers ?? [];
  if (options.openapi) {
    const [first, ...rest] = routers;
    const doc = first
      ? first.openapi(options.openapi, rest)
      : { openapi: '3.1.0', info: options.openapi, paths: {} };
    const body = JSON.stringify(doc);
    infrastructure.set('/openapi.json', (_req, res) => sendJson(res, 200, body));
  }
  const front = frontDoor({ logger, metrics, slowRequestMs: options.slowRequestMs ?? 1000, infrastructure });
  const bodyLimitBytes = options.bodyLimitBytes ?? 102400;
  const json = express.json({ limit: bodyLimitBytes });
  const handlers: RequestHandler[] = [
    refuseDeclaredOverLimit(bodyLimitBytes),
    // Before the body is parsed: a caller without the credential learns nothing about what the route accepts.
    ...(routers.some((r) => r.endpoints.some((e) => e.path.startsWith('/admin/')))
      ? [requireAdminToken(options.adminToken)]
      : []),
    // A call from a service in the same process brings its body parsed (in-process.ts): not read and parsed again.
    function jsonBody(req: Request, res: Response, next: NextFunction): void {
      // No body announced (no Content-Length, no Transfer-Encoding): nothing for the parser, which would say so too.
      if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) {
        next();
        return;
      }
      const parsed = (req as unknown as Record<symbol, unknown>)[PARSED_JSON_BODY];
      if (parsed === undefined) json(req, res, next);
      else {
        req.body = parsed;
        next();
      }
    },
    ...(options.middleware ?? []),
    ...routers.map((router) => router.handler()),
    notFoundHandler(routers.flatMap((r) => r.endpoints)),
  ];
  const dispatch = pipeline(app, handlers, problemHandler(logger));
  // The front door wraps the pipeline in place of Express's own entry point and router.
  (app as unknown as { handle: ExpressHandle }).handle = (req, res, done) =>
    front(req, res, () => dispatch(req, res, done));
  // Everything a service app serves is declared above; a layer added to Express's router would never run.
  const refuse = (): never => {
    throw new Error(
      'a service app is complete when created: give routers and middleware to createServiceApp',
    );
  };
  app.use = refuse;
  app.route = refuse;
  return app;
}

type ExpressHandle = (req: IncomingMessage, res: ServerResponse, done?: (err?: unknown) => void) => void;

/**
 * Runs the app's handlers in turn as Express's router runs a stack of middleware mounted at `/`: `next()` goes on to
 * the next, an error (`next(err)`, a throw, a rejected promise) goes to `onError`, `next('router')` leaves. What it
 * leaves out is the router's bookkeeping per layer (path matching and trimming, parameter processing), which every
 * request paid once for each of the kit's middleware. Sets up the request and response as Express's app does.
 */
function pipeline(
  app: Express,
  handlers: readonly RequestHandler[],
  onError: ErrorRequestHandler,
): ExpressHandle {
  return (incoming, outgoing, done) => {
    const req = incoming as Request;
    const res = outgoing as Response;
    req.res = res;
    res.req = req;
    Object.setPrototypeOf(req, app.request);
    Object.setPrototypeOf(res, app.response);
    res.locals ??= Object.create(null) as Record<string, unknown>;
    req.originalUrl ??= req.url;
    req.baseUrl = '';
    let index = 0;
    let failed = false;
    const leave = (err?: unknown): void => {
      if (done) done(err);
      else unanswered(req, res, err);
    };
    const next = (err?: unknown): void => {
      if (err === 'router') {
        leave();
        return;
      }
      if (err && err !== 'route') {
        if (failed) {
          leave(err);
          return;
        }
        failed = true;
        try {
          onError(err, req, res, leave);
        } catch (thrown) {
          leave(thrown);
        }
        return;
      }
      const handler = failed ? undefined : handlers[index++];
      if (!handler) {
        leave();
        return;
      }
      try {
        const ret: unknown = handler(req, res, next);
        if (ret instanceof Promise)
          ret.then(undefined, (e: unknown) => next(e ?? new Error('Rejected promise')));
      } catch (thrown) {
        next(thrown);
      }
    };
    req.next = next;
    next();
  };
}

/**
 * What nothing answered (the not-found handler answers every request that reaches it): a response already under way
 * is cut, as Express's final handler does; otherwise a bare 500 or 404.
 */
function unanswered(req: Request, res: Response, err: unknown): void {
  if (res.headersSent) {
    req.socket.destroy();
    return;
  }
  const status = err ? 500 : 404;
  const title = err ? 'Internal Server Error' : 'Not Found';
  sendJson(res, status, { type: 'about:blank', title, status }, PROBLEM_CONTENT_TYPE);
}

/**
 * Internal admin routes (`/admin/...`) need a credential of their own, whoever can reach the service: the network
 * (NetworkPolicies, the mesh) decides who may call, this decides who may administer. Compared in constant time.
 */
function requireAdminToken(token: string | undefined): RequestHandler {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  const expected = token === undefined ? undefined : digest(token);
  return (req, _res, next) => {
    if (!req.path.startsWith('/admin/')) {
      next();
      return;
    }
    if (!expected) {
      next(new AppError(403, 'admin-disabled', 'this service has no ADMIN_TOKEN: its admin routes are off'));
      return;
    }
    const given = req.headers[ADMIN_TOKEN_HEADER];
    if (typeof given !== 'string' || !timingSafeEqual(digest(given), expected)) {
      next(
        new AppError(
          401,
          'admin-token-required',
          `admin routes need the service's admin token in ${ADMIN_TOKEN_HEADER}`,
        ),
      );
      return;
    }
    next();
  };
}

/**
 * A declared Content-Length over the limit is refused before any byte of the body is read, whatever the route or
 * media type, and the connection is closed after the answer: Node would otherwise keep reading (and discarding) the
 * declared bytes, and a client declaring 99999999 and sending 14 held a connection until the request timeout.
 */
function refuseDeclaredOverLimit(limit: number): RequestHandler {
  return (req, res, next) => {
    const declared = req.headers['content-length'];
    if (declared === undefined || declared.length < String(limit).length || Number(declared) <= limit) {
      next();
      return;
    }
    res.setHeader('Connection', 'close');
    next(
      new AppError(413, 'body-too-large', `the request body is larger than the limit of ${limit} bytes`, {
        extensions: { limit },
      }),
    );
  };
}
