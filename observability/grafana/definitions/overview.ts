import { kitMetrics } from '@meshmart/kit/metric-declarations';
import { TAGS, type DashboardDef } from '../model.ts';
import { errorRatio, quantile, REQUESTS, requestRate } from '../queries.ts';

export function overviewDashboard(): DashboardDef {
  return {
    uid: 'meshmart-overview',
    title: 'MeshMart / Overview',
    description: 'Requests, errors and duration of every service (RED), from the kit request histogram.',
    tags: [...TAGS, 'overview'],
    rows: [
      {
        title: 'Requests, errors, duration per service',
        panels: [
          {
            title: 'Requests per second',
            viz: 'timeseries',
            unit: 'reqps',
            queries: [{ expr: requestRate('', 'service'), legend: '{{service}}' }],
          },
          {
            title: 'Error ratio (5xx)',
            viz: 'timeseries',
            unit: 'percentunit',
            min: 0,
            queries: [{ expr: errorRatio('', 'service'), legend: '{{service}}' }],
          },
          {
            title: 'Duration p99',
            viz: 'timeseries',
            unit: 's',
            queries: [{ expr: quantile(0.99, REQUESTS, '', 'service'), legend: '{{service}}' }],
          },
          {
            title: 'Duration p50',
            viz: 'timeseries',
            unit: 's',
            queries: [{ expr: quantile(0.5, REQUESTS, '', 'service'), legend: '{{service}}' }],
          },
          {
            title: 'Requests in flight',
            viz: 'timeseries',
            unit: 'short',
            queries: [
              { expr: `sum by (service) (${kitMetrics.httpRequestsInFlight.name})`, legend: '{{service}}' },
            ],
          },
          {
            title: 'Client errors (4xx) per second',
            viz: 'timeseries',
            unit: 'reqps',
            queries: [{ expr: requestRate('status_class="4xx"', 'service'), legend: '{{service}}' }],
          },
        ],
      },
      {
        title: 'Targets',
        panels: [
          {
            title: 'Scrape targets up',
            viz: 'stat',
            unit: 'short',
            width: 12,
            queries: [{ expr: 'sum by (app) (up{app!=""})', legend: '{{app}}' }],
          },
          {
            title: 'Targets up by version',
            viz: 'timeseries',
            unit: 'short',
            width: 12,
            queries: [{ expr: 'sum by (app, version) (up{app!=""})', legend: '{{app}} {{version}}' }],
          },
        ],
      },
    ],
  };
}
