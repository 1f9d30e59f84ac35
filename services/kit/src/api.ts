import { ROOT_CONTEXT, trace as otelTrace, type Context } from '@opentelemetry/api';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { match, type MatchFunction, type ParamData } from 'path-to-regexp';
import { pino } from 'pino';
import { Type, type Static, type TObject, type TProperties, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import './formats.ts';
import { AppError, PROBLEM_CONTENT_TYPE, type FieldProblem } from './errors.ts';
import type { Logger } from './logger.ts';

export { Type, type Static, type TSchema } from '@sinclair/typebox';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type RouteHandler = (req: Request, res: Response, next: NextFunction) => void;

export interface ResponseSpec {
  readonly description: string;
  /** Omitted for bodiless answers (204). Problem answers need none: they all share the Problem schema. */
  readonly schema?: TSchema;
  readonly headers?: Readonly<Record<string, { description: string; schema?: TSchema }>>;
}

export interface Reply<T = unknown> {
  readonly status?: number;
  readonly body?: T;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface HandlerContext<P, Q, B> {
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  readonly req: Request;
  readonly res: Response;
  /** This request's trace context: pass it to HTTP clients (`context`) and events (`context`). */
  readonly trace: Context;
  readonly requestId: string;
  /** A logger whose lines carry this request's request_id, trace_id and span_id (made on first use). */
  readonly log: Logger;
}

type Empty = TObject<Record<never, never>>;

/** One route: its schemas validate the request and describe it in the OpenAPI document (one source for both). */
export interface RouteSpec<P extends TObject = Empty, Q extends TObject = Empty, B extends TSchema = Empty> {
  readonly method: Method;
  /** Express-style path (`/products/:id`). */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags?: readonly string[];
  readonly params?: P;
  readonly query?: Q;
  readonly body?: B;
  /** Request headers described in the document (e.g. Idempotency-Key); required ones are enforced. */
  readonly headers?: Readonly<Record<string, { description: string; required?: boolean; schema?: TSchema }>>;
  readonly responses: Readonly<Record<number, ResponseSpec>>;
  readonly security?: readonly Record<string, readonly string[]>[];
  readonly handler: (
    ctx: HandlerContext<Static<P>, Static<Q>, Static<B>>,
  ) => Promise<Reply | void> | Reply | void;
}

interface Compiled {
  readonly spec: RouteSpec<TObject, TObject, TSchema>;
  readonly params?: Coercing;
  readonly query?: Coercing;
  readonly body?: TypeCheck<TSchema>;
}

/** A compiled checker for string-valued input (path, query) plus the conversions its schema needs. */
interface Coercing {
  readonly check: TypeCheck<TObject>;
  readonly convert: (raw: Record<string, unknown>) => Record<string, unknown>;
}

export interface OpenApiInfo {
  readonly title: string;
  readonly version: string;
  readonly description?: string;
  readonly servers?: readonly { url: string; description?: string }[];
  readonly securitySchemes?: Readonly<Record<string, unknown>>;
}

const MAX_FIELD_PROBLEMS = 20;

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
  },
  { additionalProperties: true, description: 'RFC 9457 problem details' },
);

/**
 * A typed Express router whose routes are declared with schemas. Validation uses TypeBox's compiled checkers (no
 * interpretation per request); the same schemas become the service's OpenAPI 3.1 document.
 */
export class ApiRouter {
  private readonly routes: Compiled[] = [];
  private readonly handlers: {
    method: Method;
    path: string;
    handler: RouteHandler;
  }[] = [];

  /** @param prefix where the router is mounted, e.g. `/api/v1` */
  constructor(readonly prefix = '') {}

  route<P extends TObject = Empty, Q extends TObject = Empty, B extends TSchema = Empty>(
    spec: RouteSpec<P, Q, B>,
  ): this {
    const compiled: Compiled = {
      spec: spec as unknown as RouteSpec<TObject, TObject, TSchema>,
      ...(spec.params ? { params: coercing(spec.params) } : {}),
      ...(spec.query ? { query: coercing(spec.query) } : {}),
      ...(spec.body ? { body: TypeCompiler.Compile(spec.body) } : {}),
    };
    this.routes.push(compiled);
    const required = Object.entries(spec.headers ?? {})
      .filter(([, h]) => h.required)
      .map(([name]) => name.toLowerCase());
    const template = this.prefix + spec.path;
    this.handlers.push({
      method: spec.method,
      path: template,
      // Not an async function: a synchronous handler answers without a promise or a microtask.
      handler: (req: Request, res: Response, next: NextFunction): void => {
        // The metrics middleware reads the route template from here (req.route is not set for every router).
        res.locals.route = template;
        let reply: Promise<Reply | void> | Reply | void;
        try {
          const problems: FieldProblem[] = [];
          const params = compiled.params ? coerce(compiled.params, req.params, 'path', problems) : {};
          const query = compiled.query ? coerce(compiled.query, req.query, 'query', problems) : {};
          let body: unknown = undefined;
          if (compiled.body) {
            if (req.body === undefined && hasContent(req) && !req.is('application/json')) {
              throw new AppError(415, 'unsupported-media-type', 'the request body must be application/json');
            }
            body = req.body;
            check(compiled.body, body, 'body', problems);
          }
          for (const name of required) {
            if (req.headers[name] === undefined)
              problems.push({ field: `header/${name}`, message: 'is required' });
          }
          if (problems.length > 0) {
            throw AppError.badRequest('the request is not valid', problems.slice(0, MAX_FIELD_PROBLEMS));
          }
          reply = spec.handler(new Handling(params as Static<P>, query as Static<Q>, body, req, res));
        } catch (err) {
          next(err);
          return;
        }
        if (reply instanceof Promise) reply.then((r) => send(res, r), next);
        else send(res, reply);
      },
    });
    return this;
  }

  /** Every route as method (upper case) and full Express path: what 405 answers and Allow headers are made of. */
  get endpoints(): readonly { readonly method: string; readonly path: string }[] {
    return this.handlers.map(({ method, path }) => ({ method: method.toUpperCase(), path }));
  }

  /**
   * The routes as one handler (`app.use(router.handler())` on a plain Express app) that picks the route by method
   * first, then by path — a request is matched against its method's routes only, instead of walking a layer per route
   * — and passes the request on (`next()`) when none matches. Paths match as Express's router matches them with the
   * kit's settings (case-sensitive, strict, the same path-to-regexp and parameter decoding); HEAD is served by the GET
   * route, as Express does.
   */
  handler(): RequestHandler {
    const byMethod = new Map<string, { match: MatchFunction<ParamData>; handler: RouteHandler }[]>();
    for (const { method, path, handler } of this.handlers) {
      const list = byMethod.get(method.toUpperCase()) ?? [];
      list.push({
        match: match(path, { sensitive: true, end: true, trailing: false, decode: decodeParam }),
        handler,
      });
      byMethod.set(method.toUpperCase(), list);
    }
    return function apiRoutes(req: Request, res: Response, next: NextFunction): void {
      const routes = byMethod.get(req.method) ?? (req.method === 'HEAD' ? byMethod.get('GET') : undefined);
      if (!routes) {
        next();
        return;
      }
      const path = req.path;
      for (const route of routes) {
        let found: ReturnType<MatchFunction<ParamData>>;
        try {
          found = route.match(path);
        } catch (err) {
          next(err);
          return;
        }
        if (!found) continue;
        req.params = found.params as Request['params'];
        route.handler(req, res, next);
        return;
      }
      next();
    };
  }

  /** The OpenAPI 3.1 document of every route declared on this router (and the others given). */
  openapi(info: OpenApiInfo, others: readonly ApiRouter[] = []): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const router of [this, ...others]) {
      for (const { spec } of router.routes) {
        const path = openApiPath(router.prefix + spec.path);
        (paths[path] ??= {})[spec.method] = operation(spec);
      }
    }
    return json({
      openapi: '3.1.0',
      info: {
        title: info.title,
        version: info.version,
        ...(info.description ? { description: info.description } : {}),
      },
      ...(info.servers ? { servers: info.servers } : {}),
      paths,
      components: {
        schemas: { Problem: ProblemSchema },
        ...(info.securitySchemes ? { securitySchemes: info.securitySchemes } : {}),
      },
    });
  }
}

const silent = pino({ enabled: false });

/** A class rather than a literal with a getter: cheaper to make on every request. */
class Handling<P, Q, B> implements HandlerContext<P, Q, B> {
  readonly trace: Context;
  readonly requestId: string;
  private logger: Logger | undefined;

  constructor(
    readonly params: P,
    readonly query: Q,
    readonly body: B,
    readonly req: Request,
    readonly res: Response,
  ) {
    const locals = res.locals as { trace?: Context; requestId?: string };
    this.trace = locals.trace ?? ROOT_CONTEXT;
    this.requestId = locals.requestId ?? '';
  }

  get log(): Logger {
    if (!this.logger) {
      const span = otelTrace.getSpanContext(this.trace);
      const ids =
        span && otelTrace.isSpanContextValid(span) ? { trace_id: span.traceId, span_id: span.spanId } : {};
      const base = (this.res.locals as { logger?: Logger }).logger ?? silent;
      this.logger = base.child({ request_id: this.requestId, ...ids });
    }
    return this.logger;
  }
}

function send(res: Response, reply: Reply | void): void {
  if (res.headersSent || !reply) return;
  if (reply.headers) res.set(reply.headers);
  // Statuses come from route code, not from clients: set directly, without res.status()'s checks.
  if (reply.status !== undefined) res.statusCode = reply.status;
  if (reply.body === undefined) res.end();
  else if (plainJson(res)) {
    // What res.json() ends up writing here, without its settings lookups and content-type parsing.
    const text = JSON.stringify(reply.body);
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Content-Length', Buffer.byteLength(text));
    res.end(text);
  } else res.json(reply.body);
}

/**
 * A JSON answer that Express's res.json() would write as is: no content type of the route's own, no validators
 * (ETag, Last-Modified) nor conditional request for its freshness check, a status and method that carry a body.
 */
function plainJson(res: Response): boolean {
  const { statusCode } = res;
  const { headers, method } = res.req;
  return (
    method !== 'HEAD' &&
    statusCode !== 204 &&
    statusCode !== 205 &&
    statusCode !== 304 &&
    headers['if-none-match'] === undefined &&
    headers['if-modified-since'] === undefined &&
    !res.hasHeader('content-type') &&
    !res.hasHeader('etag') &&
    !res.hasHeader('last-modified')
  );
}

function hasContent(req: Request): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/**
 * Path and query values arrive as strings. The conversions each property needs (number, boolean, array, default)
 * are worked out once per route, so a request pays for a few property reads instead of a schema walk.
 */
function coercing(schema: TObject): Coercing {
  const steps: ((out: Record<string, unknown>) => void)[] = [];
  for (const [name, prop] of Object.entries(schema.properties)) {
    const type = prop.type as string | undefined;
    const fallback: unknown = prop.default;
    steps.push((out) => {
      let v = out[name];
      if (v === undefined) {
        if (fallback !== undefined) out[name] = structuredClone(fallback);
        return;
      }
      if (type === 'array' && !Array.isArray(v)) v = [v];
      else if (type !== 'array' && Array.isArray(v)) return; // repeated scalar: left for the check to reject
      out[name] =
        type === 'array'
          ? (v as unknown[]).map((x) => scalar(prop.items as TSchema | undefined, x))
          : scalar(prop, v);
    });
  }
  return {
    check: TypeCompiler.Compile(schema),
    convert: (raw) => {
      const out = { ...raw };
      for (const step of steps) step(out);
      return out;
    },
  };
}

function scalar(schema: TSchema | undefined, v: unknown): unknown {
  if (typeof v !== 'string' || !schema) return v;
  switch (schema.type) {
    case 'integer':
    case 'number':
      return /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(v) ? Number(v) : v;
    case 'boolean':
      return v === 'true' ? true : v === 'false' ? false : v;
    default:
      return v;
  }
}

function coerce(coercing: Coercing, raw: unknown, where: string, problems: FieldProblem[]): unknown {
  const value = coercing.convert(raw as Record<string, unknown>);
  check(coercing.check, value, where, problems);
  return value;
}

function check(checker: TypeCheck<TSchema>, value: unknown, where: string, problems: FieldProblem[]): void {
  if (checker.Check(value)) return;
  const seen = new Set<string>();
  for (const error of checker.Errors(value)) {
    const field = error.path === '' ? where : `${where}${error.path}`;
    if (seen.has(field)) continue;
    seen.add(field);
    problems.push({ field, message: error.message });
    if (problems.length >= MAX_FIELD_PROBLEMS) return;
  }
}

/** A path parameter decoded as Express's router decodes it: a malformed escape is a 400. */
function decodeParam(value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch (err) {
    if (err instanceof URIError) {
      err.message = `Failed to decode param '${value}'`;
      Object.assign(err, { status: 400, statusCode: 400 });
    }
    throw err;
  }
}

function openApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function parametersOf(schema: TObject<TProperties> | undefined, location: 'path' | 'query'): unknown[] {
  if (!schema) return [];
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties).map(([name, s]) => ({
    name,
    in: location,
    // A parameter with a default may be left out: the kit fills it in (page, limit).
    required: location === 'path' || (required.has(name) && s.default === undefined),
    ...(s.description ? { description: s.description } : {}),
    schema: s,
  }));
}

const problemResponse = (description: string) => ({
  description,
  content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } },
});

function operation(spec: RouteSpec<TObject, TObject, TSchema>): Record<string, unknown> {
  const responses: Record<string, unknown> = {};
  for (const [status, r] of Object.entries(spec.responses)) {
    if (Number(status) >= 400 && !r.schema) {
      responses[status] = problemResponse(r.description);
      continue;
    }
    responses[status] = {
      description: r.description,
      ...(r.schema ? { content: { 'application/json': { schema: r.schema } } } : {}),
      ...(r.headers ? { headers: r.headers } : {}),
    };
  }
  const validates = spec.params || spec.query || spec.body || spec.headers;
  if (validates && !responses['400']) responses['400'] = problemResponse('The request is not valid');
  responses['500'] ??= problemResponse('Unexpected error');
  const headers = Object.entries(spec.headers ?? {}).map(([name, h]) => ({
    name,
    in: 'header',
    required: h.required ?? false,
    description: h.description,
    schema: h.schema ?? { type: 'string' },
  }));
  return {
    operationId: spec.operationId,
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    ...(spec.tags ? { tags: spec.tags } : {}),
    ...(spec.security ? { security: spec.security } : {}),
    parameters: [...parametersOf(spec.params, 'path'), ...parametersOf(spec.query, 'query'), ...headers],
    ...(spec.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: spec.body } } } }
      : {}),
    responses,
  };
}

/** TypeBox keeps its bookkeeping under symbol keys; a JSON round trip leaves plain JSON Schema. */
function json<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
