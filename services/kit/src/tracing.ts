import {
  diag,
  DiagLogLevel,
  trace,
  type ProxyTracerProvider,
  type TextMapPropagator,
} from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { AWSXRayIdGenerator } from '@opentelemetry/id-generator-aws-xray';
import { AWSXRayPropagator } from '@opentelemetry/propagator-aws-xray';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { SyncContextManager } from './context-manager.ts';
import { HostedTracerProvider } from './hosted-tracing.ts';
import type { Logger } from './logger.ts';
import { KitRootSampler, setRequestSampling } from './sampling.ts';

export type TracingMode = 'off' | 'w3c' | 'xray';

export interface TracingOptions {
  /** `service.name` of the spans; with `services`, of the spans no hosted service claims (the process). */
  readonly service: string;
  /**
   * Services hosted in this process (hostServices): each reports its spans under its own `service.name`, through a
   * tracer provider of its own, so that one trace through one process still shows every hop. @default none
   */
  readonly services?: readonly string[];
  readonly version?: string;
  /** `w3c`: W3C trace context. `xray`: also the X-Ray header and X-Ray-compatible trace ids (EKS). */
  readonly mode: TracingMode;
  /** OTLP/HTTP traces endpoint, e.g. http://otel-collector:4318/v1/traces. Without one, context still propagates. */
  readonly endpoint?: string;
  /** Fraction of new traces sampled; a sampled parent is always followed. */
  readonly sampleRatio: number;
  readonly logger?: Logger;
  /** Replaces the OTLP exporter (tests). */
  readonly exporter?: SpanExporter;
  /** Export timeout, so a dead collector delays shutdown by at most this much. @default 2000 */
  readonly exportTimeoutMs?: number;
  /**
   * `explicit`: the kit hands contexts over (a handler's `trace`, a delivery's `context`); no async_hooks.
   * `async-local-storage`: the active context also follows awaits (what third-party instrumentations expect), at
   * a small cost per request (BENCHMARKS.md). @default 'explicit'
   */
  readonly contextManager?: ContextMode;
}

export type ContextMode = 'explicit' | 'async-local-storage';

export interface Tracing {
  readonly mode: TracingMode;
  /** True when spans are routed to the hosted services' own providers (`services` given and spans exported). */
  readonly hosted: boolean;
  /** Exports the spans ended so far; never throws. */
  flush(): Promise<void>;
  /** Flushes pending spans and stops the SDK; never throws. */
  shutdown(): Promise<void>;
}

/**
 * Starts OpenTelemetry before the app is imported. It registers no monkey-patching instrumentations: the kit's own
 * middleware and HTTP client make the spans, only for sampled requests, which keeps the unsampled path cheap.
 * Fails open: a broken collector or SDK never takes the service down.
 */
export function startTracing(options: TracingOptions): Tracing {
  if (options.mode === 'off') return OFF;
  const log = options.logger;
  if (log) {
    // Exporter failures reach the logs once per kind, at warn, instead of being thrown.
    const seen = new Set<string>();
    const warnOnce = (message: string): void => {
      if (seen.has(message)) return;
      seen.add(message);
      log.warn({ component: 'otel' }, message);
    };
    diag.setLogger(
      {
        error: warnOnce,
        warn: warnOnce,
        info: () => {},
        debug: () => {},
        verbose: () => {},
      },
      { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
    );
  }
  const propagators: TextMapPropagator[] = [new W3CTraceContextPropagator(), new W3CBaggagePropagator()];
  if (options.mode === 'xray') propagators.push(new AWSXRayPropagator());
  const exporter =
    options.exporter ??
    (options.endpoint
      ? new OTLPTraceExporter({ url: options.endpoint, timeoutMillis: options.exportTimeoutMs ?? 2000 })
      : undefined);
  try {
    const resource = (service: string) =>
      resourceFromAttributes({
        [ATTR_SERVICE_NAME]: service,
        ...(options.version ? { [ATTR_SERVICE_VERSION]: options.version } : {}),
      });
    const sampler = new ParentBasedSampler({
      root: new KitRootSampler(new TraceIdRatioBasedSampler(options.sampleRatio)),
    });
    const idGenerator = options.mode === 'xray' ? new AWSXRayIdGenerator() : undefined;
    const processor = exporter
      ? new BatchSpanProcessor(exporter, { exportTimeoutMillis: options.exportTimeoutMs ?? 2000 })
      : undefined;
    const hosted = processor && options.services?.length ? options.services : undefined;
    const sdk = new NodeSDK({
      resource: resource(options.service),
      autoDetectResources: false,
      ...((options.contextManager ?? 'explicit') === 'explicit'
        ? { contextManager: new SyncContextManager() }
        : {}),
      instrumentations: [],
      textMapPropagator: new CompositePropagator({ propagators }),
      sampler,
      // Hosted services get a provider each (below); the SDK then only registers the context manager and propagator.
      spanProcessors: processor && !hosted ? [processor] : [],
      logRecordProcessors: [],
      ...(idGenerator ? { idGenerator } : {}),
    });
    sdk.start();
    let router: HostedTracerProvider | undefined;
    if (hosted && processor) {
      // One batch processor for all: the OTLP exporter sends each service's spans under its own resource.
      const providers = new Map(
        [options.service, ...hosted].map((service) => [
          service,
          new BasicTracerProvider({
            resource: resource(service),
            sampler,
            spanProcessors: [processor],
            ...(idGenerator ? { idGenerator } : {}),
          }),
        ]),
      );
      router = new HostedTracerProvider(providers, options.service);
      trace.setGlobalTracerProvider(router);
    }
    // Without an exporter nothing is recorded, but trace ids still flow between services and into the logs.
    setRequestSampling({ ratio: exporter ? options.sampleRatio : 0, xray: options.mode === 'xray' });
    const provider =
      router ??
      ((trace.getTracerProvider() as ProxyTracerProvider).getDelegate() as Partial<BasicTracerProvider>);
    return {
      mode: options.mode,
      hosted: router !== undefined,
      flush: async () => {
        try {
          await provider.forceFlush?.();
        } catch (err) {
          log?.warn({ err, component: 'otel' }, 'tracing flush failed');
        }
      },
      shutdown: async () => {
        setRequestSampling(undefined);
        try {
          await router?.shutdown();
          await sdk.shutdown();
        } catch (err) {
          log?.warn({ err, component: 'otel' }, 'tracing shutdown failed');
        }
      },
    };
  } catch (err) {
    log?.error({ err, component: 'otel' }, 'tracing failed to start; continuing without it');
    return OFF;
  }
}

const OFF: Tracing = {
  mode: 'off',
  hosted: false,
  flush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};
