import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Latency buckets in seconds: fine below 100 ms where services live, coarse above for timeouts. */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface MetricsOptions {
  readonly service: string;
  /** @default a new Registry: one per app, never the global one */
  readonly registry?: Registry;
  /** Node process metrics (CPU, memory, event loop lag, GC). @default true */
  readonly processMetrics?: boolean;
  /**
   * Where /metrics is answered: on the service's port, or only on a listener of its own (METRICS_PORT), which the
   * host binds; the app then answers /metrics on its port as any unknown path. @default 'main'
   */
  readonly exposition?: 'main' | 'separate';
}

type Labels<L extends string> = Partial<Record<L, string | number>>;

interface Series {
  readonly labels: Readonly<Record<string, string>>;
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

/**
 * The request-duration histogram, kept outside prom-client's generic one: label sets are few and known, so a request
 * costs one Map lookup and a bucket scan instead of label validation and hashing. Exposed through prom-client's
 * registry in the same format.
 */
export class RouteHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {}

  observe(method: string, route: string, status: number, seconds: number): void {
    const statusClass =
      status >= 500 ? '5xx' : status >= 400 ? '4xx' : status >= 300 ? '3xx' : status >= 200 ? '2xx' : '1xx';
    const key = `${method} ${statusClass} ${route}`;
    let s = this.series.get(key);
    if (!s) {
      s = {
        labels: { method, route, status_class: statusClass },
        buckets: new Float64Array(this.bounds.length),
        sum: 0,
        count: 0,
      };
      this.series.set(key, s);
    }
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (seconds <= bounds[i]) {
        s.buckets[i]++;
        break;
      }
    }
    s.sum += seconds;
    s.count++;
  }

  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: unknown[] }> {
    const values: unknown[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const s of this.series.values()) {
      let acc = 0;
      this.bounds.forEach((le, i) => {
        acc += s.buckets[i];
        values.push({ labels: { ...s.labels, le }, value: acc, metricName: bucketName });
      });
      values.push({ labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: bucketName });
      values.push({ labels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    });
  }

  reset(): void {
    this.series.clear();
  }
}

/**
 * The app's metrics: RED per route template plus helpers that create business metrics in the same registry,
 * returning the existing metric when asked twice for the same name.
 */
export class Metrics {
  readonly registry: Registry;
  readonly httpRequestDuration: RouteHistogram;
  /** Requests being served; a plain number read at scrape time, not a gauge update per request. */
  inFlight = 0;
  readonly exposition: 'main' | 'separate';

  constructor(options: MetricsOptions) {
    this.exposition = options.exposition ?? 'main';
    this.registry = options.registry ?? new Registry();
    this.registry.setDefaultLabels({ service: options.service });
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.httpRequestDuration = new RouteHistogram(
      'http_request_duration_seconds',
      'Duration of HTTP requests served, by route template and status class',
      DURATION_BUCKETS,
    );
    this.registry.registerMetric(this.httpRequestDuration as unknown as Histogram);
    const readInFlight = (): number => this.inFlight;
    this.gauge({
      name: 'http_requests_in_flight',
      help: 'HTTP requests being served right now',
      collect() {
        this.set(readInFlight());
      },
    });
  }

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    this.httpRequestDuration.observe(method, route, status, seconds);
  }

  counter<L extends string = string>(config: {
    name: string;
    help: string;
    labelNames?: readonly L[];
  }): Counter<L> {
    return (
      this.existing<Counter<L>>(config.name) ?? new Counter<L>({ ...config, registers: [this.registry] })
    );
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
