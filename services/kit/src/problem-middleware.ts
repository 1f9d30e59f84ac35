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

export function notFoundHandler(): RequestHandler {
  return (req, _res, next) => {
    next(AppError.notFound(`no route for ${req.method} ${req.path}`));
  };
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
