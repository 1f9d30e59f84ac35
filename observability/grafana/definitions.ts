import { catalogue, type ServiceEntry } from '@meshmart/kit/catalogue';
import { errorBudget, serviceSlos, type Slo } from '../slo/objectives.ts';
import { BUDGET_RECORD, BUDGET_REMAINING_RECORD, leLabel, SLI_RECORD } from '../slo/rules.ts';
import type { DashboardDef, PanelDef, RowDef } from './model.ts';
import { errorRatio, quantile, rate, REQUESTS, requestRate, share } from './queries.ts';

const TAGS = ['meshmart'];

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
            queries: [{ expr: 'sum by (service) (http_requests_in_flight)', legend: '{{service}}' }],
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
              expr: rate('http_client_request_duration_seconds_count', sel, 'upstream, status_class'),
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
              expr: quantile(0.99, 'http_client_request_duration_seconds', sel, 'upstream'),
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
              expr: rate('http_client_failures_total', sel, 'upstream, reason'),
              legend: '{{upstream}} {{reason}}',
            },
          ],
        },
        {
          title: 'Retries per second',
          viz: 'timeseries',
          unit: 'short',
          queries: [{ expr: rate('http_client_retries_total', sel, 'upstream'), legend: '{{upstream}}' }],
        },
        {
          title: 'Circuit state (0 closed, 1 half-open, 2 open)',
          viz: 'timeseries',
          unit: 'short',
          min: 0,
          max: 2,
          queries: [
            { expr: `max by (upstream) (http_client_circuit_state{${sel}})`, legend: '{{upstream}}' },
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
        queries: [{ expr: rate('events_published_total', sel, 'topic'), legend: '{{topic}}' }],
      });
    if (entry.consumes.length > 0) {
      panels.push(
        {
          title: 'Deliveries by topic and outcome',
          viz: 'timeseries',
          unit: 'short',
          queries: [
            { expr: rate('events_consumed_total', sel, 'topic, outcome'), legend: '{{topic}} {{outcome}}' },
          ],
        },
        {
          title: 'Handler duration p99 by topic',
          viz: 'timeseries',
          unit: 's',
          queries: [
            { expr: quantile(0.99, 'event_handler_duration_seconds', sel, 'topic'), legend: '{{topic}}' },
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
        { expr: share('catalog_cache_requests_total', sel, 'result="hit"', 'kind'), legend: '{{kind}}' },
      ],
    },
    {
      title: 'Cache lookups by result',
      viz: 'timeseries',
      unit: 'short',
      queries: [
        { expr: rate('catalog_cache_requests_total', sel, 'kind, result'), legend: '{{kind}} {{result}}' },
      ],
    },
  ],
  checkout: (sel) => [
    {
      title: 'Sagas ended by outcome',
      viz: 'timeseries',
      unit: 'short',
      queries: [{ expr: rate('checkout_sagas_total', sel, 'outcome'), legend: '{{outcome}}' }],
    },
    {
      title: 'Step attempts by step and outcome',
      viz: 'timeseries',
      unit: 'short',
      queries: [
        { expr: rate('checkout_step_attempts_total', sel, 'step, outcome'), legend: '{{step}} {{outcome}}' },
      ],
    },
    {
      title: 'Saga duration p95',
      viz: 'timeseries',
      unit: 's',
      queries: [
        { expr: quantile(0.95, 'checkout_saga_duration_seconds', sel, 'outcome'), legend: '{{outcome}}' },
      ],
    },
  ],
  inventory: (sel) => [
    {
      title: 'Reservation changes by outcome',
      viz: 'timeseries',
      unit: 'short',
      queries: [
        { expr: rate('inventory_reservation_outcomes_total', sel, 'outcome'), legend: '{{outcome}}' },
      ],
    },
  ],
  payments: (sel) => [
    {
      title: 'Payment operations by outcome',
      viz: 'timeseries',
      unit: 'short',
      queries: [
        { expr: rate('payments_total', sel, 'operation, outcome'), legend: '{{operation}} {{outcome}}' },
      ],
    },
  ],
  orders: (sel) => [
    {
      title: 'Commands by outcome',
      viz: 'timeseries',
      unit: 'short',
      queries: [
        { expr: rate('orders_commands_total', sel, 'command, outcome'), legend: '{{command}} {{outcome}}' },
      ],
    },
    {
      title: 'Projected events by outcome',
      viz: 'timeseries',
      unit: 'short',
      queries: [{ expr: rate('orders_projected_events_total', sel, 'outcome'), legend: '{{outcome}}' }],
    },
  ],
  audit: (sel) => [
    {
      title: 'Audit records by topic and outcome',
      viz: 'timeseries',
      unit: 'short',
      queries: [
        { expr: rate('audit_records_total', sel, 'topic, outcome'), legend: '{{topic}} {{outcome}}' },
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
        query: `label_values(${REQUESTS}_count{service="${entry.name}"}, version)`,
        allValue: '.*',
      },
    ],
    rows: serviceRows(entry),
  };
}

export function businessDashboard(): DashboardDef {
  const perMinute = (expr: string) => `${expr} * 60`;
  return {
    uid: 'meshmart-business',
    title: 'MeshMart / Business',
    description: 'Checkouts, cancellations and how long a checkout takes end to end.',
    tags: [...TAGS, 'business'],
    rows: [
      {
        title: 'Checkouts',
        panels: [
          {
            title: 'Checkouts per minute by outcome',
            viz: 'timeseries',
            unit: 'short',
            queries: [
              { expr: perMinute(rate('checkout_sagas_total', '', 'outcome')), legend: '{{outcome}}' },
            ],
          },
          {
            title: 'Cancellations per minute by reason',
            description:
              'A saga step refused for a business reason: reserveStock (out of stock), authorizePayment (declined).',
            viz: 'timeseries',
            unit: 'short',
            queries: [
              {
                expr: perMinute(rate('checkout_step_attempts_total', 'outcome="business"', 'step')),
                legend: '{{step}} refused',
              },
            ],
          },
          {
            title: 'Saga duration',
            viz: 'timeseries',
            unit: 's',
            queries: [0.5, 0.95, 0.99].map((q) => ({
              expr: quantile(q, 'checkout_saga_duration_seconds', '', ''),
              legend: `p${q * 100}`,
            })),
          },
          {
            title: 'Completed share',
            viz: 'stat',
            unit: 'percentunit',
            queries: [{ expr: share('checkout_sagas_total', '', 'outcome="completed"', 'service') }],
          },
          {
            title: 'Payments per minute by outcome',
            viz: 'timeseries',
            unit: 'short',
            queries: [
              {
                expr: perMinute(rate('payments_total', '', 'operation, outcome')),
                legend: '{{operation}} {{outcome}}',
              },
            ],
          },
          {
            title: 'Reservations per minute by outcome',
            viz: 'timeseries',
            unit: 'short',
            queries: [
              {
                expr: perMinute(rate('inventory_reservation_outcomes_total', '', 'outcome')),
                legend: '{{outcome}}',
              },
            ],
          },
        ],
      },
    ],
  };
}

export function eventsDashboard(): DashboardDef {
  return {
    uid: 'meshmart-events',
    title: 'MeshMart / Events',
    description: 'Redis Streams event bus: publishing, consumption, lag, dead letters and redrives.',
    tags: [...TAGS, 'events'],
    rows: [
      {
        title: 'Flow',
        panels: [
          {
            title: 'Published per second by topic',
            viz: 'timeseries',
            unit: 'short',
            queries: [{ expr: rate('events_published_total', '', 'topic'), legend: '{{topic}}' }],
          },
          {
            title: 'Deliveries per second by group and outcome',
            viz: 'timeseries',
            unit: 'short',
            queries: [
              { expr: rate('events_consumed_total', '', 'group, outcome'), legend: '{{group}} {{outcome}}' },
            ],
          },
          {
            title: 'Consumer lag growth (published - finished, 5m)',
            description:
              'No bus exposes a lag gauge: this is what a topic received minus what each group finished (ok or dead-lettered).',
            viz: 'timeseries',
            unit: 'short',
            queries: [
              {
                expr:
                  'sum by (topic) (increase(events_published_total[5m])) - on (topic) group_right () ' +
                  'sum by (topic, group) (increase(events_consumed_total{outcome=~"ok|dead_letter"}[5m]))',
                legend: '{{topic}} → {{group}}',
              },
            ],
          },
          {
            title: 'Handler duration p99 by group',
            viz: 'timeseries',
            unit: 's',
            queries: [
              { expr: quantile(0.99, 'event_handler_duration_seconds', '', 'group'), legend: '{{group}}' },
            ],
          },
        ],
      },
      {
        title: 'Failures',
        panels: [
          {
            title: 'Dead letters (last 10m) by topic and group',
            viz: 'timeseries',
            unit: 'short',
            queries: [
              {
                expr: 'sum by (topic, group) (increase(events_dead_lettered_total[10m]))',
                legend: '{{topic}} {{group}}',
              },
            ],
          },
          {
            title: 'Dead letters total',
            viz: 'stat',
            unit: 'short',
            queries: [{ expr: 'sum by (topic) (events_dead_lettered_total)', legend: '{{topic}}' }],
          },
          {
            title: 'Redrives per second by topic',
            viz: 'timeseries',
            unit: 'short',
            queries: [{ expr: rate('events_redriven_total', '', 'topic'), legend: '{{topic}}' }],
          },
          {
            title: 'Retried deliveries share by group',
            viz: 'timeseries',
            unit: 'percentunit',
            queries: [
              {
                expr: `(${rate('events_consumed_total', 'outcome="retry"', 'group')} or ${rate('events_consumed_total', '', 'group')} * 0) / ${rate('events_consumed_total', '', 'group')}`,
                legend: '{{group}}',
              },
            ],
          },
        ],
      },
    ],
  };
}

/** Error budget left over the dashboard's range: 1 - (bad share / budget). Inline, so it works without the rules. */
function budgetLeft(slo: Slo): string {
  const sel = `service="${slo.service}"`;
  const total = `sum(rate(${REQUESTS}_count{${sel}}[$__range]))`;
  const bad =
    slo.kind === 'availability'
      ? `(sum(rate(${REQUESTS}_count{${sel},status_class="5xx"}[$__range])) or vector(0)) / ${total}`
      : `1 - sum(rate(${REQUESTS}_bucket{${sel},le="${leLabel(slo.thresholdSeconds ?? 0)}"}[$__range])) / ${total}`;
  return `1 - (${bad}) / ${errorBudget(slo)}`;
}

function burnRate(slo: Slo, window: string): string {
  const sel = `service="${slo.service}"`;
  const total = `sum(rate(${REQUESTS}_count{${sel}}[${window}]))`;
  const bad =
    slo.kind === 'availability'
      ? `(sum(rate(${REQUESTS}_count{${sel},status_class="5xx"}[${window}])) or vector(0)) / ${total}`
      : `(1 - sum(rate(${REQUESTS}_bucket{${sel},le="${leLabel(slo.thresholdSeconds ?? 0)}"}[${window}])) / ${total})`;
  return `(${bad}) / ${errorBudget(slo)}`;
}

export function sloDashboard(): DashboardDef {
  const slos = serviceSlos();
  const byKind = (kind: Slo['kind']) => slos.filter((s) => s.kind === kind);
  return {
    uid: 'meshmart-slos',
    title: 'MeshMart / SLOs',
    description:
      'Availability (99.9% not 5xx) and latency (99% within the threshold) per service. Budget left is over the ' +
      "dashboard's range: set it to 30 days for the SLO period.",
    tags: [...TAGS, 'slo'],
    from: 'now-30d',
    rows: [
      ...(['availability', 'latency'] as const).map((kind) => ({
        title: `Error budget left: ${kind}`,
        panels: byKind(kind).map((slo): PanelDef => ({
          title: `${slo.service} ${kind}`,
          description: slo.description,
          viz: 'stat',
          unit: 'percentunit',
          width: 3,
          queries: [{ expr: budgetLeft(slo) }],
        })),
      })),
      {
        title: 'Burn rate (1 = spending exactly the budget over 30 days)',
        panels: (['availability', 'latency'] as const).map((kind): PanelDef => ({
          title: `Burn rate, ${kind}, 1h`,
          viz: 'timeseries',
          unit: 'short',
          width: 12,
          queries: byKind(kind).map((slo) => ({ expr: burnRate(slo, '1h'), legend: slo.service })),
        })),
      },
      {
        title: 'From the recording rules',
        panels: [
          {
            title: 'Error budget left (30d, recorded)',
            viz: 'timeseries',
            unit: 'percentunit',
            width: 12,
            queries: [{ expr: BUDGET_REMAINING_RECORD, legend: '{{service}} {{slo}}' }],
          },
          {
            title: 'Burn rate 1h (recorded)',
            viz: 'timeseries',
            unit: 'short',
            width: 12,
            queries: [
              { expr: `${SLI_RECORD}1h / on (service, slo) ${BUDGET_RECORD}`, legend: '{{service}} {{slo}}' },
            ],
          },
        ],
      },
    ],
  };
}

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

export function dashboardDefs(): DashboardDef[] {
  return [
    overviewDashboard(),
    ...catalogue.map(serviceDashboard),
    businessDashboard(),
    eventsDashboard(),
    sloDashboard(),
    meshDashboard(),
  ];
}
