import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import {
  createServiceApp,
  type ApiRouter,
  type Health,
  type Logger,
  type Metrics,
  type OpenApiInfo,
} from '@meshmart/kit';
import type { RateLimit, RateLimiter } from './adapters/rate-limiter.ts';
import type { ResponseCache } from './adapters/response-cache.ts';
import type { Upstreams } from './adapters/upstreams.ts';
import type { UserActionPublisher } from './adapters/user-action-publisher.ts';
import type { LocalIssuer, TokenVerifier } from './domain/tokens.ts';
import type { DemoUser } from './domain/users.ts';
import { authenticate, authorize } from './middleware/authentication.ts';
import { guardedTake, rateLimit, rejectionCounter } from './middleware/rate-limit.ts';
import { cors } from './middleware/cors.ts';
import { setStaticHeaders, strictTransportSecurity } from './middleware/security-headers.ts';
import { webUi } from './middleware/web-ui.ts';
import { adminRoutes } from './routes/admin-routes.ts';
import { authRoutes } from './routes/auth-routes.ts';
import { catalogRoutes } from './routes/catalog-routes.ts';
import { renderDocsPage } from './routes/docs-page.ts';
import { shopRoutes } from './routes/shop-routes.ts';

type ExpressHandle = (req: IncomingMessage, res: ServerResponse, done?: (err?: unknown) => void) => void;

export interface GatewayAppDeps {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly health: Health;
  readonly upstreams: Upstreams;
  readonly verifier: TokenVerifier;
  /** The local issuer of demo-user tokens; absent when an OIDC provider issues them. */
  readonly issuer?: LocalIssuer;
  readonly users: readonly DemoUser[];
  readonly limiter: RateLimiter;
  readonly limits: {
    readonly perUser: RateLimit;
    readonly perAddress: RateLimit;
    /** Failed sign-ins per client address. */
    readonly signInFailures: RateLimit;
  };
  /** A rate-limit check slower than this lets the request through. @default 250 */
  readonly rateLimitTimeoutMs?: number;
  readonly cache: ResponseCache;
  readonly cacheTtlSeconds: number;
  readonly maxAgeSeconds: number;
  readonly publisher: UserActionPublisher;
  /** Reported in X-Stage (local, dev, prod...). */
  readonly stage: string;
  readonly corsOrigins: readonly string[];
  /** Proxies in front of the gateway whose X-Forwarded-For/-Proto are believed. @default 0 */
  readonly trustProxyHops?: number;
  /** The web UI's files (`prepareWebRoot()`); without it only the API is served. */
  readonly webRoot?: string;
  readonly bodyLimitBytes?: number;
  readonly slowRequestMs?: number;
  /** ADMIN_TOKEN: what the gateway sends with calls to the services' internal admin routes. */
  readonly adminToken?: string | undefined;
}

export const OPENAPI_INFO: OpenApiInfo = {
  title: 'MeshMart public API',
  version: '1.0.0',
  description: [
    'The API of the MeshMart store, served by the gateway under /api/v1. Errors are RFC 9457 application/problem+json.',
    '',
    'Sign in: POST /api/v1/auth/token {"username","password"} and send `Authorization: Bearer <access_token>`.',
    'Demo users (local issuer; password = user name): alice / alice and bob / bob (customers), admin / admin (admin).',
    '',
    'Rate limits per user and per client address answer 429 with Retry-After and RateLimit-* headers. Catalog reads',
    'are public and cacheable (ETag, If-None-Match -> 304); everything per user is Cache-Control: private, no-store.',
    'Every response carries X-Request-Id, X-API-Version and X-Stage.',
  ].join('\n'),
  securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
};

export function createApp(deps: GatewayAppDeps) {
  const { logger, metrics, upstreams } = deps;
  const limiting = {
    limiter: deps.limiter,
    registry: metrics.registry,
    logger,
    ...(deps.rateLimitTimeoutMs !== undefined ? { timeoutMs: deps.rateLimitTimeoutMs } : {}),
  };
  const routers: ApiRouter[] = [
    authRoutes({
      users: deps.users,
      ...(deps.issuer ? { issuer: deps.issuer } : {}),
      publisher: deps.publisher,
      take: guardedTake(limiting),
      signInLimit: deps.limits.signInFailures,
      rejections: rejectionCounter(metrics.registry),
    }),
    catalogRoutes({
      upstreams,
      cache: deps.cache,
      cacheTtlSeconds: deps.cacheTtlSeconds,
      maxAgeSeconds: deps.maxAgeSeconds,
      registry: metrics.registry,
      logger,
      adminToken: deps.adminToken,
    }),
    shopRoutes({ upstreams }),
    adminRoutes({ upstreams }),
  ];
  const [first, ...rest] = routers;
  const docsPage = renderDocsPage(first.openapi(OPENAPI_INFO, rest));
  const docs: RequestHandler = (req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || (req.path !== '/docs' && req.path !== '/docs/')) {
      next();
      return;
    }
    res.locals.route = '/docs';
    res.setHeader('Cache-Control', 'no-cache');
    res.type('html').send(docsPage);
  };
  const middleware: RequestHandler[] = [
    strictTransportSecurity(),
    cors({ origins: deps.corsOrigins }),
    docs,
    ...(deps.webRoot ? [webUi(deps.webRoot)] : []),
    authenticate({ verifier: deps.verifier, publisher: deps.publisher }),
    rateLimit({ ...limiting, perUser: deps.limits.perUser, perAddress: deps.limits.perAddress }),
    authorize(),
  ];
  const app = createServiceApp({
    service: 'gateway',
    logger,
    metrics,
    health: deps.health,
    routers,
    middleware,
    openapi: OPENAPI_INFO,
    ...(deps.bodyLimitBytes !== undefined ? { bodyLimitBytes: deps.bodyLimitBytes } : {}),
    ...(deps.slowRequestMs !== undefined ? { slowRequestMs: deps.slowRequestMs } : {}),
  });
  app.set('trust proxy', deps.trustProxyHops ?? 0);
  // Outside the kit's front door (as the kit wraps Express), so even the answers it makes itself carry the headers.
  const inner = app as unknown as { handle: ExpressHandle };
  const handle = inner.handle.bind(app);
  inner.handle = (req, res, done) => {
    setStaticHeaders(req.url ?? '/', res, deps.stage);
    handle(req, res, done);
  };
  return app;
}
