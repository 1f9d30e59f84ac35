import { catalogMetrics } from '@meshmart/catalog/metrics';
import { checkoutMetrics } from '@meshmart/checkout/metrics';
import { kitMetrics } from '@meshmart/kit/metric-declarations';
import type { AlertingRule, RecordingRule, RuleGroup } from './types.ts';

/** Only MeshMart's targets carry `app` (added by the scrape relabeling from the pod's name label). */
export const MESHMART_TARGETS = 'app!=""';

const runbook = (anchor: string) => `docs/observability.md#${anchor}`;

/** Checkout: sagas that ended `failed` (compensation could not finish) as a share of every saga that ended. */
export const SAGA_FAILURE_RATIO = 'checkout:saga_failed:ratio_rate10m';
export const EVENT_BACKLOG_GROWTH = 'events:backlog_growth:increase10m';
export const CACHE_HIT_RATIO = 'catalog:cache_hit:ratio_rate10m';

export function meshmartRecordingRules(): RuleGroup {
  const rules: RecordingRule[] = [
    {
      record: SAGA_FAILURE_RATIO,
      expr:
        `sum by (service) (rate(${checkoutMetrics.sagas.name}{outcome="failed"}[10m]))` +
        ` / sum by (service) (rate(${checkoutMetrics.sagas.name}[10m]))`,
    },
    {
      // No bus exposes a lag gauge, so lag is what was published on a topic minus what each group finished with.
      record: EVENT_BACKLOG_GROWTH,
      expr:
        `sum by (topic) (increase(${kitMetrics.eventsPublished.name}[10m]))` +
        ' - on (topic) group_right ()' +
        ` sum by (topic, group) (increase(${kitMetrics.eventsConsumed.name}{outcome=~"ok|dead_letter"}[10m]))`,
    },
    {
      record: CACHE_HIT_RATIO,
      expr:
        `sum by (service, kind) (rate(${catalogMetrics.cacheRequests.name}{result="hit"}[10m]))` +
        ` / sum by (service, kind) (rate(${catalogMetrics.cacheRequests.name}[10m]))`,
    },
  ];
  return { name: 'meshmart-recordings', rules };
}

export function sagaAlerts(): RuleGroup {
  const rules: AlertingRule[] = [
    {
      alert: 'CheckoutSagaFailureRateHigh',
      expr: `${SAGA_FAILURE_RATIO} > 0.02 and on (service) sum by (service) (increase(${checkoutMetrics.sagas.name}[10m])) >= 5`,
      for: '5m',
      labels: { severity: 'page' },
      annotations: {
        summary: 'Checkout sagas end failed (compensation did not finish)',
        description:
          'More than 2% of checkout sagas in the last 10 minutes ended `failed`: stock or money may be held for ' +
          'orders that will never complete. Declines and out-of-stock end `compensated`, not `failed`.',
        runbook_url: runbook('saga-alerts'),
      },
    },
    {
      alert: 'CheckoutSagaCompensationsHigh',
      expr:
        `sum by (service) (rate(${checkoutMetrics.sagas.name}{outcome="compensated"}[30m]))` +
        ` / sum by (service) (rate(${checkoutMetrics.sagas.name}[30m])) > 0.5` +
        ` and on (service) sum by (service) (increase(${checkoutMetrics.sagas.name}[30m])) >= 20`,
      for: '15m',
      labels: { severity: 'ticket' },
      annotations: {
        summary: 'Most checkouts are rolled back',
        description:
          'More than half of the checkouts of the last 30 minutes were compensated (declined or out of stock): ' +
          'check payments and inventory.',
        runbook_url: runbook('saga-alerts'),
      },
    },
  ];
  return { name: 'meshmart-saga', rules };
}

export function eventAlerts(): RuleGroup {
  const rules: AlertingRule[] = [
    {
      alert: 'EventDeadLettersGrowing',
      expr: `sum by (topic, group) (increase(${kitMetrics.eventsDeadLettered.name}[10m])) > 0`,
      for: '1m',
      labels: { severity: 'ticket' },
      annotations: {
        summary: 'Events of {{ $labels.topic }} are dead-lettered by {{ $labels.group }}',
        description:
          'Events moved to {{ $labels.topic }}.dlq in the last 10 minutes. Inspect them and redrive once the ' +
          'consumer is fixed.',
        runbook_url: runbook('event-alerts'),
      },
    },
    {
      alert: 'EventConsumerLagGrowing',
      expr: `${EVENT_BACKLOG_GROWTH} > 100`,
      for: '10m',
      labels: { severity: 'page' },
      annotations: {
        summary: '{{ $labels.group }} falls behind on {{ $labels.topic }}',
        description:
          'For 10 minutes, over 100 more events were published on {{ $labels.topic }} per 10 minutes than ' +
          '{{ $labels.group }} finished.',
        runbook_url: runbook('event-alerts'),
      },
    },
    {
      alert: 'EventRetriesHigh',
      expr:
        `sum by (topic, group) (rate(${kitMetrics.eventsConsumed.name}{outcome="retry"}[10m]))` +
        ` / sum by (topic, group) (rate(${kitMetrics.eventsConsumed.name}[10m])) > 0.1`,
      for: '10m',
      labels: { severity: 'ticket' },
      annotations: {
        summary: '{{ $labels.group }} keeps failing on {{ $labels.topic }}',
        description: 'More than 10% of deliveries are retried.',
        runbook_url: runbook('event-alerts'),
      },
    },
  ];
  return { name: 'meshmart-events', rules };
}

export function cacheAlerts(): RuleGroup {
  const rules: AlertingRule[] = [
    {
      alert: 'CatalogCacheHitRatioCollapsed',
      // Relative to an hour ago, so a cold cache after a deploy with no history does not page.
      expr:
        `${CACHE_HIT_RATIO} < 0.5 and ${CACHE_HIT_RATIO} < 0.5 * (${CACHE_HIT_RATIO} offset 1h)` +
        ` and on (service, kind) sum by (service, kind) (rate(${catalogMetrics.cacheRequests.name}[10m])) > 0.1`,
      for: '10m',
      labels: { severity: 'ticket' },
      annotations: {
        summary: 'The catalog cache hit ratio for {{ $labels.kind }} collapsed',
        description:
          'Below 50% and less than half of an hour ago: Redis down or evicting, or invalidations storming. Reads ' +
          'fall through to MongoDB.',
        runbook_url: runbook('cache-alerts'),
      },
    },
  ];
  return { name: 'meshmart-cache', rules };
}

export function targetAlerts(): RuleGroup {
  const rules: AlertingRule[] = [
    {
      alert: 'MeshmartTargetDown',
      expr: `up{${MESHMART_TARGETS}} == 0`,
      for: '2m',
      labels: { severity: 'page' },
      annotations: {
        summary: '{{ $labels.app }} {{ $labels.version }} cannot be scraped',
        description:
          'Prometheus failed to scrape {{ $labels.instance }} for 2 minutes: the pod is down or hung.',
        runbook_url: runbook('target-alerts'),
      },
    },
    {
      alert: 'UpstreamCircuitOpen',
      expr: `max by (service, upstream) (${kitMetrics.httpClientCircuitState.name}) == 2`,
      for: '2m',
      labels: { severity: 'ticket' },
      annotations: {
        summary: '{{ $labels.service }} stopped calling {{ $labels.upstream }} (circuit open)',
        description: 'The circuit breaker stayed open for 2 minutes: the upstream keeps failing.',
        runbook_url: runbook('target-alerts'),
      },
    },
  ];
  return { name: 'meshmart-targets', rules };
}
