import type { RequestHandler } from 'express';
import { AppError } from '@meshmart/kit';

const ALLOW_METHODS = 'GET, HEAD, POST, PUT, DELETE, OPTIONS';
const ALLOW_HEADERS =
  'Authorization, Content-Type, Idempotency-Key, If-None-Match, X-Request-Id, traceparent, tracestate';
const EXPOSE_HEADERS =
  'ETag, Location, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, RateLimit-Policy, X-Request-Id, X-API-Version, X-Stage, X-Cache';

/**
 * CORS for the UI origins in config (the UI the gateway serves is same-origin and needs none; a UI dev server or
 * another front end does). Tokens travel in the Authorization header, never in cookies, so no credentials mode.
 */
export function cors(options: { origins: readonly string[] }): RequestHandler {
  const allowed = new Set(options.origins);
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (!req.path.startsWith('/api/') || origin === undefined) {
      next();
      return;
    }
    res.vary('Origin');
    const ok = allowed.has(origin);
    if (ok) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Expose-Headers', EXPOSE_HEADERS);
    }
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
      if (!ok) {
        next(new AppError(403, 'cors-origin-not-allowed', `the origin ${origin} may not call this API`));
        return;
      }
      res.setHeader('Access-Control-Allow-Methods', ALLOW_METHODS);
      res.setHeader('Access-Control-Allow-Headers', ALLOW_HEADERS);
      res.setHeader('Access-Control-Max-Age', '600');
      res.status(204).end();
      return;
    }
    next();
  };
}
