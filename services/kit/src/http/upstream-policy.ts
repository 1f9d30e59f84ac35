import { ConfigError } from '../config.ts';
import type { HttpClientOptions } from './http-client.ts';

/** The part of a client's options a deployment sets per upstream (the traffic model's policy). */
export type UpstreamPolicy = Pick<
  HttpClientOptions,
  'timeoutMs' | 'attemptTimeoutMs' | 'retries' | 'breaker' | 'connections' | 'sigv4'
>;

/** `UPSTREAM_<NAME>_`: where a deployment puts one upstream's client policy (`cart` -> `UPSTREAM_CART_`). */
export function upstreamEnvPrefix(upstream: string): string {
  return `UPSTREAM_${upstream.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_`;
}

/**
 * The client policy the manifests set for one upstream: `TIMEOUT_MS`, `ATTEMPT_TIMEOUT_MS`, `RETRIES`,
 * `BREAKER_FAILURE_THRESHOLD`, `BREAKER_OPEN_MS`, `CONNECTIONS` after `UPSTREAM_<NAME>_`. This is how timeouts,
 * retries and circuit breaking that a mesh cannot carry (VPC Lattice) or that there is no mesh for (kind) are
 * enforced the same way everywhere. `SIGV4_SERVICE` (e.g. `vpc-lattice-svcs`) turns on SigV4 signing, in the region
 * `SIGV4_REGION` (or AWS_REGION). Unset keys leave the service's defaults; a malformed one throws ConfigError.
 */
export function upstreamPolicyFromEnv(
  upstream: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): UpstreamPolicy {
  const prefix = upstreamEnvPrefix(upstream);
  const problems: string[] = [];
  const read = (key: string, min: number): number | undefined => {
    const raw = env[`${prefix}${key}`];
    if (raw === undefined || raw === '') return undefined;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min) {
      problems.push(`${prefix}${key}: must be an integer >= ${min}, got '${raw}'`);
      return undefined;
    }
    return value;
  };
  const timeoutMs = read('TIMEOUT_MS', 1);
  const attemptTimeoutMs = read('ATTEMPT_TIMEOUT_MS', 1);
  const retries = read('RETRIES', 0);
  const failureThreshold = read('BREAKER_FAILURE_THRESHOLD', 1);
  const openMs = read('BREAKER_OPEN_MS', 1);
  const connections = read('CONNECTIONS', 1);
  const signingService = env[`${prefix}SIGV4_SERVICE`] || undefined;
  const signingRegion = env[`${prefix}SIGV4_REGION`] || env.AWS_REGION || undefined;
  if (signingService !== undefined && !/^[a-z0-9][a-z0-9-]*$/.test(signingService))
    problems.push(
      `${prefix}SIGV4_SERVICE: must be an AWS signing name such as 'vpc-lattice-svcs', got '${signingService}'`,
    );
  if (signingService !== undefined && signingRegion === undefined)
    problems.push(`${prefix}SIGV4_SERVICE is set but no region is: set ${prefix}SIGV4_REGION or AWS_REGION`);
  if (
    signingService !== undefined &&
    signingRegion !== undefined &&
    !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(signingRegion)
  )
    problems.push(`${prefix}SIGV4_REGION (or AWS_REGION): must look like eu-west-1, got '${signingRegion}'`);
  if (problems.length > 0) throw new ConfigError(upstream, problems);
  const breaker = {
    ...(failureThreshold === undefined ? {} : { failureThreshold }),
    ...(openMs === undefined ? {} : { openMs }),
  };
  return {
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(attemptTimeoutMs === undefined ? {} : { attemptTimeoutMs }),
    ...(retries === undefined ? {} : { retries }),
    ...(Object.keys(breaker).length > 0 ? { breaker } : {}),
    ...(connections === undefined ? {} : { connections }),
    ...(signingService === undefined || signingRegion === undefined
      ? {}
      : { sigv4: { service: signingService, region: signingRegion } }),
  };
}
