import { TAGS, type DashboardDef } from '../model.ts';

export function meshDashboard(): DashboardDef {
  const envoy = (metric: string, extra = '') => `${metric}{app!=""${extra}}`;
  return {
    uid: 'meshmart-mesh',
    title: 'MeshMart / Mesh (App Mesh Envoy)',
    description: 'Envoy sidecar and virtual gateway statistics (App Mesh, /stats/prometheus on port 9901).',
    tags: [...TAGS, 'mesh', 'envoy'],
    rows: [
      {
        title: 'Upstream clusters',
        panels: [
          {
            title: 'Requests per second by cluster',
            viz: 'timeseries',
            unit: 'reqps',
            queries: [
              {
                expr: `sum by (app, envoy_cluster_name) (rate(${envoy('envoy_cluster_upstream_rq_total')}[$__rate_interval]))`,
                legend: '{{app}} → {{envoy_cluster_name}}',
              },
            ],
          },
          {
            title: '5xx per second by cluster',
            viz: 'timeseries',
            unit: 'reqps',
            queries: [
              {
                expr: `sum by (app, envoy_cluster_name) (rate(${envoy('envoy_cluster_upstream_rq_xx', ',envoy_response_code_class="5"')}[$__rate_interval]))`,
                legend: '{{app}} → {{envoy_cluster_name}}',
              },
            ],
          },
          {
            title: 'Upstream time p99 by cluster',
            viz: 'timeseries',
            unit: 'ms',
            queries: [
              {
                expr: `histogram_quantile(0.99, sum by (envoy_cluster_name, le) (rate(${envoy('envoy_cluster_upstream_rq_time_bucket')}[$__rate_interval])))`,
                legend: '{{envoy_cluster_name}}',
              },
            ],
          },
          {
            title: 'Retries per second by cluster',
            viz: 'timeseries',
            unit: 'short',
            queries: [
              {
                expr: `sum by (envoy_cluster_name) (rate(${envoy('envoy_cluster_upstream_rq_retry')}[$__rate_interval]))`,
                legend: '{{envoy_cluster_name}}',
              },
            ],
          },
          {
            title: 'Active connections by cluster',
            viz: 'timeseries',
            unit: 'short',
            queries: [
              {
                expr: `sum by (envoy_cluster_name) (${envoy('envoy_cluster_upstream_cx_active')})`,
                legend: '{{envoy_cluster_name}}',
              },
            ],
          },
          {
            title: 'Outlier ejections active',
            viz: 'timeseries',
            unit: 'short',
            queries: [
              {
                expr: `sum by (envoy_cluster_name) (${envoy('envoy_cluster_outlier_detection_ejections_active')})`,
                legend: '{{envoy_cluster_name}}',
              },
            ],
          },
        ],
      },
      {
        title: 'Inbound',
        panels: [
          {
            title: 'Downstream requests per second',
            viz: 'timeseries',
            unit: 'reqps',
            width: 12,
            queries: [
              {
                expr: `sum by (app) (rate(${envoy('envoy_http_downstream_rq_total')}[$__rate_interval]))`,
                legend: '{{app}}',
              },
            ],
          },
          {
            title: 'Downstream 5xx per second',
            viz: 'timeseries',
            unit: 'reqps',
            width: 12,
            queries: [
              {
                expr: `sum by (app) (rate(${envoy('envoy_http_downstream_rq_xx', ',envoy_response_code_class="5"')}[$__rate_interval]))`,
                legend: '{{app}}',
              },
            ],
          },
        ],
      },
    ],
  };
}
