// Metric declarations: plain data, no runtime dependency, so that observability/, ops/ and tests import the same
// names the services expose without loading prom-client or a service. `Metrics` (metrics.ts) creates metrics only
// from these.

/** Latency buckets in seconds: fine below 100 ms where services live, coarse above for timeouts. */
export const DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

interface Declared<T extends 'counter' | 'gauge' | 'histogram', L extends string> {
  readonly type: T;
  /** snake_case with a unit suffix (`_total`, `_seconds`). */
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
}

export type CounterDeclaration<L extends string = string> = Declared<'counter', L>;
export type GaugeDeclaration<L extends string = string> = Declared<'gauge', L>;
export interface HistogramDeclaration<L extends string = string> extends Declared<'histogram', L> {
  /** Upper bounds in seconds (or the unit of the name). */
  readonly buckets: readonly number[];
}
export type MetricDeclaration = CounterDeclaration | GaugeDeclaration | HistogramDeclaration;

/** What the define* helpers take; labels default to none, buckets to DURATION_BUCKETS. */
export interface MetricSpec<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly L[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function labelsOf<L extends string>(spec: MetricSpec<L>): readonly L[] {
  return Object.freeze([...(spec.labelNames ?? [])]);
}

function declare<D extends MetricDeclaration>(declaration: D): D {
  if (!NAME.test(declaration.name))
    throw new Error(`metric ${JSON.stringify(declaration.name)}: not a Prometheus metric name`);
  const labels = declaration.labelNames;
  if (new Set(labels).size !== labels.length)
    throw new Error(`metric ${declaration.name}: a label is declared twice (${labels.join(', ')})`);
  return Object.freeze(declaration);
}

export function defineCounter<const L extends string = never>(spec: MetricSpec<L>): CounterDeclaration<L> {
  return declare({ type: 'counter', name: spec.name, help: spec.help, labelNames: labelsOf(spec) });
}

export function defineGauge<const L extends string = never>(spec: MetricSpec<L>): GaugeDeclaration<L> {
  return declare({ type: 'gauge', name: spec.name, help: spec.help, labelNames: labelsOf(spec) });
}

export function defineHistogram<const L extends string = never>(
  spec: MetricSpec<L> & { readonly buckets?: readonly number[] },
): HistogramDeclaration<L> {
  return declare({
    type: 'histogram',
    name: spec.name,
    help: spec.help,
    labelNames: labelsOf(spec),
    buckets: Object.freeze([...(spec.buckets ?? DURATION_BUCKETS)]),
  });
}

/** Two declarations describe the same metric: same type, name, help, labels (in any order) and buckets. */
export function sameDeclaration(a: MetricDeclaration, b: MetricDeclaration): boolean {
  if (a === b) return true;
  const sorted = (labels: readonly string[]) => [...labels].sort().join(',');
  const buckets = (d: MetricDeclaration) => (d.type === 'histogram' ? d.buckets.join(',') : '');
  return (
    a.type === b.type &&
    a.name === b.name &&
    a.help === b.help &&
    sorted(a.labelNames) === sorted(b.labelNames) &&
    buckets(a) === buckets(b)
  );
}

/** A declaration in words, for error messages: `counter x_total{a,b} "help"`. */
export function describeDeclaration(d: MetricDeclaration): string {
  const buckets = d.type === 'histogram' ? ` buckets [${d.buckets.join(', ')}]` : '';
  return `${d.type} ${d.name}{${d.labelNames.join(',')}} ${JSON.stringify(d.help)}${buckets}`;
}

/** The metrics the kit itself creates in every service that uses the part concerned. */
export const kitMetrics = {
  /** Served requests, RED per route template (see RouteHistogram). */
  httpRequestDuration: defineHistogram({
    name: 'http_request_duration_seconds',
    help: 'Duration of HTTP requests served, by route template and status class',
    labelNames: ['method', 'route', 'status_class'],
  }),
  httpRequestsInFlight: defineGauge({
    name: 'http_requests_in_flight',
    help: 'HTTP requests being served right now',
  }),
  httpClientRequestDuration: defineHistogram({
    name: 'http_client_request_duration_seconds',
    help: 'Duration of one attempt of an outgoing HTTP request, body included',
    labelNames: ['upstream', 'method', 'status_class'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  }),
  httpClientRetries: defineCounter({
    name: 'http_client_retries_total',
    help: 'Retried outgoing HTTP attempts',
    labelNames: ['upstream'],
  }),
  httpClientCircuitState: defineGauge({
    name: 'http_client_circuit_state',
    help: 'Circuit breaker state per upstream: 0 closed, 1 half-open, 2 open',
    labelNames: ['upstream'],
  }),
  httpClientFailures: defineCounter({
    name: 'http_client_failures_total',
    help: 'Failed outgoing HTTP attempts by reason',
    labelNames: ['upstream', 'reason'],
  }),
  eventsPublished: defineCounter({
    name: 'events_published_total',
    help: 'Events published, by topic',
    labelNames: ['topic'],
  }),
  eventsConsumed: defineCounter({
    name: 'events_consumed_total',
    help: 'Event deliveries handled, by outcome',
    labelNames: ['topic', 'group', 'outcome'],
  }),
  eventsDeadLettered: defineCounter({
    name: 'events_dead_lettered_total',
    help: 'Events moved to the dead-letter stream',
    labelNames: ['topic', 'group'],
  }),
  eventsRedriven: defineCounter({
    name: 'events_redriven_total',
    help: 'Dead letters moved back to their topic',
    labelNames: ['topic'],
  }),
  eventHandlerDuration: defineHistogram({
    name: 'event_handler_duration_seconds',
    help: 'Time spent in event handlers',
    labelNames: ['topic', 'group'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
  }),
  redisCommands: defineCounter({
    name: 'redis_commands_total',
    help: 'Redis commands sent, by command',
    labelNames: ['command'],
  }),
  mongodbCommands: defineCounter({
    name: 'mongodb_commands_total',
    help: 'MongoDB commands sent, by command and collection',
    labelNames: ['command', 'collection'],
  }),
} as const;

/** Label every series of a service's registry carries (Metrics sets it as a default label). */
export const SERVICE_LABEL = 'service';

/**
 * Metrics a service exposes that nobody declares here: prom-client's process and Node.js defaults
 * (collectDefaultMetrics), by prefix.
 */
export const RUNTIME_METRIC_PREFIXES: readonly string[] = Object.freeze(['process_', 'nodejs_']);

/** The series names a declaration exposes: a histogram's `_bucket`, `_sum` and `_count`, otherwise its name. */
export function seriesNames(declaration: MetricDeclaration): string[] {
  const { name } = declaration;
  return declaration.type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name];
}

/** A histogram's bucket series, for histogram_quantile and `le` selectors. */
export function bucketOf(histogram: HistogramDeclaration): string {
  return `${histogram.name}_bucket`;
}

/** A histogram's observation count series, for rates of what it measures. */
export function countOf(histogram: HistogramDeclaration): string {
  return `${histogram.name}_count`;
}
