import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import {
  describeDeclaration,
  kitMetrics,
  sameDeclaration,
  SERVICE_LABEL,
  type CounterDeclaration,
  type GaugeDeclaration,
  type HistogramDeclaration,
  type MetricDeclaration,
} from './metric-declarations.ts';

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

  readonly name: string;
  readonly help: string;
  private readonly bounds: readonly number[];

  constructor(declaration: HistogramDeclaration<'method' | 'route' | 'status_class'>) {
    this.name = declaration.name;
    this.help = declaration.help;
    this.bounds = declaration.buckets;
  }

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

type Created = Counter | Gauge | Histogram;

/**
 * The metrics of one registry, created only from declarations: the same declaration asked for again returns the
 * metric already made (several consumers share one), another declaration of the same name throws, as prom-client
 * does for a name registered twice.
 */
export class DeclaredMetrics {
  private static readonly byRegistry = new WeakMap<Registry, DeclaredMetrics>();
  private readonly made = new Map<string, { declaration: MetricDeclaration; metric: unknown }>();

  private constructor(readonly registry: Registry) {}

  /** The declared metrics of `registry`, one set per registry. */
  static of(registry: Registry): DeclaredMetrics {
    let found = DeclaredMetrics.byRegistry.get(registry);
    if (!found) {
      found = new DeclaredMetrics(registry);
      DeclaredMetrics.byRegistry.set(registry, found);
    }
    return found;
  }

  counter<L extends string>(declaration: CounterDeclaration<L>): Counter<L> {
    return this.make(declaration, () => new Counter<L>(this.config(declaration)));
  }

  gauge<L extends string>(
    declaration: GaugeDeclaration<L>,
    options: { readonly collect?: (this: Gauge<L>) => void | Promise<void> } = {},
  ): Gauge<L> {
    return this.make(declaration, () => new Gauge<L>({ ...this.config(declaration), ...options }));
  }

  histogram<L extends string>(declaration: HistogramDeclaration<L>): Histogram<L> {
    return this.make(
      declaration,
      () => new Histogram<L>({ ...this.config(declaration), buckets: [...declaration.buckets] }),
    );
  }

  /** Registers a metric the kit implements itself (RouteHistogram) under its declaration. */
  register<M>(declaration: MetricDeclaration, metric: M): M {
    return this.make(declaration, () => {
      this.registry.registerMetric(metric as unknown as Created);
      return metric;
    });
  }

  private config<L extends string>(declaration: MetricDeclaration & { readonly labelNames: readonly L[] }) {
    return {
      name: declaration.name,
      help: declaration.help,
      labelNames: [...declaration.labelNames],
      registers: [this.registry],
    };
  }

  private make<M>(declaration: MetricDeclaration, create: () => M): M {
    const existing = this.made.get(declaration.name);
    if (existing) {
      if (!sameDeclaration(existing.declaration, declaration))
        throw new Error(
          `metric ${declaration.name} is declared twice, differently: ${describeDeclaration(existing.declaration)} ` +
            `was registered, then ${describeDeclaration(declaration)} asked for; one declaration per metric ` +
            `(services/kit/src/metric-declarations.ts or the service's src/metrics.ts)`,
        );
      return existing.metric as M;
    }
    const metric = create();
    this.made.set(declaration.name, { declaration, metric });
    return metric;
  }
}

/**
 * The app's metrics: RED per route template plus the metrics the app declares, in the same registry (see
 * DeclaredMetrics: the same declaration twice returns the same metric, a conflicting one throws).
 */
export class Metrics {
  readonly registry: Registry;
  readonly httpRequestDuration: RouteHistogram;
  /** Requests being served; a plain number read at scrape time, not a gauge update per request. */
  inFlight = 0;
  readonly exposition: 'main' | 'separate';
  private readonly declared: DeclaredMetrics;

  constructor(options: MetricsOptions) {
    this.exposition = options.exposition ?? 'main';
    this.registry = options.registry ?? new Registry();
    this.declared = DeclaredMetrics.of(this.registry);
    this.registry.setDefaultLabels({ [SERVICE_LABEL]: options.service });
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.httpRequestDuration = this.declared.register(
      kitMetrics.httpRequestDuration,
      new RouteHistogram(kitMetrics.httpRequestDuration),
    );
    const readInFlight = (): number => this.inFlight;
    this.gauge(kitMetrics.httpRequestsInFlight, {
      collect() {
        this.set(readInFlight());
      },
    });
  }

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    this.httpRequestDuration.observe(method, route, status, seconds);
  }

  counter<L extends string>(declaration: CounterDeclaration<L>): Counter<L> {
    return this.declared.counter(declaration);
  }

  gauge<L extends string>(
    declaration: GaugeDeclaration<L>,
    options?: { readonly collect?: (this: Gauge<L>) => void | Promise<void> },
  ): Gauge<L> {
    return this.declared.gauge(declaration, options);
  }

  histogram<L extends string>(declaration: HistogramDeclaration<L>): Histogram<L> {
    return this.declared.histogram(declaration);
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
}
