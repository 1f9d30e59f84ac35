import { catalogue, SERVICE_NAMES, type ServiceEntry, type ServiceName } from '@meshmart/catalogue';
import { APP_NAMESPACE, versionedName } from './names.ts';

/**
 * The traffic model: who calls whom and how, derived from the service catalogue. Pure data; the renderers in
 * mesh/render turn it into App Mesh, Gateway API (VPC Lattice) and NetworkPolicy objects, and client-policy.ts into
 * the env vars of the kit's HTTP client, so every backend (and none, on kind) enforces the same policy.
 */

export type HttpMethod = 'GET' | 'HEAD' | 'OPTIONS' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Envoy's HTTP retry events (App Mesh `httpRetryEvents`) plus the TCP `connection-error`. */
export type RetryEvent =
  'server-error' | 'gateway-error' | 'client-error' | 'stream-error' | 'connection-error';

export interface RetryPolicy {
  /** Retries after the first attempt. */
  readonly maxRetries: number;
  /** Deadline of one attempt. */
  readonly perTryTimeoutMs: number;
  readonly events: readonly RetryEvent[];
}

/**
 * How a route matches a header. `exact` is the only kind VPC Lattice carries; `present` (any non-empty value) and
 * `regex` are carried by App Mesh only and reported for Lattice.
 */
export type HeaderMatch =
  | { readonly name: string; readonly exact: string }
  | { readonly name: string; readonly present: true }
  | { readonly name: string; readonly regex: string };

export interface RouteMatch {
  /** @default '/' */
  readonly pathPrefix?: string;
  /** One method, or any method when unset. */
  readonly method?: HttpMethod;
  readonly headers?: readonly HeaderMatch[];
}

export interface TrafficRoute {
  /** DNS-1123 label, unique within the service: `reads`, `idempotent-writes`, `writes`. */
  readonly name: string;
  readonly match: RouteMatch;
  /** Deadline of the whole request, retries included. */
  readonly timeoutMs: number;
  /** Absent: never retried (a write without an Idempotency-Key could be applied twice). */
  readonly retry?: RetryPolicy | undefined;
}

export interface HealthCheck {
  readonly path: string;
  readonly port: number;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
}

/** Envoy outlier detection; the kit's circuit breaker mirrors it per upstream. */
export interface OutlierDetection {
  readonly maxServerErrors: number;
  readonly intervalMs: number;
  readonly baseEjectionMs: number;
  readonly maxEjectionPercent: number;
}

export interface ConnectionPool {
  readonly maxConnections: number;
  readonly maxPendingRequests: number;
}

export type TlsMode = 'disabled' | 'permissive' | 'strict';

export interface TlsPolicy {
  /** `strict`: mTLS only; `permissive`: TLS and plaintext; `disabled`: plaintext. @default 'disabled' */
  readonly mode: TlsMode;
  /**
   * SPIFFE trust domain of the SDS (SPIRE) certificates App Mesh uses for mTLS: each workload's identity is
   * `spiffe://<trustDomain>/ns/<namespace>/sa/<service>`. @default 'meshmart.local'
   */
  readonly trustDomain: string;
}

export interface ServiceVersion {
  /** The `app.kubernetes.io/version` label of the version's pods, e.g. `v1`. */
  readonly version: string;
  /** Share of the service's traffic, 0..100; a service's weights sum to 100. */
  readonly weight: number;
}

export interface ServicePolicy {
  readonly name: ServiceName;
  readonly port: number;
  readonly public: boolean;
  readonly dependsOn: readonly ServiceName[];
  /** Services that call this one, in catalogue order. */
  readonly callers: readonly ServiceName[];
  /** Evaluated in order: the first match wins. */
  readonly routes: readonly TrafficRoute[];
  readonly healthCheck: HealthCheck;
  readonly outlierDetection: OutlierDetection;
  readonly connectionPool: ConnectionPool;
  /** Stable version first. */
  readonly versions: readonly ServiceVersion[];
  readonly entry: ServiceEntry;
}

export interface TrafficEdge {
  /** `ingress` is the outside world entering through the public service. */
  readonly from: ServiceName | 'ingress';
  readonly to: ServiceName;
}

export interface TrafficModel {
  readonly namespace: string;
  readonly services: readonly ServicePolicy[];
  /** Every allowed call: the catalogue's dependsOn plus the ingress into the public service. */
  readonly edges: readonly TrafficEdge[];
  readonly ingress: { readonly service: ServiceName; readonly port: number };
  readonly tls: TlsPolicy;
}

export interface CanaryOptions {
  readonly service: ServiceName;
  /** The new version's label, e.g. `v2`. */
  readonly version: string;
  /** Its share, taken from the stable version. */
  readonly weight: number;
}

/** Per-service changes to the defaults; anything unset keeps the default. */
export interface ServiceOverrides {
  /** Replaces the whole version list (weights must sum to 100). @default [{ version: 'v1', weight: 100 }] */
  readonly versions?: readonly ServiceVersion[];
  /** Replaces the routes. @default reads (GET, retried), idempotent-writes (when enabled), writes (not retried) */
  readonly routes?: readonly TrafficRoute[];
  /** Deadline of a GET. @default 2_000 (per service, see SERVICE_DEFAULTS) */
  readonly readTimeoutMs?: number;
  /** Deadline of a write. @default 5_000 */
  readonly writeTimeoutMs?: number;
  /** Writes carrying an Idempotency-Key may be retried. @default false (true for payments, inventory, checkout) */
  readonly idempotentWrites?: boolean;
  /** Retry policy of reads (and of idempotent writes unless `writeRetry` is set). */
  readonly retry?: Partial<RetryPolicy>;
  /** Retry policy of writes carrying an Idempotency-Key. @default retry */
  readonly writeRetry?: Partial<RetryPolicy>;
  readonly healthCheck?: Partial<HealthCheck>;
  readonly outlierDetection?: Partial<OutlierDetection>;
  readonly connectionPool?: Partial<ConnectionPool>;
}

export interface TrafficModelOptions {
  /** @default 'meshmart' */
  readonly namespace?: string;
  /** Each moves `weight` percent from the stable version `v1` to `version`. @default none */
  readonly canaries?: readonly CanaryOptions[];
  /** @default { mode: 'disabled', trustDomain: 'meshmart.local' } */
  readonly tls?: Partial<TlsPolicy>;
  readonly services?: Partial<Readonly<Record<ServiceName, ServiceOverrides>>>;
}

export const STABLE_VERSION = 'v1';
/** App Mesh allows 10 weighted targets per route; Lattice would allow more, the model keeps the smaller limit. */
export const MAX_VERSIONS = 10;
export const IDEMPOTENCY_HEADER = 'idempotency-key';

const DEFAULT_RETRY: RetryPolicy = {
  maxRetries: 2,
  perTryTimeoutMs: 700,
  events: ['server-error', 'gateway-error', 'connection-error'],
};

/** Sane defaults per service: what differs from the generic defaults and why. */
const SERVICE_DEFAULTS: Partial<Readonly<Record<ServiceName, ServiceOverrides>>> = {
  // Browsing must feel instant; a slow catalog read is better failed fast and retried.
  catalog: { readTimeoutMs: 1_000, retry: { perTryTimeoutMs: 300 } },
  // Reservations and payments take an Idempotency-Key, so their writes are safe to retry.
  inventory: { idempotentWrites: true },
  payments: { idempotentWrites: true, writeTimeoutMs: 8_000, writeRetry: { perTryTimeoutMs: 2_500 } },
  // The saga runs several upstream calls inside one request.
  checkout: { idempotentWrites: true, writeTimeoutMs: 15_000, writeRetry: { perTryTimeoutMs: 5_000 } },
};

const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Builds the model from the catalogue; throws one error listing every problem in the options. */
export function trafficModel(options: TrafficModelOptions = {}): TrafficModel {
  const problems: string[] = [];
  const namespace = options.namespace ?? APP_NAMESPACE;
  if (!LABEL.test(namespace)) {
    problems.push(`namespace '${namespace}' is not a DNS-1123 label: use lowercase letters, digits and '-'`);
  }
  const tls: TlsPolicy = {
    mode: options.tls?.mode ?? 'disabled',
    trustDomain: options.tls?.trustDomain ?? 'meshmart.local',
  };
  if (!['disabled', 'permissive', 'strict'].includes(tls.mode)) {
    problems.push(`tls.mode '${String(tls.mode)}' is unknown: use 'disabled', 'permissive' or 'strict'`);
  }

  const known = new Set<string>(SERVICE_NAMES);
  for (const name of Object.keys(options.services ?? {})) {
    if (!known.has(name)) problems.push(unknownService(`services.${name}`, name));
  }
  for (const canary of options.canaries ?? []) {
    if (!known.has(canary.service)) problems.push(unknownService('canaries', canary.service));
  }

  const services = catalogue.map((entry) => {
    const name = entry.name as ServiceName;
    const overrides = mergeOverrides(SERVICE_DEFAULTS[name], options.services?.[name]);
    const versions = versionsOf(name, overrides.versions, options.canaries ?? [], problems);
    const routes = overrides.routes ?? defaultRoutes(overrides);
    checkRoutes(name, routes, problems);
    const callers = catalogue.filter((c) => c.dependsOn.includes(name)).map((c) => c.name as ServiceName);
    const healthCheck: HealthCheck = {
      path: '/healthz/ready',
      port: entry.port,
      intervalMs: 10_000,
      timeoutMs: 2_000,
      healthyThreshold: 2,
      unhealthyThreshold: 3,
      ...overrides.healthCheck,
    };
    checkHealth(name, healthCheck, problems);
    const policy: ServicePolicy = {
      name,
      port: entry.port,
      public: entry.public,
      dependsOn: entry.dependsOn,
      callers,
      routes,
      healthCheck,
      outlierDetection: {
        maxServerErrors: 5,
        intervalMs: 10_000,
        baseEjectionMs: 30_000,
        maxEjectionPercent: 50,
        ...overrides.outlierDetection,
      },
      connectionPool: { maxConnections: 64, maxPendingRequests: 256, ...overrides.connectionPool },
      versions,
      entry,
    };
    return policy;
  });

  const publicServices = catalogue.filter((s) => s.public);
  if (publicServices.length !== 1) {
    problems.push(
      `the catalogue marks ${publicServices.length} services public; the model needs exactly one ingress service`,
    );
  }
  if (problems.length > 0) {
    throw new Error(`trafficModel: ${problems.length} problem(s):\n- ${problems.join('\n- ')}`);
  }
  const ingress = publicServices[0];
  const ingressName = ingress.name as ServiceName;
  const edges: TrafficEdge[] = [
    { from: 'ingress', to: ingressName },
    ...services.flatMap((s) => s.dependsOn.map((to) => ({ from: s.name, to }))),
  ];
  return deepFreeze({
    namespace,
    services,
    edges,
    ingress: { service: ingressName, port: ingress.port },
    tls,
  });
}

/** The policy of one service; throws naming the known services when there is none. */
export function servicePolicy(model: TrafficModel, name: string): ServicePolicy {
  const found = model.services.find((s) => s.name === name);
  if (!found) throw new Error(unknownService('servicePolicy', name));
  return found;
}

function unknownService(where: string, name: string): string {
  return `${where}: no service '${name}' in the catalogue; use one of ${SERVICE_NAMES.join(', ')} (or add it to services/catalogue/src/catalogue.ts)`;
}

function mergeOverrides(
  base: ServiceOverrides | undefined,
  extra: ServiceOverrides | undefined,
): ServiceOverrides {
  return {
    ...base,
    ...extra,
    retry: { ...base?.retry, ...extra?.retry },
    writeRetry: { ...base?.retry, ...base?.writeRetry, ...extra?.retry, ...extra?.writeRetry },
    healthCheck: { ...base?.healthCheck, ...extra?.healthCheck },
    outlierDetection: { ...base?.outlierDetection, ...extra?.outlierDetection },
    connectionPool: { ...base?.connectionPool, ...extra?.connectionPool },
  };
}

function defaultRoutes(overrides: ServiceOverrides): TrafficRoute[] {
  const retry: RetryPolicy = { ...DEFAULT_RETRY, ...overrides.retry };
  const readTimeoutMs = overrides.readTimeoutMs ?? 2_000;
  const writeTimeoutMs = overrides.writeTimeoutMs ?? 5_000;
  const routes: TrafficRoute[] = [
    { name: 'reads', match: { pathPrefix: '/', method: 'GET' }, timeoutMs: readTimeoutMs, retry },
  ];
  if (overrides.idempotentWrites ?? false) {
    routes.push({
      name: 'idempotent-writes',
      match: { pathPrefix: '/', headers: [{ name: IDEMPOTENCY_HEADER, present: true }] },
      timeoutMs: writeTimeoutMs,
      retry: { ...DEFAULT_RETRY, ...overrides.writeRetry },
    });
  }
  routes.push({ name: 'writes', match: { pathPrefix: '/' }, timeoutMs: writeTimeoutMs });
  return routes;
}

function versionsOf(
  service: ServiceName,
  explicit: readonly ServiceVersion[] | undefined,
  canaries: readonly CanaryOptions[],
  problems: string[],
): ServiceVersion[] {
  const mine = canaries.filter((c) => c.service === service);
  if (explicit && mine.length > 0) {
    problems.push(`${service}: both services.${service}.versions and canaries are set; use one of them`);
  }
  let versions: ServiceVersion[];
  if (explicit) {
    versions = explicit.map((v) => ({ version: v.version, weight: v.weight }));
  } else {
    const canaryWeight = mine.reduce((sum, c) => sum + c.weight, 0);
    if (canaryWeight > 100) {
      const detail = mine.map((c) => `${c.version}=${c.weight}`).join(', ');
      problems.push(
        `${service}: canary weights take ${canaryWeight}% (${detail}); lower them so they take at most 100`,
      );
      return mine.map((c) => ({ version: c.version, weight: c.weight }));
    }
    versions = [
      { version: STABLE_VERSION, weight: 100 - canaryWeight },
      ...mine.map((c) => ({ version: c.version, weight: c.weight })),
    ];
  }
  if (versions.length === 0)
    problems.push(`${service}: no versions; give at least one, e.g. { version: 'v1', weight: 100 }`);
  if (versions.length > MAX_VERSIONS) {
    problems.push(
      `${service}: ${versions.length} versions; at most ${MAX_VERSIONS} weighted targets are allowed, retire old versions first`,
    );
  }
  const seen = new Set<string>();
  for (const v of versions) {
    if (!LABEL.test(v.version) || versionedName(service, v.version).length > 63) {
      problems.push(`${service}: version '${v.version}' must be a short DNS-1123 label such as 'v2'`);
    }
    if (seen.has(v.version))
      problems.push(`${service}: version '${v.version}' appears twice; give each version once`);
    seen.add(v.version);
    if (!Number.isInteger(v.weight) || v.weight < 0 || v.weight > 100) {
      problems.push(
        `${service}: weight ${v.weight} of version '${v.version}' must be a whole number from 0 to 100`,
      );
    }
  }
  const sum = versions.reduce((s, v) => s + v.weight, 0);
  if (sum !== 100) {
    const detail = versions.map((v) => `${v.version}=${v.weight}`).join(', ');
    problems.push(`${service}: weights sum to ${sum} (${detail}); make them sum to 100`);
  }
  return versions;
}

function checkRoutes(service: ServiceName, routes: readonly TrafficRoute[], problems: string[]): void {
  if (routes.length === 0)
    problems.push(`${service}: no routes; give at least one (the default is reads + writes)`);
  const names = new Set<string>();
  for (const r of routes) {
    const where = `${service} route '${r.name}'`;
    if (!LABEL.test(r.name)) problems.push(`${where}: the name must be a DNS-1123 label`);
    if (names.has(r.name))
      problems.push(`${where}: the name is used twice; route names must be unique per service`);
    names.add(r.name);
    if (!(Number.isInteger(r.timeoutMs) && r.timeoutMs > 0)) {
      problems.push(`${where}: timeoutMs ${r.timeoutMs} must be a whole number of milliseconds > 0`);
    }
    if (r.match.pathPrefix !== undefined && !r.match.pathPrefix.startsWith('/')) {
      problems.push(`${where}: pathPrefix '${r.match.pathPrefix}' must start with '/'`);
    }
    if (r.retry) {
      if (!Number.isInteger(r.retry.maxRetries) || r.retry.maxRetries < 0 || r.retry.maxRetries > 10) {
        problems.push(`${where}: maxRetries ${r.retry.maxRetries} must be a whole number from 0 to 10`);
      }
      if (!(Number.isInteger(r.retry.perTryTimeoutMs) && r.retry.perTryTimeoutMs > 0)) {
        problems.push(`${where}: perTryTimeoutMs must be a whole number of milliseconds > 0`);
      } else if (r.retry.perTryTimeoutMs > r.timeoutMs) {
        problems.push(
          `${where}: perTryTimeoutMs ${r.retry.perTryTimeoutMs} exceeds the route timeout ${r.timeoutMs}; lower it so a retry fits`,
        );
      }
      if (r.retry.events.length === 0)
        problems.push(`${where}: a retry policy needs at least one retry event`);
    }
    // A route without a method also matches POST and PATCH.
    const unsafe =
      r.match.method === undefined || !['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'].includes(r.match.method);
    const keyed = (r.match.headers ?? []).some((h) => h.name.toLowerCase() === IDEMPOTENCY_HEADER);
    if (r.retry && unsafe && !keyed) {
      problems.push(
        `${where}: ${r.match.method ?? 'any method (POST included)'} is not idempotent; retry it only on a route that matches the ${IDEMPOTENCY_HEADER} header, or match an idempotent method`,
      );
    }
  }
}

function checkHealth(service: ServiceName, h: HealthCheck, problems: string[]): void {
  // The tighter of App Mesh's (ms, >= 5 s interval, >= 2 s timeout) and Lattice's (seconds) limits.
  const where = `${service} healthCheck`;
  if (!(h.intervalMs >= 5_000 && h.intervalMs <= 300_000 && h.intervalMs % 1_000 === 0)) {
    problems.push(`${where}: intervalMs ${h.intervalMs} must be whole seconds from 5_000 to 300_000`);
  }
  if (!(h.timeoutMs >= 2_000 && h.timeoutMs <= 60_000 && h.timeoutMs % 1_000 === 0)) {
    problems.push(`${where}: timeoutMs ${h.timeoutMs} must be whole seconds from 2_000 to 60_000`);
  }
  for (const [key, value] of [
    ['healthyThreshold', h.healthyThreshold],
    ['unhealthyThreshold', h.unhealthyThreshold],
  ] as const) {
    if (!Number.isInteger(value) || value < 2 || value > 10) {
      problems.push(`${where}: ${key} ${value} must be a whole number from 2 to 10`);
    }
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
