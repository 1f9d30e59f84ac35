import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-27';
import { CONFIG_SHA256_ANNOTATION } from '@meshmart/mesh/names.ts';
import { componentDeployment, componentLabels, configVolume, scratch } from './workload.ts';

/** kind: the contrib distribution (it has the health_check extension the probes read). */
export const OTEL_COLLECTOR_IMAGE = 'otel/opentelemetry-collector-contrib:0.140.0';
/** EKS: the AWS Distro for OpenTelemetry collector, with the awsxray exporter. */
export const ADOT_COLLECTOR_IMAGE = 'public.ecr.aws/aws-observability/aws-otel-collector:v0.45.1';

const configFile = (name: string): string =>
  readFileSync(new URL(`../../../observability/otel/${name}`, import.meta.url), 'utf8');

export interface CollectorProps {
  readonly namespace: string;
  /** The Service name the services export to (config.observability.otelService). */
  readonly name: string;
  readonly port: number;
  /** kind: forward to Jaeger. */
  readonly jaegerOtlpUrl?: string;
  /** EKS: X-Ray, with this IRSA role and region. */
  readonly xray?: { readonly roleArn: string; readonly region: string };
}

/**
 * The OpenTelemetry collector every service exports OTLP/HTTP to: on kind the upstream collector forwarding to Jaeger
 * (observability/otel/collector-kind.yaml), on EKS the ADOT collector exporting to X-Ray
 * (observability/otel/collector-eks.yaml), two replicas there.
 */
export function otelCollector(scope: Construct, p: CollectorProps): void {
  const eks = p.xray !== undefined;
  const image = eks ? ADOT_COLLECTOR_IMAGE : OTEL_COLLECTOR_IMAGE;
  const { all } = componentLabels(p.name, image);
  const config = configFile(eks ? 'collector-eks.yaml' : 'collector-kind.yaml');
  if (!config.includes(`:${p.port}`))
    throw new Error(`otelCollector: the collector configuration does not listen on port ${p.port}`);
  new k8s.KubeConfigMap(scope, 'CollectorConfig', {
    metadata: { name: `${p.name}-config`, namespace: p.namespace, labels: all },
    data: { 'collector.yaml': config },
  });
  if (eks)
    new k8s.KubeServiceAccount(scope, 'CollectorServiceAccount', {
      metadata: {
        name: p.name,
        namespace: p.namespace,
        labels: all,
        annotations: { 'eks.amazonaws.com/role-arn': p.xray.roleArn },
      },
      automountServiceAccountToken: false,
    });
  const conf = configVolume('config', `${p.name}-config`, '/etc/otelcol');
  const tmp = scratch('tmp', '/tmp', '64Mi');
  componentDeployment(scope, 'Collector', {
    name: p.name,
    namespace: p.namespace,
    replicas: eks ? 2 : 1,
    // IRSA needs the projected token: the ServiceAccount is used, its API token is not mounted (automount off).
    ...(eks ? { serviceAccountName: p.name } : {}),
    annotations: {
      [CONFIG_SHA256_ANNOTATION]: createHash('sha256').update(config).digest('hex').slice(0, 16),
    },
    container: {
      name: 'collector',
      image,
      args: ['--config=/etc/otelcol/collector.yaml'],
      env: eks ? { AWS_REGION: p.xray.region } : { JAEGER_OTLP_ENDPOINT: p.jaegerOtlpUrl ?? '' },
      ports: [
        { name: 'otlp-http', port: p.port },
        { name: 'health', port: 13133 },
      ],
      probe: { path: '/', port: 'health' },
      resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '500m', memory: '512Mi' } },
      uid: 10001,
      mounts: [conf.mount, tmp.mount],
    },
    volumes: [conf.volume, tmp.volume],
  });
}
