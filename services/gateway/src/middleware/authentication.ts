import { trace } from '@opentelemetry/api';
import type { RequestHandler } from 'express';
import type { UserActionPublisher } from '../adapters/user-action-publisher.ts';
import { InvalidToken, type TokenVerifier } from '../domain/tokens.ts';
import { localsOf, requireRole, requireUser } from './locals.ts';

/** Paths anyone may call; every other /api/v1 path needs a user, /api/v1/admin/ the admin role. */
const PUBLIC = /^\/api\/v1\/(?:auth\/token|products(?:\/[^/]*)?|categories|images\/[^/]*)\/?$/i;
const ADMIN = /^\/api\/v1\/admin(?:\/|$)/i;
/** Case-insensitive on purpose: routes match exactly, so a path in another case only ever meets a stricter check. */
const API = /^\/api\//i;

/** Reads the bearer token, if any. A bad token only fails the request once a route needs a user. */
export function authenticate(options: {
  verifier: TokenVerifier;
  publisher: UserActionPublisher;
}): RequestHandler {
  // Every request, whatever its path: a check that looked only at `/api/` was dodged by `/API/` (now no route).
  return (req, res, next) => {
    res.once('finish', () => {
      const { principal, userAction, requestId, trace: ctx } = localsOf(res);
      if (!principal || !userAction) return;
      const span = ctx ? trace.getSpanContext(ctx) : undefined;
      void options.publisher.publish(
        {
          actor: principal.id,
          action: userAction.action,
          resource: userAction.resource,
          method: req.method,
          path: req.originalUrl.split('?')[0] ?? req.path,
          status: res.statusCode,
          at: new Date().toISOString(),
          ...(span && trace.isSpanContextValid(span) ? { traceId: span.traceId } : {}),
          ...(requestId ? { requestId } : {}),
        },
        ctx,
      );
    });
    const header = req.headers.authorization;
    if (header === undefined) {
      next();
      return;
    }
    const match = /^Bearer ([A-Za-z0-9_\-.~+/]+=*)$/i.exec(header.trim());
    if (!match?.[1]) {
      localsOf(res).tokenError = 'the Authorization header must be "Bearer <token>"';
      next();
      return;
    }
    options.verifier.verify(match[1]).then(
      (principal) => {
        localsOf(res).principal = principal;
        next();
      },
      (err: unknown) => {
        if (err instanceof InvalidToken) {
          localsOf(res).tokenError = err.message;
          next();
        } else next(err);
      },
    );
  };
}

/** 401 / 403 by path, before any validation, so an anonymous caller learns nothing about admin input. */
export function authorize(): RequestHandler {
  return (req, res, next) => {
    try {
      if (API.test(req.path) && req.method !== 'OPTIONS' && !PUBLIC.test(req.path)) {
        if (ADMIN.test(req.path)) requireRole(res, 'admin');
        else requireUser(res);
      }
      next();
    } catch (err) {
      next(err);
    }
  };
}
