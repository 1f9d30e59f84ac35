import { createHash, timingSafeEqual } from 'node:crypto';

export type Role = 'customer' | 'admin';

/** Who a request acts for: the token's subject and roles. */
export interface Principal {
  /** The token's `sub`: the user id the gateway hands to cart, checkout and orders. */
  readonly id: string;
  readonly roles: readonly string[];
}

export interface DemoUser {
  readonly username: string;
  readonly password: string;
  readonly roles: readonly Role[];
}

/**
 * The demo users of the local issuer. The password is the user name: the store is a demo and the credentials are
 * printed by `make start`, documented in docs/gateway.md and in the OpenAPI description. Deployments that must not
 * have them set DEMO_USERS=false and sign users in through an OIDC provider (JWT_JWKS_URL).
 */
export const DEMO_USERS: readonly DemoUser[] = [
  { username: 'alice', password: 'alice', roles: ['customer'] },
  { username: 'bob', password: 'bob', roles: ['customer'] },
  { username: 'admin', password: 'admin', roles: ['admin'] },
];

/** Load-test customers `load-1` … `load-<n>` (password = user name), for `make load` in the local stage only. */
export const LOAD_USER_PREFIX = 'load-';

export function loadTestUsers(count: number): DemoUser[] {
  return Array.from({ length: count }, (_, i) => {
    const username = `${LOAD_USER_PREFIX}${i + 1}`;
    return { username, password: username, roles: ['customer'] as const };
  });
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** The user these credentials belong to; comparison in constant time whatever the input. */
export function authenticate(
  users: readonly DemoUser[],
  username: string,
  password: string,
): DemoUser | undefined {
  const user = users.find((u) => u.username === username);
  const ok = timingSafeEqual(digest(user?.password ?? '\0no such user'), digest(password));
  return user && ok ? user : undefined;
}

export function hasRole(principal: Principal, role: Role): boolean {
  return principal.roles.includes(role);
}
