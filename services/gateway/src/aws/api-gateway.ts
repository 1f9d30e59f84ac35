import { Registry } from 'prom-client';
import { OPENAPI_INFO } from '../app.ts';
import { adminRoutes } from '../routes/admin-routes.ts';
import { authRoutes } from '../routes/auth-routes.ts';
import { catalogRoutes } from '../routes/catalog-routes.ts';
import { shopRoutes } from '../routes/shop-routes.ts';
import { settings } from '../service.ts';

/**
 * The public API for Amazon API Gateway, from the same route schemas as the gateway's /openapi.json (OpenAPI 3.1):
 * OpenAPI 3.0 (what API Gateway imports) with `x-amazon-apigateway-integration` sending every route through a VPC
 * Link to the cluster's gateway Service (an NLB), a JWT authorizer for the issuer and audience the gateway accepts,
 * and stage throttling from the gateway's rate limits. Not imported by the service: `make api-gateway`
 * (scripts/api-gateway.ts) writes the files.
 */
export interface ApiGatewayOptions {
  /** VPC Link id: HTTP API (v2) `abc123`, or REST API (v1) VpcLink id. */
  readonly vpcLinkId: string;
  /** HTTP API: the NLB listener's ARN (private integrations name the listener). */
  readonly nlbListenerArn: string;
  /** REST API: the NLB's DNS name (a REST private integration names a URL on the NLB). */
  readonly nlbDnsName: string;
  /** The OIDC issuer the gateway verifies (`JWT_ISSUER` with `JWT_JWKS_URL`): an https URL with a JWKS. */
  readonly issuer: string;
  /** `JWT_AUDIENCE`. */
  readonly audience: string;
  /** The gateway's rate limits (its settings `RATE_LIMIT_*`). */
  readonly rateLimits: {
    readonly perUser: number;
    readonly perAddress: number;
    readonly windowSeconds: number;
  };
  /** API Gateway's integration timeout, ms (HTTP API: 50..30000). @default 29000 */
  readonly timeoutMs?: number;
}

type Json = Record<string, unknown>;

export const JWT_AUTHORIZER = 'meshmartJwt';
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

/** The OpenAPI 3.1 document the gateway serves at /openapi.json, built from the same routers as createApp. */
export function publicApiDocument(): Json {
  // The handlers are never called here: only the routes' schemas are read.
  const unused = undefined as never;
  const [first, ...rest] = [
    authRoutes({
      users: [],
      publisher: unused,
      take: unused,
      signInLimit: { capacity: 0, perSecond: 1 },
      rejections: unused,
    }),
    catalogRoutes({
      upstreams: unused,
      cache: unused,
      cacheTtlSeconds: 1,
      maxAgeSeconds: 1,
      registry: new Registry(),
      logger: unused,
    }),
    shopRoutes({ upstreams: unused }),
    adminRoutes({ upstreams: unused }),
  ];
  return first.openapi(OPENAPI_INFO, rest);
}

/** The gateway's defaults, as `make api-gateway` uses them unless told otherwise. */
export function gatewayRateLimits(): ApiGatewayOptions['rateLimits'] {
  return {
    perUser: settings.rateLimitUser.default ?? 0,
    perAddress: settings.rateLimitAddress.default ?? 0,
    windowSeconds: settings.rateLimitWindowSeconds.default ?? 60,
  };
}

/** Fails listing every option that API Gateway would reject, each with its fix. */
export function checkOptions(o: ApiGatewayOptions): void {
  const problems: string[] = [];
  if (!/^https:\/\/[^/]+/.test(o.issuer))
    problems.push(
      `issuer '${o.issuer}': API Gateway's JWT authorizer reads the issuer's JWKS, so it must be the https URL of an OIDC issuer (Cognito: https://cognito-idp.<region>.amazonaws.com/<user-pool-id>); run the gateway with the same JWT_ISSUER and JWT_JWKS_URL`,
    );
  if (o.audience === '') problems.push('audience: empty; use JWT_AUDIENCE (Cognito: the app client id)');
  if (!/^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:listener\/net\//.test(o.nlbListenerArn))
    problems.push(
      `nlbListenerArn '${o.nlbListenerArn}': must be an NLB listener ARN (arn:aws:elasticloadbalancing:...:listener/net/...)`,
    );
  if (!/^[a-z0-9]+$/.test(o.vpcLinkId))
    problems.push(`vpcLinkId '${o.vpcLinkId}': must be a VPC Link id such as 'abc123'`);
  if (!/^[a-z0-9.-]+$/i.test(o.nlbDnsName)) problems.push(`nlbDnsName '${o.nlbDnsName}': must be a DNS name`);
  const t = o.timeoutMs ?? 29_000;
  if (!(Number.isInteger(t) && t >= 50 && t <= 30_000)) problems.push(`timeoutMs ${t}: must be 50..30000`);
  if (problems.length > 0) throw new Error(`api-gateway export:\n  - ${problems.join('\n  - ')}`);
}

/** OpenAPI 3.1 -> 3.0.1: JSON Schema 2020-12 keywords that 3.0's schema object lacks are rewritten or dropped. */
export function toOpenApi30(doc: Json): Json {
  const out = schema30(structuredClone(doc)) as Json;
  // A 3.0 header object needs a schema; the route declarations only describe theirs.
  eachOperation(out, (_path, _method, op) => {
    for (const response of Object.values((op.responses ?? {}) as Record<string, Json>))
      for (const header of Object.values((response.headers ?? {}) as Record<string, Json>))
        if (!header.schema && !header.content) header.schema = { type: 'string' };
  });
  return { ...out, openapi: '3.0.1' };
}

function schema30(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(schema30);
  if (!node || typeof node !== 'object') return node;
  const src = node as Json;
  const out: Json = {};
  for (const [k, v] of Object.entries(src)) {
    if (k === '$id' || k === '$schema' || k === 'patternProperties' || k === 'contentMediaType') continue;
    if (k === 'const') out.enum = [v];
    else if (k === 'examples' && Array.isArray(v)) out.example = v[0];
    else if ((k === 'exclusiveMinimum' || k === 'exclusiveMaximum') && typeof v === 'number') {
      out[k === 'exclusiveMinimum' ? 'minimum' : 'maximum'] = v;
      out[k] = true;
    } else if (k === 'type' && Array.isArray(v)) {
      const types = v.filter((t) => t !== 'null');
      if (types.length === 1) out.type = types[0];
      else out.anyOf = types.map((t: unknown) => ({ type: t }));
      if (v.includes('null')) out.nullable = true;
    } else out[k] = schema30(v);
  }
  // `anyOf: [X, {type: null}]` (TypeBox's Optional/Union with Null) becomes X nullable.
  const anyOf = out.anyOf as Json[] | undefined;
  if (anyOf?.some((s) => s.type === 'null')) {
    const rest = anyOf.filter((s) => s.type !== 'null');
    delete out.anyOf;
    if (rest.length === 1) Object.assign(out, rest[0]);
    else out.anyOf = rest;
    out.nullable = true;
  }
  return out;
}

/** Path parameters in `{name}` form, in order. */
function pathParams(path: string): string[] {
  return [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
}

function eachOperation(doc: Json, f: (path: string, method: string, op: Json) => void): void {
  for (const [path, item] of Object.entries(doc.paths as Record<string, Json>))
    for (const method of METHODS) if (item[method]) f(path, method, item[method] as Json);
}

/** Stage throttling from the gateway's limits (API Gateway throttles in aggregate; see docs/aws.md). */
export function stageThrottling(o: ApiGatewayOptions): { rateLimit: number; burstLimit: number } {
  const perSecond = o.rateLimits.perAddress / o.rateLimits.windowSeconds;
  return { rateLimit: perSecond, burstLimit: Math.min(5_000, Math.max(1, Math.round(perSecond * 2))) };
}

/**
 * HTTP API (API Gateway v2): every route `http_proxy` through the VPC Link to the NLB listener, the request path
 * passed unchanged; routes with `bearerAuth` get the JWT authorizer; the root carries the stage throttling for
 * `aws apigatewayv2 update-stage` (x-meshmart-stage, ignored by the import).
 */
export function httpApiExport(doc31: Json, o: ApiGatewayOptions): Json {
  checkOptions(o);
  const doc = toOpenApi30(doc31);
  eachOperation(doc, (_path, method, op) => {
    op['x-amazon-apigateway-integration'] = {
      type: 'http_proxy',
      httpMethod: method.toUpperCase(),
      uri: o.nlbListenerArn,
      connectionType: 'VPC_LINK',
      connectionId: o.vpcLinkId,
      payloadFormatVersion: '1.0',
      timeoutInMillis: o.timeoutMs ?? 29_000,
    };
    if (op.security) op.security = [{ [JWT_AUTHORIZER]: [] }];
  });
  const components = (doc.components ?? {}) as Json;
  const { bearerAuth: _bearer, ...otherSchemes } = (components.securitySchemes ?? {}) as Json;
  const throttle = stageThrottling(o);
  return {
    ...doc,
    'x-amazon-apigateway-importexport-version': '1.0',
    components: {
      ...components,
      securitySchemes: {
        ...otherSchemes,
        [JWT_AUTHORIZER]: {
          type: 'oauth2',
          flows: {},
          'x-amazon-apigateway-authorizer': {
            type: 'jwt',
            jwtConfiguration: { issuer: o.issuer, audience: [o.audience] },
            identitySource: '$request.header.Authorization',
          },
        },
      },
    },
    'x-meshmart-stage': {
      stageName: '$default',
      defaultRouteSettings: {
        throttlingRateLimit: throttle.rateLimit,
        throttlingBurstLimit: throttle.burstLimit,
      },
    },
  };
}

/**
 * REST API (API Gateway v1), the variant moto can import: the same routes as `http_proxy` integrations through the
 * VPC Link to `http://<nlb>/<path>`, path parameters mapped; no authorizer (REST APIs have no JWT authorizer; the
 * gateway behind still verifies every token).
 */
export function restApiExport(doc31: Json, o: ApiGatewayOptions): Json {
  checkOptions(o);
  const doc = toOpenApi30(doc31);
  eachOperation(doc, (path, method, op) => {
    const params = pathParams(path);
    op['x-amazon-apigateway-integration'] = {
      type: 'http_proxy',
      httpMethod: method.toUpperCase(),
      uri: `http://${o.nlbDnsName}${path}`,
      connectionType: 'VPC_LINK',
      connectionId: o.vpcLinkId,
      passthroughBehavior: 'when_no_match',
      timeoutInMillis: o.timeoutMs ?? 29_000,
      ...(params.length > 0
        ? {
            requestParameters: Object.fromEntries(
              params.map((p) => [`integration.request.path.${p}`, `method.request.path.${p}`]),
            ),
          }
        : {}),
    };
    delete op.security;
  });
  const components = { ...((doc.components ?? {}) as Json) };
  delete components.securitySchemes;
  const info = doc.info as Json;
  return {
    ...doc,
    // moto (and the console) need a description.
    info: { ...info, description: (info.description as string | undefined) ?? info.title },
    components,
  };
}
