import type { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-27';
import { stringify } from 'yaml';
import { dashboards } from '@meshmart/observability/index.ts';
import { componentDeployment, componentLabels, configVolume, scratch } from './workload.ts';

export const GRAFANA_IMAGE = 'grafana/grafana:12.1.1';
export const GRAFANA_PORT = 3000;
/** Data source uids the dashboards and the trace links refer to. */
export const PROMETHEUS_DATASOURCE_UID = 'prometheus';
export const JAEGER_DATASOURCE_UID = 'jaeger';

export interface GrafanaProps {
  readonly namespace: string;
  readonly prometheusUrl: string;
  readonly jaegerUrl: string;
}

/**
 * kind: Grafana with the Prometheus and Jaeger data sources and every MeshMart dashboard provisioned from
 * ConfigMaps; anonymous viewers, so `kubectl port-forward` is all it takes to look.
 */
export function grafana(scope: Construct, p: GrafanaProps): void {
  const name = 'grafana';
  const { all } = componentLabels(name, GRAFANA_IMAGE);
  const datasources = {
    apiVersion: 1,
    datasources: [
      {
        name: 'Prometheus',
        type: 'prometheus',
        uid: PROMETHEUS_DATASOURCE_UID,
        access: 'proxy',
        url: p.prometheusUrl,
        isDefault: true,
        editable: false,
        // Exemplars on the latency histograms carry trace_id: a click opens the trace in Jaeger.
        jsonData: {
          httpMethod: 'POST',
          exemplarTraceIdDestinations: [{ name: 'trace_id', datasourceUid: JAEGER_DATASOURCE_UID }],
        },
      },
      {
        name: 'Jaeger',
        type: 'jaeger',
        uid: JAEGER_DATASOURCE_UID,
        access: 'proxy',
        url: p.jaegerUrl,
        editable: false,
      },
    ],
  };
  const providers = {
    apiVersion: 1,
    providers: [
      {
        name: 'meshmart',
        folder: 'MeshMart',
        type: 'file',
        disableDeletion: true,
        allowUiUpdates: false,
        options: { path: '/var/lib/grafana-dashboards', foldersFromFilesStructure: false },
      },
    ],
  };
  new k8s.KubeConfigMap(scope, 'GrafanaProvisioning', {
    metadata: { name: 'grafana-provisioning', namespace: p.namespace, labels: all },
    data: { 'datasources.yaml': stringify(datasources), 'dashboards.yaml': stringify(providers) },
  });
  new k8s.KubeConfigMap(scope, 'GrafanaDashboards', {
    metadata: { name: 'grafana-dashboards', namespace: p.namespace, labels: all },
    data: Object.fromEntries(dashboards().map((d) => [d.fileName, JSON.stringify(d.json)])),
  });
  const provisioning = configVolume(
    'provisioning',
    'grafana-provisioning',
    '/etc/grafana/provisioning-files',
  );
  const boards = configVolume('dashboards', 'grafana-dashboards', '/var/lib/grafana-dashboards');
  const data = scratch('data', '/var/lib/grafana', '512Mi');
  const tmp = scratch('tmp', '/tmp', '64Mi');
  // Grafana expects provisioning/<kind>/ directories: each file is mounted where its kind is read.
  const mounts: k8s.VolumeMount[] = [
    {
      ...provisioning.mount,
      mountPath: '/etc/grafana/provisioning/datasources/datasources.yaml',
      subPath: 'datasources.yaml',
    },
    {
      ...provisioning.mount,
      mountPath: '/etc/grafana/provisioning/dashboards/dashboards.yaml',
      subPath: 'dashboards.yaml',
    },
    boards.mount,
    data.mount,
    tmp.mount,
  ];
  componentDeployment(scope, 'Grafana', {
    name,
    namespace: p.namespace,
    container: {
      name,
      image: GRAFANA_IMAGE,
      env: {
        GF_PATHS_DATA: '/var/lib/grafana',
        GF_PATHS_LOGS: '/var/lib/grafana/logs',
        GF_PATHS_PLUGINS: '/var/lib/grafana/plugins',
        GF_PATHS_PROVISIONING: '/etc/grafana/provisioning',
        GF_AUTH_ANONYMOUS_ENABLED: 'true',
        GF_AUTH_ANONYMOUS_ORG_ROLE: 'Viewer',
        GF_ANALYTICS_REPORTING_ENABLED: 'false',
        GF_ANALYTICS_CHECK_FOR_UPDATES: 'false',
        GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES: 'false',
        GF_NEWS_NEWS_FEED_ENABLED: 'false',
      },
      ports: [{ name: 'http', port: GRAFANA_PORT }],
      probe: { path: '/api/health', port: 'http' },
      resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '500m', memory: '512Mi' } },
      uid: 472,
      mounts,
    },
    volumes: [provisioning.volume, boards.volume, data.volume, tmp.volume],
  });
}
