import {
  bool,
  ConfigError,
  type ConfigOf,
  type Logger,
  defineService,
  int,
  openStores,
  optional,
  secret,
  type Setting,
  storeSettings,
  str,
  upstreamUrl,
  url,
} from '@meshmart/kit';
import { service as catalogueEntry } from '@meshmart/catalogue';
import { upstreamPolicyFromEnv } from '@meshmart/kit/http';
import { InMemoryRateLimiter } from './adapters/in-memory-rate-limiter.ts';
import { InMemoryResponseCache } from './adapters/in-memory-response-cache.ts';
import { RedisRateLimiter } from './adapters/redis-rate-limiter.ts';
import { RedisResponseCache } from './adapters/redis-response-cache.ts';
import { UPSTREAMS, Upstreams, type Upstream } from './adapters/upstreams.ts';
import { UserActionPublisher } from './adapters/user-action-publisher.ts';
import { LocalIssuer, TokenVerifier } from './domain/tokens.ts';
import { DEMO_USERS, loadTestUsers } from './domain/users.ts';

const requestsPerWindow = (env: string, fallback: number, who: string) =>
  int({
    env,
    default: fallback,
    min: 0,
    max: 1_000_000,
    doc: `requests per RATE_LIMIT_WINDOW_SECONDS ${who} (a token bucket that size, refilled evenly); 0 = no limit`,
  });

/** `<NAME>_URL` of every upstream, as the settings `<name>Url`. */
const upstreamUrls = Object.fromEntries(UPSTREAMS.map((u) => [`${u}Url`, upstreamUrl(u)])) as {
  readonly [U in Upstream as `${U}Url`]: Setting<string>;
};

export const settings = {
  ...storeSettings('gateway'),
  ...upstreamUrls,
  upstreamTimeoutMs: int({
    env: 'UPSTREAM_TIMEOUT_MS',
    default: 2000,
    min: 1,
    doc: 'deadline of one upstream call, retries included, unless UPSTREAM_<NAME>_TIMEOUT_MS sets one',
  }),
  stage: str({
    env: 'STAGE',
    default: 'local',
    pattern: /^[a-z0-9-]{1,32}$/,
    doc: "deployment stage reported in X-Stage; only 'local' may generate a JWT signing key at start",
  }),
  jwtSigningKey: optional(
    secret({
      env: 'JWT_SIGNING_KEY',
      minLength: 32,
      doc: 'HS256 key of the local token issuer (Secret meshmart-gateway, key jwt-signing-key)',
    }),
  ),
  jwtJwksUrl: optional(
    url({
      env: 'JWT_JWKS_URL',
      protocols: ['http', 'https'],
      doc: 'JWKS of an OIDC provider (Cognito: https://cognito-idp.<region>.amazonaws.com/<pool>/.well-known/jwks.json); set = tokens are verified against it',
    }),
  ),
  jwtIssuer: str({ env: 'JWT_ISSUER', default: 'meshmart-gateway', doc: 'expected (and issued) iss claim' }),
  jwtAudience: str({ env: 'JWT_AUDIENCE', default: 'meshmart', doc: 'expected (and issued) aud claim' }),
  jwtRolesClaim: str({
    env: 'JWT_ROLES_CLAIM',
    default: 'roles',
    doc: 'claim holding the roles (cognito:groups for Cognito)',
  }),
  jwtTtlSeconds: int({
    env: 'JWT_TTL_SECONDS',
    default: 3600,
    min: 60,
    max: 86400,
    doc: 'lifetime of issued tokens',
  }),
  loadUsers: int({
    env: 'LOAD_USERS',
    default: 0,
    min: 0,
    max: 100_000,
    doc: 'load-test customers load-1 … load-N (password = user name) for make load; local stage only',
  }),
  demoUsers: bool({
    env: 'DEMO_USERS',
    default: true,
    doc: 'issue tokens for the demo users alice, bob and admin (POST /api/v1/auth/token)',
  }),
  rateLimitUser: requestsPerWindow('RATE_LIMIT_USER', 1200, 'per signed-in user'),
  rateLimitAddress: requestsPerWindow('RATE_LIMIT_ADDRESS', 6000, 'per client address'),
  rateLimitSignIn: int({
    env: 'RATE_LIMIT_SIGN_IN',
    default: 10,
    min: 0,
    max: 1_000_000,
    doc: 'failed sign-ins per RATE_LIMIT_WINDOW_SECONDS per client address, then 429 until the bucket refills (successes cost nothing); 0 = no limit',
  }),
  rateLimitWindowSeconds: int({
    env: 'RATE_LIMIT_WINDOW_SECONDS',
    default: 60,
    min: 1,
    max: 86400,
    doc: 'the window the rate limits are counted over',
  }),
  rateLimitTimeoutMs: int({
    env: 'RATE_LIMIT_TIMEOUT_MS',
    default: 250,
    min: 1,
    doc: 'a rate-limit check slower than this lets the request through',
  }),
  catalogCacheTtlSeconds: int({
    env: 'CATALOG_CACHE_TTL_SECONDS',
    default: 10,
    min: 0,
    max: 3600,
    doc: 'how long the gateway caches a catalog read (bounds staleness of changes not made through it); 0 = off',
  }),
  catalogMaxAgeSeconds: int({
    env: 'CATALOG_MAX_AGE_SECONDS',
    default: 30,
    min: 0,
    max: 86400,
    doc: 'Cache-Control max-age of catalog reads for browsers and CDNs',
  }),
  corsOrigins: str({
    env: 'CORS_ORIGINS',
    default: '',
    pattern: /^(?:https?:\/\/[^\s,/]+(?:,https?:\/\/[^\s,/]+)*)?$/,
    doc: 'comma-separated origins allowed to call the API from a browser (the served UI is same-origin)',
  }),
  trustProxyHops: int({
    env: 'TRUST_PROXY_HOPS',
    default: 0,
    min: 0,
    max: 10,
    doc: 'proxies in front of the gateway (load balancer: 1) whose X-Forwarded-For/-Proto are believed',
  }),
  webUi: bool({ env: 'WEB_UI', default: true, doc: 'serve the web UI at /' }),
};

export const definition = defineService({
  service: 'gateway',
  defaultPort: catalogueEntry('gateway').port,
  settings,
  build: async (kit) => {
    const { config, logger } = kit;
    const { verifier, issuer } = tokens(config, logger);
    const stores = await openStores({ ...kit, service: 'gateway', mongo: false });
    const limiter = stores.redis
      ? new RedisRateLimiter({ client: stores.redis, keyPrefix: stores.redisKeyPrefix })
      : new InMemoryRateLimiter();
    const cache = stores.redis
      ? new RedisResponseCache({ client: stores.redis, keyPrefix: stores.redisKeyPrefix })
      : new InMemoryResponseCache();
    const upstreams = new Upstreams({
      urls: Object.fromEntries(UPSTREAMS.map((u) => [u, config[`${u}Url`]])) as Record<Upstream, string>,
      timeoutMs: config.upstreamTimeoutMs,
      policies: Object.fromEntries(UPSTREAMS.map((u) => [u, upstreamPolicyFromEnv(u)])),
      registry: kit.metrics.registry,
      logger,
    });
    const publisher = new UserActionPublisher({ bus: stores.bus, logger, registry: kit.metrics.registry });
    let webRoot: string | undefined;
    if (config.webUi) {
      const { prepareWebRoot } = await import('@meshmart/web');
      webRoot = await prepareWebRoot();
    }
    const bucket = (n: number) => ({ capacity: n, perSecond: n / config.rateLimitWindowSeconds });
    const { createApp } = await import('./app.ts');
    return {
      app: createApp({
        logger,
        metrics: kit.metrics,
        health: kit.health,
        upstreams,
        verifier,
        ...(issuer ? { issuer } : {}),
        users: [...(config.demoUsers ? DEMO_USERS : []), ...loadTestUsers(config.loadUsers)],
        limiter,
        limits: {
          perUser: bucket(config.rateLimitUser),
          perAddress: bucket(config.rateLimitAddress),
          signInFailures: bucket(config.rateLimitSignIn),
        },
        rateLimitTimeoutMs: config.rateLimitTimeoutMs,
        cache,
        cacheTtlSeconds: config.catalogCacheTtlSeconds,
        maxAgeSeconds: config.catalogMaxAgeSeconds,
        publisher,
        stage: config.stage,
        corsOrigins: config.corsOrigins ? config.corsOrigins.split(',') : [],
        trustProxyHops: config.trustProxyHops,
        ...(webRoot ? { webRoot } : {}),
        bodyLimitBytes: config.bodyLimitBytes,
        slowRequestMs: config.slowRequestMs,
        adminToken: config.adminToken,
      }),
      closers: [{ name: 'upstream-clients', close: () => upstreams.close() }, ...stores.closers],
    };
  },
});

type GatewayConfig = ConfigOf<typeof settings>;

/**
 * Who signs and who verifies. A JWKS URL means an OIDC provider (Cognito) issues tokens and the gateway only
 * verifies them; otherwise the gateway is the issuer, with the key from config, or in the local stage only a key
 * generated at start (tokens then die with the process, and each replica would have its own key).
 */
function tokens(config: GatewayConfig, logger: Logger): { verifier: TokenVerifier; issuer?: LocalIssuer } {
  const claims = { issuer: config.jwtIssuer, audience: config.jwtAudience, rolesClaim: config.jwtRolesClaim };
  if (config.jwtJwksUrl) {
    logger.info({ jwks: config.jwtJwksUrl }, 'verifying tokens against the identity provider JWKS');
    return { verifier: new TokenVerifier({ ...claims, jwksUrl: config.jwtJwksUrl }) };
  }
  if (config.loadUsers > 0 && config.stage !== 'local') {
    throw new ConfigError('gateway', [
      `LOAD_USERS (${config.loadUsers} load-test customers) is only for the local stage (STAGE=${config.stage}); unset it`,
    ]);
  }
  let signingKey: Uint8Array;
  if (config.jwtSigningKey) signingKey = new TextEncoder().encode(config.jwtSigningKey);
  else if (config.stage === 'local') {
    signingKey = LocalIssuer.generateKey();
    logger.warn(
      { stage: config.stage },
      'local mode: JWT_SIGNING_KEY is not set, generated a signing key for this process (tokens end with it)',
    );
  } else {
    throw new ConfigError('gateway', [
      `JWT_SIGNING_KEY or JWT_JWKS_URL is required outside the local stage (STAGE=${config.stage})`,
    ]);
  }
  return {
    verifier: new TokenVerifier({ ...claims, signingKey }),
    issuer: new LocalIssuer({ ...claims, signingKey, ttlSeconds: config.jwtTtlSeconds }),
  };
}
