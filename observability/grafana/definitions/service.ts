import { auditMetrics } from '@meshmart/audit/metrics';
import { catalogMetrics } from '@meshmart/catalog/metrics';
import { checkoutMetrics } from '@meshmart/checkout/metrics';
import { inventoryMetrics } from '@meshmart/inventory/metrics';
import { countOf, kitMetrics } from '@meshmart/kit/metric-declarations';
import { ordersMetrics } from '@meshmart/orders/metrics';
import { paymentsMetrics } from '@meshmart/payments/metrics';
import type { ServiceEntry } from '@meshmart/catalogue';
import { TAGS, type DashboardDef, type PanelDef, type RowDef } from '../model.ts';
import { errorRatio, quantile, rate, REQUESTS, requestRate, share } from '../queries.ts';

/** Panels only the services that have the thing get (upstreams, events, business metrics). */
function serviceRows(entry: ServiceEntry): RowDef[] {
  const sel = `service="${entry.name}",version=~"$version"`;
  const rows: RowDef[] = [
    {
      title: 'Requests',
      panels: [
        {
          title: 'Requests per second by route',
          viz: 'timeseries',
          unit: 'reqps',
          queries: [{ expr: requestRate(sel, 'method, route'), legend: '{{method}} {{route}}' }],
        },
        {
          title: 'Responses by status class',
          viz: 'timeseries',
          unit: 'reqps',
          queries: [{ expr: requestRate(sel, 'status_class'), legend: '{{status_class}}' }],
        },
        {
          title: 'Error ratio (5xx) by version',
          viz: 'timeseries',
          unit: 'percentunit',
          min: 0,
          queries: [{ expr: errorRatio(sel, 'version'), legend: '{{version}}' }],
        },
        {
          title: 'Duration quantiles',
          viz: 'timeseries',
          unit: 's',
          queries: [0.5, 0.9, 0.99].map((q) => ({
            expr: quantile(q, REQUESTS, sel, ''),
            legend: `p${q * 100}`,
          })),
        },
        {
          title: 'Duration p99 by route',
          viz: 'timeseries',
          unit: 's',
          queries: [{ expr: quantile(0.99, REQUESTS, sel, 'route'), legend: '{{route}}' }],
        },
        {
          title: 'Requests per second by version',
          viz: 'timeseries',
          unit: 'reqps',
          queries: [{ expr: requestRate(sel, 'version'), legend: '{{version}}' }],
        },
      ],
    },
  ];
  if (entry.dependsOn.length > 0) {
    rows.push({
      title: 'Calls to upstreams',
      panels: [
        {
          title: 'Attempts per second by upstream',
          viz: 'timeseries',
          unit: 'reqps',
          queries: [
            {
              expr: rate(countOf(kitMetrics.httpClientRequestDuration), sel, 'upstream, status_class'),
              legend: '{{upstream}} {{status_class}}',
            },
          ],
        },
        {
          title: 'Attempt duration p99 by upstream',
          viz: 'timeseries',
          unit: 's',
          queries: [
            {
              expr: quantile(0.99, kitMetrics.httpClientRequestDuration, sel, 'upstream'),
              legend: '{{upstream}}',
            },
          ],
        },
        {
          title: 'Failed attempts by reason',
          viz: 'timeseries',
          unit: 'short',
          queries: [
            {
              expr: rate(kitMetrics.httpClientFailures.name, sel, 'upstream, reason'),
              legend: '{{upstream}} {{reason}}',
            },
          ],
        },
        {
          title: 'Retries per second',
          viz: 'timeseries',
          unit: 'short',
          queries: [
            { expr: rate(kitMetrics.httpClientRetries.name, sel, 'upstream'), legend: '{{upstream}}' },
          ],
        },
        {
          title: 'Circuit state (0 closed, 1 half-open, 2 open)',
          viz: 'timeseries',
          unit: 'short',
          min: 0,
          max: 2,
          queries: [
            {
              expr: `max by (upstream) (${kitMetrics.httpClientCircuitState.name}{${sel}})`,
              legend: '{{upstream}}',
            },
          ],
        },
      ],
    });
  }
  if (entry.publishes.length > 0 || entry.consumes.length > 0) {
    const panels: PanelDef[] = [];
    if (entry.publishes.length > 0)
      panels.push({
        title: 'Events published by topic',
        viz: 'timeseries',
        unit: 'short',
        queries: [{ expr: rate(kitMetrics.eventsPublished.name, sel, 'topic'), legend: '{{topic}}' }],
      });
    if (entry.consumes.length > 0) {
      panels.push(
        {
          title: 'Deliveries by topic and outcome',
          viz: 'timeseries',
          unit: 'short',
          queries: [
            {
              expr: rate(kitMetrics.eventsConsumed.name, sel, 'topic, outcome'),
              legend: '{{topic}} {{outcome}}',
            },
          ],
        },
        {
          title: 'Handler duration p99 by topic',
          viz: 'timeseries',
          unit: 's',
          queries: [
            { expr: quantile(0.99, kitMetrics.eventHandlerDuration, sel, 'topic'), legend: '{{topic}}' },
          ],
        },
      );
    }
    rows.push({ title: 'Events', panels });
  }
  const business = BUSINESS[entry.name]?.(sel);
  if (business) rows.push({ title: 'Domain', panels: business });
  rows.push({
    title: 'Process',
    panels: [
      {
        title: 'CPU (cores)',
        viz: 'timeseries',
        unit: 'short',
        queries: [{ expr: rate('process_cpu_seconds_total', sel, 'pod, instance'), legend: '{{instance}}' }],
      },
      {
        title: 'Resident memory',
        viz: 'timeseries',
        unit: 'bytes',
        queries: [
          { expr: `sum by (instance) (process_resident_memory_bytes{${sel}})`, legend: '{{instance}}' },
        ],
      },
      {
        title: 'Event loop lag p99',
        viz: 'timeseries',
        unit: 's',
        queries: [
          { expr: `max by (instance) (nodejs_eventloop_lag_p99_seconds{${sel}})`, legend: '{{instance}}' },
        ],
      },
    ],
  });
  return rows;
}

const BUSINESS: Readonly<Record<string, (sel: string) => PanelDef[]>> = {
  catalog: (sel) => [
    {
      title: 'Cache hit ratio by kind',
      viz: 'timeseries',
      unit: 'percentunit',
      min: 0,
      max: 1,
      queries: [
        { expr: share(catalogMetrics.cacheRequests, sel, 'result="hit"', 'kind'), legend: '{{kind}}' },
      ],
    },
    {
      title: 'Cache lookups by result',
      viz: 'timeseries',
      unit: 'short',
      queries: [
        { expr: rate(catalogMetrics.cacheRequests.name, sel, 'kind, result'), legend: '{{kind}} {{result}}' },
      ],
    },
  ],
  checkout: (sel) => [
    {
      title: 'Sagas ended by outcome',
      viz: 'timeseries',
      unit: 'short',
      queries: [{ expr: rate(checkoutMetrics.sagas.name, sel, 'outcome'), legend: '{{outcome}}' }],
    },
    {
      title: 'Step attempts by step and outcome',
      viz: 'timeseries',
      unit: 'short',
      queries: [
        {
          expr: rate(checkoutMetrics.stepAttempts.name, sel, 'step, outcome'),
          legend: '{{step}} {{outcome}}',
        },
      ],
    },
    {
      title: 'Saga duration p95',
      viz: 'timeseries',
      unit: 's',
      queries: [
        { expr: quantile(0.95, checkoutMetrics.sagaDuration, sel, 'outcome'), legend: '{{outcome}}' },
      ],
    },
  ],
  inventory: (sel) => [
    {
      title: 'Reservation changes by outcome',
      viz: 'timeseries',
      unit: 'short',
      queries: [
        { expr: rate(inventoryMetrics.reservationOutcomes.name, sel, 'outcome'), legend: '{{outcome}}' },
      ],
    },
  ],
  payments: (sel) => [
    {
      title: 'Payment operations by outcome',
      viz: 'timeseries',
      unit: 'short',
      queries: [
        {
          expr: rate(paymentsMetrics.operations.name, sel, 'operation, outcome'),
          legend: '{{operation}} {{outcome}}',
        },
      ],
    },
  ],
  orders: (sel) => [
    {
      title: 'Commands by outcome',
      viz: 'timeseries',
      unit: 'short',
      queries: [
        {
          expr: rate(ordersMetrics.commands.name, sel, 'command, outcome'),
          legend: '{{command}} {{outcome}}',
        },
      ],
    },
    {
      title: 'Projected events by outcome',
      viz: 'timeseries',
      unit: 'short',
      queries: [{ expr: rate(ordersMetrics.projectedEvents.name, sel, 'outcome'), legend: '{{outcome}}' }],
    },
  ],
  audit: (sel) => [
    {
      title: 'Audit records by topic and outcome',
      viz: 'timeseries',
      unit: 'short',
      queries: [
        { expr: rate(auditMetrics.records.name, sel, 'topic, outcome'), legend: '{{topic}} {{outcome}}' },
      ],
    },
  ],
};

export function serviceDashboard(entry: ServiceEntry): DashboardDef {
  return {
    uid: `meshmart-service-${entry.name}`,
    title: `MeshMart / Service / ${entry.name}`,
    description: `${entry.description}. Compare versions with the version variable during a canary.`,
    tags: [...TAGS, 'service', entry.name],
    variables: [
      {
        name: 'version',
        label: 'Version',
        query: `label_values(${countOf(REQUESTS)}{service="${entry.name}"}, version)`,
        allValue: '.*',
      },
    ],
    rows: serviceRows(entry),
  };
}
