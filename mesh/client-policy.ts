import { upstreamEnvPrefix } from '@meshmart/kit/upstream-policy';
import {
  IDEMPOTENCY_HEADER,
  servicePolicy,
  type ServicePolicy,
  type TrafficModel,
  type TrafficRoute,
} from './model.ts';

export interface ClientPolicyOptions {
  /**
   * Set when a mesh (App Mesh's Envoy) already retries: the client then makes one attempt per call so retries do not
   * multiply (3 client attempts x 3 Envoy attempts = 9). Timeouts and the breaker stay on either way.
   * @default false
   */
  readonly meshRetries?: boolean;
  /**
   * Sign every call with SigV4 for VPC Lattice's IAMAuthPolicy (service `vpc-lattice-svcs`, in this region): adds
   * `SIGV4_SERVICE` and `SIGV4_REGION` to each upstream. Only the Lattice profiles set it.
   * @default no signing
   */
  readonly sigv4?: { readonly region: string };
}

/** The signing name of VPC Lattice services (the `vpc-lattice-svcs:Invoke` action of IAMAuthPolicy). */
export const LATTICE_SIGNING_SERVICE = 'vpc-lattice-svcs';

// One definition of the env names, shared with the kit's reader (upstreamPolicyFromEnv).
export { upstreamEnvPrefix };

/**
 * The env vars that carry each upstream's timeouts, retries, breaker and connection limit to the kit's HTTP client
 * (HttpClientOptions): the policy Lattice cannot enforce, and the same behaviour with no mesh at all. Keys sorted.
 *
 * Per upstream, reads (GET): `TIMEOUT_MS`, `ATTEMPT_TIMEOUT_MS`, `RETRIES`; writes: `WRITE_TIMEOUT_MS`,
 * `WRITE_ATTEMPT_TIMEOUT_MS`, `WRITE_RETRIES` (retries apply only to writes sent with an Idempotency-Key, which the
 * kit's client enforces); the breaker: `BREAKER_FAILURE_THRESHOLD`, `BREAKER_OPEN_MS`; the pool: `CONNECTIONS`; with
 * `sigv4`, the signing of every call: `SIGV4_SERVICE`, `SIGV4_REGION`.
 */
export function clientPolicyEnv(
  model: TrafficModel,
  service: string,
  options: ClientPolicyOptions = {},
): Record<string, string> {
  const caller = servicePolicy(model, service);
  const env: Record<string, string> = {};
  for (const name of caller.dependsOn) {
    const upstream = servicePolicy(model, name);
    for (const [key, value] of Object.entries(upstreamSettings(upstream, options))) {
      env[`${upstreamEnvPrefix(name)}${key}`] = String(value);
    }
    if (options.sigv4) {
      env[`${upstreamEnvPrefix(name)}SIGV4_SERVICE`] = LATTICE_SIGNING_SERVICE;
      env[`${upstreamEnvPrefix(name)}SIGV4_REGION`] = options.sigv4.region;
    }
  }
  return Object.fromEntries(Object.entries(env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** One upstream's client settings, as numbers, keyed without the prefix. */
export function upstreamSettings(
  upstream: ServicePolicy,
  options: ClientPolicyOptions = {},
): Record<string, number> {
  const reads = readRoute(upstream);
  const writes = writeRoute(upstream) ?? reads;
  const keyed = upstream.routes.find((r) =>
    r.match.headers?.some((h) => h.name.toLowerCase() === IDEMPOTENCY_HEADER),
  );
  const retries = (route: TrafficRoute | undefined): number =>
    options.meshRetries === true ? 0 : (route?.retry?.maxRetries ?? 0);
  return {
    TIMEOUT_MS: reads.timeoutMs,
    ATTEMPT_TIMEOUT_MS: reads.retry?.perTryTimeoutMs ?? reads.timeoutMs,
    RETRIES: retries(reads),
    WRITE_TIMEOUT_MS: keyed?.timeoutMs ?? writes.timeoutMs,
    WRITE_ATTEMPT_TIMEOUT_MS: keyed?.retry?.perTryTimeoutMs ?? writes.timeoutMs,
    WRITE_RETRIES: retries(keyed),
    BREAKER_FAILURE_THRESHOLD: upstream.outlierDetection.maxServerErrors,
    BREAKER_OPEN_MS: upstream.outlierDetection.baseEjectionMs,
    CONNECTIONS: upstream.connectionPool.maxConnections,
  };
}

/** True for the route a GET takes. */
export function isReadRoute(upstream: ServicePolicy, route: TrafficRoute): boolean {
  return readRoute(upstream) === route;
}

/** The route a GET takes: the first that matches GET without needing a header. */
function readRoute(upstream: ServicePolicy): TrafficRoute {
  const route = upstream.routes.find(
    (r) => (r.match.method === undefined || r.match.method === 'GET') && !r.match.headers?.length,
  );
  return route ?? upstream.routes[0];
}

/** The route a write without headers takes: the first with no method and no header match. */
function writeRoute(upstream: ServicePolicy): TrafficRoute | undefined {
  return upstream.routes.find((r) => r.match.method === undefined && !r.match.headers?.length);
}
