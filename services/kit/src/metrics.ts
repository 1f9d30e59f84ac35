import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Latency buckets in seconds: fine below 100 ms where services live, coarse above for timeouts. */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface MetricsOptions {
  readonly service: string;
  /** @default a new Registry: one per app, never the global one */
  readonly registry?: Registry;
  /** Node process metrics (CPU, memory, event loop lag, GC). @default true */
  readonly processMetrics?: boolean;
}

type Labels<L extends string> = Partial<Record<L, string | number>>;

/**
 * The app's metrics: RED per route template plus helpers that create business metrics in the same registry,
 * returning the existing metric when asked twice for the same name.
 */
export class Metrics {
  readonly registry: Registry;
  readonly httpRequestDuration: Histogram<'method' | 'route' | 'status_class'>;
  readonly httpRequestsInFlight: Gauge;
  private readonly observers = new Map<string, (seconds: number) => void>();

  constructor(options: MetricsOptions) {
    this.registry = options.registry ?? new Registry();
    this.registry.setDefaultLabels({ service: options.service });
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.httpRequestDuration = this.histogram({
      name: 'http_request_duration_seconds',
      help: 'Duration of HTTP requests served, by route template and status class',
      labelNames: ['method', 'route', 'status_class'],
      buckets: DURATION_BUCKETS,
    });
    this.httpRequestsInFlight = this.gauge({
      name: 'http_requests_in_flight',
      help: 'HTTP requests being served right now',
    });
  }

  /** Hot path: label sets are few (routes x methods x classes), so each gets a cached bound observer. */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const statusClass = status >= 500 ? '5xx' : status >= 400 ? '4xx' : status >= 300 ? '3xx' : status >= 200 ? '2xx' : '1xx';
    const key = `${method} ${route} ${statusClass}`;
    let observe = this.observers.get(key);
    if (!observe) {
      const child = this.httpRequestDuration.labels({ method, route, status_class: statusClass });
      observe = (s) => child.observe(s);
      this.observers.set(key, observe);
    }
    observe(seconds);
  }

  counter<L extends string = string>(config: { name: string; help: string; labelNames?: readonly L[] }): Counter<L> {
    return this.existing<Counter<L>>(config.name) ?? new Counter<L>({ ...config, registers: [this.registry] });
  }

  gauge<L extends string = string>(config: {
    name: string;
    help: string;
    labelNames?: readonly L[];
    collect?: (this: Gauge<L>) => void | Promise<void>;
  }): Gauge<L> {
    return this.existing<Gauge<L>>(config.name) ?? new Gauge<L>({ ...config, registers: [this.registry] });
  }

  histogram<L extends string = string>(config: {
    name: string;
    help: string;
    labelNames?: readonly L[];
    buckets?: number[];
  }): Histogram<L> {
    return (
      this.existing<Histogram<L>>(config.name) ??
      new Histogram<L>({ buckets: DURATION_BUCKETS, ...config, registers: [this.registry] })
    );
  }

  /** Times an async operation into a histogram, labelled with its outcome. */
  async time<T, L extends string>(
    histogram: Histogram<L | 'outcome'>,
    labels: Labels<L>,
    fn: () => Promise<T>,
  ): Promise<T> {
    const end = histogram.startTimer(labels as Labels<L | 'outcome'>);
    try {
      const result = await fn();
      end({ outcome: 'ok' } as Labels<L | 'outcome'>);
      return result;
    } catch (err) {
      end({ outcome: 'error' } as Labels<L | 'outcome'>);
      throw err;
    }
  }

  private existing<M>(name: string): M | undefined {
    return this.registry.getSingleMetric(name) as M | undefined;
  }
}
