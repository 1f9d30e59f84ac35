import { ApiRouter, AppError, Type } from '@meshmart/kit';
import type { LocalIssuer } from '../domain/tokens.ts';
import { authenticate, type DemoUser } from '../domain/users.ts';
import { act, localsOf } from '../middleware/locals.ts';
import { TokenSchema } from './schemas.ts';

/** The local issuer: tokens for the demo users. Absent when an OIDC provider signs users in instead. */
export function authRoutes(deps: { issuer?: LocalIssuer; users: readonly DemoUser[] }): ApiRouter {
  return new ApiRouter('/api/v1').route({
    method: 'post',
    path: '/auth/token',
    operationId: 'issueToken',
    summary: 'Signs a demo user in: a bearer token for the other calls',
    description:
      'Demo users (password = user name): alice / alice and bob / bob (customers), admin / admin (role admin). ' +
      'Send the token as `Authorization: Bearer <access_token>`.',
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
    },
    handler: async ({ body, res }) => {
      if (!deps.issuer || deps.users.length === 0) {
        throw new AppError(
          404,
          'issuer-disabled',
          'this gateway does not issue tokens; sign in with the identity provider',
        );
      }
      const user = authenticate(deps.users, body.username, body.password);
      if (!user) throw new AppError(401, 'invalid-credentials', 'wrong user name or password');
      localsOf(res).principal = { id: user.username, roles: user.roles };
      act(res, 'auth.sign-in', `user/${user.username}`);
      return { body: await deps.issuer.issue(user) };
    },
  });
}
