import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError, PROBLEM_CONTENT_TYPE, toProblem } from './errors.ts';
import type { Logger } from './logger.ts';

/** body-parser and http-errors mark their errors with `type` and `status`; map the ones clients cause. */
function fromFramework(err: {
  type?: unknown;
  status?: unknown;
  message?: unknown;
  limit?: unknown;
}): AppError | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      return new AppError(400, 'invalid-json', 'the request body is not valid JSON');
    case 'entity.too.large':
      return new AppError(
        413,
        'body-too-large',
        `the request body is larger than the limit of ${String(err.limit)} bytes`,
      );
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError(415, 'unsupported-media-type', String(err.message));
    case 'request.aborted':
      return new AppError(400, 'request-aborted', 'the request was aborted by the client');
    case 'request.size.invalid':
      return new AppError(400, 'bad-request', 'the request body length does not match Content-Length');
  }
  if (typeof err.status === 'number' && err.status >= 400 && err.status < 500) {
    return new AppError(
      err.status,
      'bad-request',
      typeof err.message === 'string' ? err.message : 'bad request',
    );
  }
  return undefined;
}

/**
 * The answer when no route matched: 405 with `Allow` when a route has the path under other methods (the endpoints
 * given), else 404.
 */
export function notFoundHandler(
  endpoints: readonly { readonly method: string; readonly path: string }[] = [],
): RequestHandler {
  const templates = new Map<string, { pattern: RegExp; methods: Set<string> }>();
  for (const { method, path } of endpoints) {
    const entry = templates.get(path) ?? { pattern: templatePattern(path), methods: new Set<string>() };
    entry.methods.add(method);
    if (method === 'GET') entry.methods.add('HEAD');
    templates.set(path, entry);
  }
  return (req, _res, next) => {
    const allowed = new Set<string>();
    for (const { pattern, methods } of templates.values())
      if (pattern.test(req.path)) for (const m of methods) allowed.add(m);
    if (allowed.size > 0 && !allowed.has(req.method)) {
      const allow = [...allowed].sort().join(', ');
      next(
        new AppError(405, 'method-not-allowed', `${req.method} is not allowed on ${req.path}; use ${allow}`, {
          headers: { Allow: allow },
        }),
      );
      return;
    }
    next(AppError.notFound(`no route for ${req.method} ${req.path}`));
  };
}

/** An Express path (`/items/:id`) as an exact, case-sensitive pattern: a parameter is one non-empty segment. */
function templatePattern(path: string): RegExp {
  const source = path
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}$`);
}

/**
 * The one error middleware, registered last. Every error becomes RFC 9457 problem+json; unknown errors are a 500
 * logged once with their stack, which never reaches the client.
 */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    let appError =
      err instanceof AppError
        ? err
        : typeof err === 'object' && err !== null
          ? fromFramework(err)
          : undefined;
    if (!appError) {
      logger.error(
        { err, method: req.method, path: req.path, request_id: res.locals.requestId as unknown },
        'unhandled error',
      );
      appError = new AppError(500, 'internal', 'an unexpected error occurred');
    } else if (appError.status >= 500) {
      logger.error(
        { err: appError, cause: appError.cause, path: req.path, request_id: res.locals.requestId as unknown },
        appError.message,
      );
    }
    if (appError.headers) res.set(appError.headers);
    res
      .status(appError.status)
      .type(PROBLEM_CONTENT_TYPE)
      .send(JSON.stringify(toProblem(appError, req.originalUrl.split('?')[0])));
  };
}
