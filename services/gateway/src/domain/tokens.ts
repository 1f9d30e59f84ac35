import { randomBytes } from 'node:crypto';
import { AppError, BoundedMap } from '@meshmart/kit';
import { createRemoteJWKSet, errors, jwtVerify, SignJWT, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { DemoUser, Principal } from './users.ts';

/** Same pattern as the services' user ids, so the subject can go straight into their paths. */
export const USER_ID = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/;

export interface IssuedToken {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
}

export interface TokenSettings {
  readonly issuer: string;
  readonly audience: string;
  /** Claim holding the roles: an array of strings or a space-separated string (`cognito:groups` for Cognito). */
  readonly rolesClaim: string;
}

/** Why a presented token was refused (becomes the `error_description` of WWW-Authenticate). */
export class InvalidToken extends Error {
  override readonly name = 'InvalidToken';
}

/** Signs HS256 tokens for the demo users with the key from config (a Secret in Kubernetes). */
export class LocalIssuer {
  private readonly key: Uint8Array;

  constructor(
    private readonly props: TokenSettings & { readonly signingKey: Uint8Array; readonly ttlSeconds: number },
  ) {
    this.key = props.signingKey;
  }

  /** A random 256-bit key: local mode only, where every token dies with the process. */
  static generateKey(): Uint8Array {
    return new Uint8Array(randomBytes(32));
  }

  async issue(user: DemoUser, now = new Date()): Promise<IssuedToken> {
    const iat = Math.floor(now.getTime() / 1000);
    const token = await new SignJWT({ [this.props.rolesClaim]: [...user.roles], name: user.username })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(user.username)
      .setIssuer(this.props.issuer)
      .setAudience(this.props.audience)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.props.ttlSeconds)
      .sign(this.key);
    return { access_token: token, token_type: 'Bearer', expires_in: this.props.ttlSeconds };
  }
}

/** Verifies bearer tokens: against the local HS256 key, or against an OIDC provider's JWKS (Cognito, Keycloak...). */
export class TokenVerifier {
  private readonly key: Uint8Array | JWTVerifyGetKey;
  private readonly algorithms: string[];

  constructor(
    private readonly props: TokenSettings &
      ({ readonly signingKey: Uint8Array } | { readonly jwksUrl: string; readonly jwksTimeoutMs?: number }),
  ) {
    if ('jwksUrl' in props) {
      this.key = createRemoteJWKSet(new URL(props.jwksUrl), { timeoutDuration: props.jwksTimeoutMs ?? 2000 });
      this.algorithms = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'PS256'];
    } else {
      this.key = props.signingKey;
      this.algorithms = ['HS256'];
    }
  }

  /**
   * Tokens already verified, until they expire: a token is immutable, so verifying it again (an HMAC or signature and
   * the claims) gives the same answer until `exp`. Bounded; a key withdrawn from the JWKS is not re-checked for a token
   * seen before (as with any verifier that caches, the token's own lifetime bounds that).
   */
  private readonly verified = new BoundedMap<
    string,
    { readonly principal: Principal; readonly expMs: number }
  >(10_000);

  get mode(): 'jwks' | 'local' {
    return 'jwksUrl' in this.props ? 'jwks' : 'local';
  }

  async verify(token: string): Promise<Principal> {
    const known = this.verified.get(token);
    if (known && known.expMs > Date.now()) return known.principal;
    let payload: JWTPayload;
    try {
      const options = {
        issuer: this.props.issuer,
        audience: this.props.audience,
        algorithms: this.algorithms,
        requiredClaims: ['sub', 'exp'],
      };
      ({ payload } =
        this.key instanceof Uint8Array
          ? await jwtVerify(token, this.key, options)
          : await jwtVerify(token, this.key, options));
    } catch (err) {
      // The provider's keys could not be fetched: not the client's fault, so not a 401.
      if (err instanceof errors.JWKSTimeout || !(err instanceof errors.JOSEError)) {
        throw new AppError(
          503,
          'identity-provider-unavailable',
          'the identity provider keys cannot be fetched',
          {
            cause: err,
            headers: { 'Retry-After': '5' },
          },
        );
      }
      throw new InvalidToken(reason(err), { cause: err });
    }
    const sub = payload.sub;
    if (typeof sub !== 'string' || !USER_ID.test(sub))
      throw new InvalidToken('the token subject is not valid');
    const principal = { id: sub, roles: rolesOf(payload[this.props.rolesClaim]) };
    if (typeof payload.exp === 'number') this.verified.set(token, { principal, expMs: payload.exp * 1000 });
    return principal;
  }
}

function rolesOf(claim: unknown): string[] {
  if (typeof claim === 'string') return claim.split(/\s+/).filter(Boolean);
  if (Array.isArray(claim)) return claim.filter((r): r is string => typeof r === 'string');
  return [];
}

function reason(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'the token has expired';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'the token signature is not valid';
  if (err instanceof errors.JWTClaimValidationFailed) return `the token claim '${err.claim}' is not valid`;
  if (err instanceof errors.JOSEAlgNotAllowed) return 'the token algorithm is not accepted';
  if (err instanceof errors.JWKSNoMatchingKey) return 'no key of the issuer matches the token';
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JOSEError) {
    return err instanceof errors.JWKSTimeout
      ? 'the identity provider keys could not be fetched'
      : 'the token is not valid';
  }
  return 'the token is not valid';
}
