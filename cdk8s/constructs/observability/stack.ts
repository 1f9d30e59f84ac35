import type { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-27';
import { roleArn, type MeshmartConfig } from '../../config.ts';
import { NAME_LABEL, NAMESPACE_NAME_LABEL } from '@meshmart/mesh/names.ts';
import { MeshmartNamespace, type PodSecurityExceptionName } from '../namespace.ts';
import { fluentd } from './fluentd.ts';
import { grafana } from './grafana.ts';
import { JAEGER_OTLP_PORT, JAEGER_QUERY_PORT, jaeger } from './jaeger.ts';
import { otelCollector } from './otel.ts';
import { PROMETHEUS_PORT, prometheus } from './prometheus.ts';

/** Where Fluentd runs: its hostPath volume keeps this namespace out of Pod Security "restricted". */
export const LOGGING_NAMESPACE = 'logging';
/** The POD_SECURITY_EXCEPTIONS entry of the logging namespace. */
export const LOGGING_EXCEPTION: PodSecurityExceptionName = 'fluentd-host-logs';
/** The EKS cluster name in the CloudWatch log group `/aws/eks/<cluster>/meshmart`. */
export const DEFAULT_CLUSTER_NAME = 'meshmart';

export interface ObservabilityOptions {
  readonly platform: 'kind' | 'eks';
  readonly config: MeshmartConfig;
  /** Receives the Namespaces (applied before everything else). */
  readonly namespaces: Construct;
  /** Receives every other object. */
  readonly objects: Construct;
  /** @default DEFAULT_CLUSTER_NAME */
  readonly clusterName?: string;
}

/**
 * What runs next to the application to observe it. kind: Prometheus and Grafana (monitoring), the OpenTelemetry
 * collector and Jaeger (observability), Fluentd to stdout (logging). EKS: the ADOT collector exporting to X-Ray and
 * Fluentd to CloudWatch Logs; Prometheus and Grafana there come from the kube-prometheus-stack add-on
 * (charts/addons, docs/tracing-and-logs.md). Each namespace denies by default and allows exactly its flows.
 */
export function observabilityStack(o: ObservabilityOptions): void {
  const { config, platform } = o;
  const obs = config.observability;
  const kind = platform === 'kind';
  new MeshmartNamespace(o.namespaces, 'ObservabilityNamespace', { name: obs.otelNamespace });
  new MeshmartNamespace(o.namespaces, 'LoggingNamespace', {
    name: LOGGING_NAMESPACE,
    exception: LOGGING_EXCEPTION,
  });
  if (kind) new MeshmartNamespace(o.namespaces, 'MonitoringNamespace', { name: obs.metricsNamespace });

  if (kind) {
    const traces = jaeger(o.objects, { namespace: obs.otelNamespace });
    otelCollector(o.objects, {
      namespace: obs.otelNamespace,
      name: obs.otelService,
      port: obs.otelPort,
      jaegerOtlpUrl: traces.otlpUrl,
    });
    const metrics = prometheus(o.objects, {
      namespace: obs.metricsNamespace,
      appNamespace: config.namespace,
    });
    grafana(o.objects, {
      namespace: obs.metricsNamespace,
      prometheusUrl: metrics.url,
      jaegerUrl: traces.queryUrl,
    });
    fluentd(o.objects, { namespace: LOGGING_NAMESPACE });
  } else {
    otelCollector(o.objects, {
      namespace: obs.otelNamespace,
      name: obs.otelService,
      port: obs.otelPort,
      xray: { roleArn: roleArn(config, 'adot-collector'), region: config.aws.region },
    });
    fluentd(o.objects, {
      namespace: LOGGING_NAMESPACE,
      cloudwatch: {
        roleArn: roleArn(config, 'fluentd'),
        region: config.aws.region,
        clusterName: o.clusterName ?? config.aws.clusterName ?? DEFAULT_CLUSTER_NAME,
      },
    });
  }
  networkPolicies(o.objects, o);
}

const tcp = (port: number): k8s.NetworkPolicyPort => ({
  protocol: 'TCP',
  port: k8s.IntOrString.fromNumber(port),
});
const inNamespace = (ns: string): k8s.NetworkPolicyPeer => ({
  namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: ns } },
});
const pods = (name: string): k8s.LabelSelector => ({ matchLabels: { [NAME_LABEL]: name } });
/** The API server and AWS endpoints (CloudWatch Logs, X-Ray, STS) are outside the cluster's pod network. */
const anywhere = (...ports: number[]): k8s.NetworkPolicyEgressRule => ({
  to: [{ ipBlock: { cidr: '0.0.0.0/0' } }],
  ports: ports.map(tcp),
});

function policy(
  scope: Construct,
  namespace: string,
  name: string,
  spec: {
    podSelector: k8s.LabelSelector;
    ingress?: k8s.NetworkPolicyIngressRule[];
    egress?: k8s.NetworkPolicyEgressRule[];
  },
): void {
  const types = [...(spec.ingress ? ['Ingress'] : []), ...(spec.egress ? ['Egress'] : [])];
  new k8s.KubeNetworkPolicy(scope, `netpol-${namespace}-${name}`, {
    metadata: { name, namespace },
    spec: { ...spec, policyTypes: types },
  });
}

function networkPolicies(scope: Construct, o: ObservabilityOptions): void {
  const { config } = o;
  const obs = config.observability;
  const kind = o.platform === 'kind';
  const namespaces = [obs.otelNamespace, LOGGING_NAMESPACE, ...(kind ? [obs.metricsNamespace] : [])];
  for (const ns of namespaces) {
    policy(scope, ns, 'default-deny', { podSelector: {}, ingress: [], egress: [] });
    policy(scope, ns, 'allow-dns', {
      podSelector: {},
      egress: [
        {
          to: [
            {
              namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: 'kube-system' } },
              podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
            },
          ],
          ports: [
            { protocol: 'UDP', port: k8s.IntOrString.fromNumber(53) },
            { protocol: 'TCP', port: k8s.IntOrString.fromNumber(53) },
          ],
        },
      ],
    });
  }
  // The services export spans to the collector; it forwards to Jaeger (kind) or X-Ray over HTTPS (EKS).
  policy(scope, obs.otelNamespace, obs.otelService, {
    podSelector: pods(obs.otelService),
    ingress: [{ from: [inNamespace(config.namespace)], ports: [tcp(obs.otelPort)] }],
    egress: kind
      ? [{ to: [{ podSelector: pods('jaeger') }], ports: [tcp(JAEGER_OTLP_PORT)] }]
      : [anywhere(443)],
  });
  // Fluentd: the API server (pod metadata) and, on EKS, CloudWatch Logs and STS; nothing comes in.
  policy(scope, LOGGING_NAMESPACE, 'fluentd', {
    podSelector: pods('fluentd'),
    ingress: [],
    egress: [anywhere(443, 6443)],
  });
  if (!kind) return;
  policy(scope, obs.otelNamespace, 'jaeger', {
    podSelector: pods('jaeger'),
    ingress: [
      { from: [{ podSelector: pods(obs.otelService) }], ports: [tcp(JAEGER_OTLP_PORT)] },
      {
        from: [{ ...inNamespace(obs.metricsNamespace), podSelector: pods('grafana') }],
        ports: [tcp(JAEGER_QUERY_PORT)],
      },
    ],
    egress: [],
  });
  // Prometheus scrapes the app's pods (their policies admit this namespace) and lists them through the API server.
  policy(scope, obs.metricsNamespace, 'prometheus', {
    podSelector: pods('prometheus'),
    ingress: [{ from: [{ podSelector: pods('grafana') }], ports: [tcp(PROMETHEUS_PORT)] }],
    egress: [{ to: [inNamespace(config.namespace)] }, anywhere(443, 6443)],
  });
  policy(scope, obs.metricsNamespace, 'grafana', {
    podSelector: pods('grafana'),
    ingress: [],
    egress: [
      { to: [{ podSelector: pods('prometheus') }], ports: [tcp(PROMETHEUS_PORT)] },
      {
        to: [{ ...inNamespace(obs.otelNamespace), podSelector: pods('jaeger') }],
        ports: [tcp(JAEGER_QUERY_PORT)],
      },
    ],
  });
}
