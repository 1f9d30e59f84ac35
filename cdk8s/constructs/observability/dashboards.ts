import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-27';
import { dashboards, type GeneratedDashboard } from '@meshmart/observability/grafana/dashboards.ts';
import { COMPONENT_LABEL, PART_OF, PART_OF_LABEL } from '@meshmart/mesh/names.ts';

/** The label kube-prometheus-stack's Grafana sidecar watches (charts/addons/kube-prometheus-stack/values.yaml). */
export const GRAFANA_DASHBOARD_LABEL = 'grafana_dashboard';

export interface DashboardsProps {
  /** Namespace of the ConfigMaps; the sidecar searches every namespace. Pass `namespace.name`. */
  readonly namespace: string;
  /** @default dashboards() */
  readonly dashboards?: readonly GeneratedDashboard[];
}

/** A ConfigMap per dashboard (a ConfigMap is capped at 1 MiB, and one per dashboard keeps diffs readable). */
export class Dashboards extends Construct {
  public readonly configMapNames: readonly string[];

  public constructor(scope: Construct, id: string, props: DashboardsProps) {
    super(scope, id);
    const list = props.dashboards ?? dashboards();
    const seen = new Set<string>();
    const names: string[] = [];
    for (const d of list) {
      if (seen.has(d.uid))
        throw new Error(`Dashboards: uid '${d.uid}' appears twice; give every dashboard its own uid`);
      seen.add(d.uid);
      const body = JSON.stringify(d.json);
      if (Buffer.byteLength(body) > 900 * 1024)
        throw new Error(`Dashboards: ${d.uid} is over 900 KiB; split it, a ConfigMap holds at most 1 MiB`);
      const name = `dashboard-${d.uid}`;
      names.push(name);
      new k8s.KubeConfigMap(this, d.uid, {
        metadata: {
          name,
          namespace: props.namespace,
          labels: {
            [GRAFANA_DASHBOARD_LABEL]: '1',
            [PART_OF_LABEL]: PART_OF,
            [COMPONENT_LABEL]: 'dashboard',
          },
        },
        data: { [d.fileName]: body },
      });
    }
    this.configMapNames = names;
  }
}
