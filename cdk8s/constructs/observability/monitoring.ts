import { Construct } from 'constructs';
import {
  PodMonitor,
  PodMonitorSpecPodMetricsEndpointsRelabelingsAction as Action,
  PrometheusRule,
  PrometheusRuleSpecGroupsRulesExpr,
  type PodMonitorSpecPodMetricsEndpointsRelabelings,
} from '../../imports/monitoring.coreos.com.ts';
import { prometheusRuleGroups } from '@meshmart/observability/prometheus/rules.ts';
import { metricsPortRelabeling } from '@meshmart/observability/prometheus/scrape.ts';
import { isAlert, type RuleGroup } from '@meshmart/observability/prometheus/types.ts';
import { COMPONENT_LABEL, NAME_LABEL, PART_OF, PART_OF_LABEL, VERSION_LABEL } from '@meshmart/mesh/names.ts';

/** The App Mesh Envoy admin port, where /stats/prometheus is served. */
export const ENVOY_ADMIN_PORT = 9901;

export interface MonitoringProps {
  /** Namespace of the services (the monitors and rules live beside them). Pass `namespace.name`. */
  readonly namespace: string;
  /** Also scrape the App Mesh Envoy sidecars (`/stats/prometheus` on 9901). @default false */
  readonly envoy?: boolean;
  /** Labels on every object, e.g. the kube-prometheus-stack `release` label when its selectors are not nil-safe. @default {} */
  readonly labels?: Readonly<Record<string, string>>;
  /** @default '15s' */
  readonly interval?: string;
  /** @default prometheusRuleGroups() */
  readonly ruleGroups?: readonly RuleGroup[];
}

/**
 * As the plain scrape config (observability/prometheus/scrape.ts): a service's target moves from its `http` port to
 * the port its pod's prometheus.io/port annotation names — the gateway's metrics port; every other service's is
 * `http` itself.
 */
function servicesMetricsPort(): PodMonitorSpecPodMetricsEndpointsRelabelings {
  const port = metricsPortRelabeling();
  return {
    sourceLabels: [...port.source_labels!],
    regex: port.regex!,
    replacement: port.replacement!,
    targetLabel: port.target_label!,
    action: Action.REPLACE,
  };
}

/** The same `version`/`app` labels the plain scrape config adds (observability/prometheus/scrape.ts). */
export function podMonitorRelabelings(): PodMonitorSpecPodMetricsEndpointsRelabelings[] {
  const meta = (label: string) => `__meta_kubernetes_pod_label_${label.replace(/[^a-zA-Z0-9_]/g, '_')}`;
  return [
    { sourceLabels: [meta(VERSION_LABEL)], targetLabel: 'version', action: Action.REPLACE },
    { sourceLabels: [meta(NAME_LABEL)], targetLabel: 'app', action: Action.REPLACE },
  ];
}

/**
 * Prometheus Operator objects for kube-prometheus-stack (charts/addons/kube-prometheus-stack selects monitors and
 * rules of every namespace): a PodMonitor for the services' /metrics, one for the Envoy sidecars on App Mesh, and a
 * PrometheusRule with the SLO and MeshMart rule groups. PodMonitors rather than ServiceMonitors: a ServiceMonitor
 * adds a `service` target label that would clash with the `service` label the kit puts on every series.
 */
export class Monitoring extends Construct {
  public readonly podMonitorName: string;
  public readonly ruleName: string;

  public constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const interval = props.interval ?? '15s';
    if (!/^\d+(ms|s|m)$/.test(interval))
      throw new Error(`Monitoring: interval '${interval}' is not a Prometheus duration; use e.g. '15s'`);
    const groups = props.ruleGroups ?? prometheusRuleGroups();
    if (groups.length === 0) throw new Error('Monitoring: no rule groups; pass ruleGroups or leave it unset');
    const labels = { [PART_OF_LABEL]: PART_OF, [COMPONENT_LABEL]: 'monitoring', ...props.labels };
    this.podMonitorName = 'meshmart-services';
    this.ruleName = 'meshmart-rules';

    new PodMonitor(this, 'Services', {
      metadata: { name: this.podMonitorName, namespace: props.namespace, labels },
      spec: {
        jobLabel: NAME_LABEL,
        selector: { matchLabels: { [PART_OF_LABEL]: PART_OF, [COMPONENT_LABEL]: 'service' } },
        namespaceSelector: { matchNames: [props.namespace] },
        podMetricsEndpoints: [
          {
            port: 'http',
            path: '/metrics',
            interval,
            relabelings: [servicesMetricsPort(), ...podMonitorRelabelings()],
          },
        ],
      },
    });
    if (props.envoy) {
      new PodMonitor(this, 'Envoy', {
        metadata: { name: 'meshmart-envoy', namespace: props.namespace, labels },
        spec: {
          selector: { matchLabels: { [PART_OF_LABEL]: PART_OF } },
          namespaceSelector: { matchNames: [props.namespace] },
          podMetricsEndpoints: [
            {
              portNumber: ENVOY_ADMIN_PORT,
              path: '/stats/prometheus',
              interval,
              relabelings: podMonitorRelabelings(),
            },
          ],
        },
      });
    }
    new PrometheusRule(this, 'Rules', {
      metadata: { name: this.ruleName, namespace: props.namespace, labels },
      spec: {
        groups: groups.map((g) => ({
          name: g.name,
          ...(g.interval ? { interval: g.interval } : {}),
          rules: g.rules.map((r) =>
            isAlert(r)
              ? {
                  alert: r.alert,
                  expr: PrometheusRuleSpecGroupsRulesExpr.fromString(r.expr),
                  ...(r.for ? { for: r.for } : {}),
                  labels: { ...r.labels },
                  annotations: { ...r.annotations },
                }
              : {
                  record: r.record,
                  expr: PrometheusRuleSpecGroupsRulesExpr.fromString(r.expr),
                  ...(r.labels ? { labels: { ...r.labels } } : {}),
                },
          ),
        })),
      },
    });
  }
}
