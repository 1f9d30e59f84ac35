import { trace as otelTrace } from '@opentelemetry/api';
import { ApiRouter, AppError, Type } from '@meshmart/kit';
import type { Counter } from 'prom-client';
import type { RateLimit } from '../adapters/rate-limiter.ts';
import type { UserActionPublisher } from '../adapters/user-action-publisher.ts';
import type { LocalIssuer } from '../domain/tokens.ts';
import { authenticate, type DemoUser } from '../domain/users.ts';
import { clientAddress, rateLimited, type Take } from '../middleware/rate-limit.ts';
import { act, localsOf } from '../middleware/locals.ts';
import { TokenSchema } from './schemas.ts';

export interface AuthRoutesDeps {
  readonly issuer?: LocalIssuer;
  readonly users: readonly DemoUser[];
  readonly publisher: UserActionPublisher;
  /** The limiter (failing open). */
  readonly take: Take;
  /** Failed sign-ins per client address; capacity 0 turns it off. */
  readonly signInLimit: RateLimit;
  readonly rejections: Counter<'scope'>;
}

/**
 * The local issuer: tokens for the demo users. Absent when an OIDC provider signs users in instead. Every attempt
 * takes a token from its address's sign-in bucket before the password is looked at and a success gives it back, so
 * only failures count and concurrent guesses cannot overdraw it; each failure is published as SignInFailed (bounded
 * by the same bucket: a refused attempt is counted in a metric, not recorded).
 */
export function authRoutes(deps: AuthRoutesDeps): ApiRouter {
  return new ApiRouter('/api/v1').route({
    method: 'post',
    path: '/auth/token',
    operationId: 'issueToken',
    summary: 'Signs a demo user in: a bearer token for the other calls',
    description:
      'Demo users (password = user name): alice / alice and bob / bob (customers), admin / admin (role admin). ' +
      'Send the token as `Authorization: Bearer <access_token>`. Failed sign-ins are audited and limited per ' +
      'client address (429 sign-in-rate-limited).',
    tags: ['auth'],
    body: Type.Object(
      {
        username: Type.String({ minLength: 1, maxLength: 64 }),
        password: Type.String({ minLength: 1, maxLength: 256 }),
      },
      { additionalProperties: false },
    ),
    responses: {
      200: { description: 'the token', schema: TokenSchema },
      401: { description: 'wrong user name or password (invalid-credentials)' },
      404: { description: 'the local issuer is off: sign in with the identity provider (issuer-disabled)' },
      429: {
        description:
          'too many requests, or too many failed sign-ins from this address (sign-in-rate-limited)',
      },
    },
    handler: async ({ body, req, res, trace, requestId }) => {
      if (!deps.issuer || deps.users.length === 0) {
        throw new AppError(
          404,
          'issuer-disabled',
          'this gateway does not issue tokens; sign in with the identity provider',
        );
      }
      const address = clientAddress(req);
      const bucket = `sign-in:${address}`;
      const gate = await deps.take(bucket, deps.signInLimit);
      if (gate && !gate.allowed) {
        deps.rejections.inc({ scope: 'sign-in' });
        throw rateLimited('too many failed sign-ins from this address', 'sign-in-rate-limited', gate);
      }
      const user = authenticate(deps.users, body.username, body.password);
      if (!user) {
        const span = otelTrace.getSpanContext(trace);
        void deps.publisher.signInFailed(
          {
            actor: body.username,
            resource: `user/${body.username}`,
            sourceAddress: address.slice(0, 64),
            reason: deps.users.some((u) => u.username === body.username) ? 'wrong-password' : 'unknown-user',
            method: req.method,
            path: req.path,
            status: 401,
            at: new Date().toISOString(),
            ...(span && otelTrace.isSpanContextValid(span) ? { traceId: span.traceId } : {}),
            ...(requestId ? { requestId } : {}),
          },
          trace,
        );
        throw new AppError(401, 'invalid-credentials', 'wrong user name or password');
      }
      if (gate) await deps.take(bucket, deps.signInLimit, -1);
      localsOf(res).principal = { id: user.username, roles: user.roles };
      act(res, 'auth.sign-in', `user/${user.username}`);
      return { body: await deps.issuer.issue(user) };
    },
  });
}
