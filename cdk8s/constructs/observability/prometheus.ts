import type { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-27';
import { stringify } from 'yaml';
import { prometheusScrapeConfig, ruleFiles } from '@meshmart/observability/index.ts';
import { componentDeployment, componentLabels, configVolume, scratch } from './workload.ts';

/** Prometheus 3 LTS, the kind profile's metrics server. */
export const PROMETHEUS_IMAGE = 'prom/prometheus:v3.5.0';
export const PROMETHEUS_PORT = 9090;

export interface PrometheusProps {
  readonly namespace: string;
  /** Where the services run: pods are discovered there (kubernetes_sd), with a Role to list them. */
  readonly appNamespace: string;
}

/**
 * kind: a plain Prometheus Deployment (no operator) with the shared scrape configuration (kubernetes_sd on the app
 * namespace), the SLO and alert rules, and exemplar storage so latency histograms link to traces.
 */
export function prometheus(scope: Construct, p: PrometheusProps): { url: string } {
  const name = 'prometheus';
  const { all } = componentLabels(name, PROMETHEUS_IMAGE);
  const config = {
    global: { scrape_interval: '15s', evaluation_interval: '30s' },
    rule_files: ['/etc/prometheus/rules/*.yaml'],
    scrape_configs: [prometheusScrapeConfig({ namespaces: [p.appNamespace] })],
  };
  new k8s.KubeConfigMap(scope, 'PrometheusConfig', {
    metadata: { name: 'prometheus-config', namespace: p.namespace, labels: all },
    data: { 'prometheus.yml': stringify(config) },
  });
  new k8s.KubeConfigMap(scope, 'PrometheusRules', {
    metadata: { name: 'prometheus-rules', namespace: p.namespace, labels: all },
    data: Object.fromEntries(ruleFiles().map((f) => [`${f.name}.yaml`, stringify({ groups: f.groups })])),
  });
  new k8s.KubeServiceAccount(scope, 'PrometheusServiceAccount', {
    metadata: { name, namespace: p.namespace, labels: all },
    automountServiceAccountToken: false,
  });
  // Pod discovery in the app namespace only: a Role there, not a ClusterRole.
  new k8s.KubeRole(scope, 'PrometheusRole', {
    metadata: { name: 'prometheus-discovery', namespace: p.appNamespace, labels: all },
    rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }],
  });
  new k8s.KubeRoleBinding(scope, 'PrometheusRoleBinding', {
    metadata: { name: 'prometheus-discovery', namespace: p.appNamespace, labels: all },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'prometheus-discovery' },
    subjects: [{ kind: 'ServiceAccount', name, namespace: p.namespace }],
  });
  const conf = configVolume('config', 'prometheus-config', '/etc/prometheus/config');
  const rules = configVolume('rules', 'prometheus-rules', '/etc/prometheus/rules');
  const data = scratch('data', '/prometheus', '2Gi');
  componentDeployment(scope, 'Prometheus', {
    name,
    namespace: p.namespace,
    serviceAccountName: name,
    container: {
      name,
      image: PROMETHEUS_IMAGE,
      args: [
        '--config.file=/etc/prometheus/config/prometheus.yml',
        '--storage.tsdb.path=/prometheus',
        '--storage.tsdb.retention.time=2d',
        '--enable-feature=exemplar-storage',
        `--web.listen-address=:${PROMETHEUS_PORT}`,
      ],
      ports: [{ name: 'http', port: PROMETHEUS_PORT }],
      probe: { path: '/-/ready', port: 'http' },
      resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } },
      uid: 65534,
      mounts: [conf.mount, rules.mount, data.mount],
    },
    volumes: [conf.volume, rules.volume, data.volume],
  });
  return { url: `http://${name}.${p.namespace}.svc.cluster.local:${PROMETHEUS_PORT}` };
}
