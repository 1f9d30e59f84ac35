// Reading a JWT's payload for display (who is signed in, which roles): the gateway verifies it, the UI only reads it.

export interface User {
  readonly username: string;
  readonly roles: readonly string[];
  /** Expiry, seconds since the epoch. */
  readonly exp?: number;
}

function base64UrlDecode(s: string): string {
  const b64 = s
    .replace(/-/g, '+')
    .replace(/_/g, '/')
    .padEnd(Math.ceil(s.length / 4) * 4, '=');
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/** The user a token names, or undefined when it is not a readable JWT. */
export function userFromToken(token: string): User | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(base64UrlDecode(parts[1])) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const roles = new Set<string>();
  const add = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(add);
    else if (typeof v === 'string')
      v.split(/\s+/)
        .filter(Boolean)
        .forEach((r) => roles.add(r));
  };
  add(claims.roles);
  add(claims.role);
  add(claims['cognito:groups']);
  add(claims.groups);
  const name = [claims.preferred_username, claims.username, claims.name, claims.sub].find(
    (v): v is string => typeof v === 'string' && v.length > 0,
  );
  if (!name) return undefined;
  return {
    username: name,
    roles: [...roles],
    ...(typeof claims.exp === 'number' ? { exp: claims.exp } : {}),
  };
}

/** True when the token has expired at `nowSeconds` (a token without exp never expires here). */
export function isExpired(user: User, nowSeconds: number): boolean {
  return user.exp !== undefined && user.exp <= nowSeconds;
}
