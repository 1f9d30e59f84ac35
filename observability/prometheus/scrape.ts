import {
  APP_NAMESPACE,
  COMPONENT_LABEL,
  NAME_LABEL,
  PART_OF,
  PART_OF_LABEL,
  PROMETHEUS_PORT_ANNOTATION,
  VERSION_LABEL,
} from '@meshmart/mesh/names.ts';

/** Prometheus turns a pod label into `__meta_kubernetes_pod_label_<name>` with every non-word character as `_`. */
export function podLabelMeta(label: string): string {
  return `__meta_kubernetes_pod_label_${label.replace(/[^a-zA-Z0-9_]/g, '_')}`;
}

export interface RelabelConfig {
  readonly source_labels?: readonly string[];
  readonly separator?: string;
  readonly regex?: string;
  readonly target_label?: string;
  readonly replacement?: string;
  readonly action?: 'replace' | 'keep' | 'drop' | 'labelmap' | 'labeldrop' | 'labelkeep';
}

export interface ScrapeConfig {
  readonly job_name: string;
  readonly metrics_path: string;
  readonly scrape_interval?: string;
  readonly kubernetes_sd_configs?: readonly { role: 'pod'; namespaces?: { names: readonly string[] } }[];
  readonly static_configs?: readonly { targets: readonly string[]; labels?: Record<string, string> }[];
  readonly file_sd_configs?: readonly { files: readonly string[]; refresh_interval?: string }[];
  readonly relabel_configs?: readonly RelabelConfig[];
}

export interface ScrapeTarget {
  /** host:port */
  readonly address: string;
  readonly service: string;
  /** @default 'v1' */
  readonly version?: string;
}

export interface PrometheusScrapeOptions {
  /** @default 'meshmart' */
  readonly jobName?: string;
  /** Namespaces to discover pods in (kubernetes_sd); @default ['meshmart'] */
  readonly namespaces?: readonly string[];
  /** @default '15s' */
  readonly interval?: string;
  /** Local runs: fixed targets instead of pod discovery. */
  readonly targets?: readonly ScrapeTarget[];
  /** Local runs: file_sd files (globs) instead of pod discovery. */
  readonly files?: readonly string[];
}

/**
 * Scrape the port the pod's `prometheus.io/port` annotation names instead of `http`: the public gateway serves
 * /metrics on a port of its own (METRICS_PORT), never on the port its load balancer sends the world to.
 */
export function metricsPortRelabeling(): RelabelConfig {
  return {
    source_labels: [
      '__address__',
      `__meta_kubernetes_pod_annotation_${PROMETHEUS_PORT_ANNOTATION.replace(/[^a-zA-Z0-9_]/g, '_')}`,
    ],
    regex: '([^:]+)(?::\\d+)?;(\\d+)',
    replacement: '$1:$2',
    target_label: '__address__',
    action: 'replace',
  };
}

/**
 * The relabeling every profile shares: keep MeshMart's service pods (not datastores or the ingress Envoy), scrape the container port named `http`, and carry the
 * pod's version label as `version` (the canary tool compares versions by it) plus namespace and pod.
 */
export function podRelabelings(): RelabelConfig[] {
  return [
    { source_labels: [podLabelMeta(PART_OF_LABEL)], regex: PART_OF, action: 'keep' },
    { source_labels: [podLabelMeta(COMPONENT_LABEL)], regex: 'service', action: 'keep' },
    { source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: 'http', action: 'keep' },
    metricsPortRelabeling(),
    { source_labels: ['__meta_kubernetes_pod_phase'], regex: 'Pending|Succeeded|Failed', action: 'drop' },
    { source_labels: [podLabelMeta(VERSION_LABEL)], target_label: 'version', action: 'replace' },
    { source_labels: [podLabelMeta(NAME_LABEL)], target_label: 'app', action: 'replace' },
    { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace', action: 'replace' },
    { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod', action: 'replace' },
  ];
}

/**
 * A plain Prometheus scrape configuration (one `scrape_configs` entry): kubernetes_sd pod discovery for kind and any
 * cluster without the operator, or fixed / file_sd targets for local runs. The kit labels every series with
 * `service` itself; the relabeling adds `version`, `namespace` and `pod`.
 */
export function prometheusScrapeConfig(options: PrometheusScrapeOptions = {}): ScrapeConfig {
  const base = {
    job_name: options.jobName ?? 'meshmart',
    metrics_path: '/metrics',
    scrape_interval: options.interval ?? '15s',
  };
  if (options.targets) {
    return {
      ...base,
      static_configs: options.targets.map((t) => ({
        targets: [t.address],
        labels: { version: t.version ?? 'v1', app: t.service },
      })),
    };
  }
  if (options.files) return { ...base, file_sd_configs: [{ files: options.files, refresh_interval: '5s' }] };
  return {
    ...base,
    kubernetes_sd_configs: [{ role: 'pod', namespaces: { names: options.namespaces ?? [APP_NAMESPACE] } }],
    relabel_configs: podRelabelings(),
  };
}

/** One file_sd target group for local runs (what PROMETHEUS_TARGETS_DIR files hold). */
export function fileSdTargets(
  targets: readonly ScrapeTarget[],
): { targets: string[]; labels: Record<string, string> }[] {
  return targets.map((t) => ({
    targets: [t.address],
    labels: { version: t.version ?? 'v1', app: t.service },
  }));
}
