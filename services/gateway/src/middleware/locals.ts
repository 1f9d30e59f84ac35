import type { Context } from '@opentelemetry/api';
import type { Response } from 'express';
import { AppError } from '@meshmart/kit';
import { hasRole, type Principal, type Role } from '../domain/users.ts';

/** What the gateway's middleware leaves in res.locals for the routes and for the user-action publisher. */
export interface GatewayLocals {
  requestId?: string;
  trace?: Context;
  principal?: Principal;
  /** Why the presented token was refused; the request continues anonymous until a route needs a user. */
  tokenError?: string;
  /** Set by a route: what the user did, published as UserAction once the response is sent. */
  userAction?: { action: string; resource: string };
}

export function localsOf(res: Response): GatewayLocals {
  return res.locals as GatewayLocals;
}

const REALM = 'Bearer realm="meshmart"';

/** 401 with the challenge RFC 6750 asks for; names the token problem when there was one. */
export function unauthorized(tokenError?: string): AppError {
  return new AppError(
    401,
    'unauthorized',
    tokenError ?? 'this request needs a bearer token (POST /api/v1/auth/token)',
    {
      headers: {
        'WWW-Authenticate': tokenError
          ? `${REALM}, error="invalid_token", error_description="${tokenError.replace(/"/g, "'")}"`
          : REALM,
      },
    },
  );
}

/** The signed-in user, or a 401. */
export function requireUser(res: Response): Principal {
  const { principal, tokenError } = localsOf(res);
  if (!principal) throw unauthorized(tokenError);
  return principal;
}

export function requireRole(res: Response, role: Role): Principal {
  const principal = requireUser(res);
  if (!hasRole(principal, role)) throw new AppError(403, 'forbidden', `this request needs the ${role} role`);
  return principal;
}

/** Records the action for the UserAction event (published after the response, whatever its status). */
export function act(res: Response, action: string, resource: string): void {
  localsOf(res).userAction = { action, resource };
}
