import type { Construct } from 'constructs';
import { componentDeployment, scratch } from './workload.ts';

/** Jaeger v1 all-in-one: the same version the trace test builds from its Go module (scripts/testenv.d/jaeger.sh). */
export const JAEGER_IMAGE = 'jaegertracing/all-in-one:1.75.0';
export const JAEGER_OTLP_PORT = 4318;
export const JAEGER_QUERY_PORT = 16686;

/** kind: Jaeger all-in-one with in-memory storage, fed by the collector over OTLP/HTTP; its UI on 16686. */
export function jaeger(
  scope: Construct,
  p: { readonly namespace: string },
): { queryUrl: string; otlpUrl: string } {
  const name = 'jaeger';
  const tmp = scratch('tmp', '/tmp', '64Mi');
  componentDeployment(scope, 'Jaeger', {
    name,
    namespace: p.namespace,
    container: {
      name,
      image: JAEGER_IMAGE,
      env: { SPAN_STORAGE_TYPE: 'memory', MEMORY_MAX_TRACES: '50000', COLLECTOR_OTLP_ENABLED: 'true' },
      ports: [
        { name: 'otlp-http', port: JAEGER_OTLP_PORT },
        { name: 'query', port: JAEGER_QUERY_PORT },
        { name: 'admin', port: 14269 },
      ],
      probe: { path: '/', port: 'admin' },
      resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '500m', memory: '768Mi' } },
      uid: 10001,
      mounts: [tmp.mount],
    },
    volumes: [tmp.volume],
  });
  const host = `${name}.${p.namespace}.svc.cluster.local`;
  return { queryUrl: `http://${host}:${JAEGER_QUERY_PORT}`, otlpUrl: `http://${host}:${JAEGER_OTLP_PORT}` };
}
