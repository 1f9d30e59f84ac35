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
  BatchSpanProcessor,
  type BasicTracerProvider,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { SyncContextManager } from './context-manager.ts';
import type { Logger } from './logger.ts';
import { KitRootSampler, setRequestSampling } from './sampling.ts';

export type TracingMode = 'off' | 'w3c' | 'xray';

export interface TracingOptions {
  readonly service: string;
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
    const sdk = new NodeSDK({
      resource: resourceFromAttributes({
        [ATTR_SERVICE_NAME]: options.service,
        ...(options.version ? { [ATTR_SERVICE_VERSION]: options.version } : {}),
      }),
      autoDetectResources: false,
      ...((options.contextManager ?? 'explicit') === 'explicit'
        ? { contextManager: new SyncContextManager() }
        : {}),
      instrumentations: [],
      textMapPropagator: new CompositePropagator({ propagators }),
      sampler: new ParentBasedSampler({
        root: new KitRootSampler(new TraceIdRatioBasedSampler(options.sampleRatio)),
      }),
      spanProcessors: exporter
        ? [new BatchSpanProcessor(exporter, { exportTimeoutMillis: options.exportTimeoutMs ?? 2000 })]
        : [],
      logRecordProcessors: [],
      ...(options.mode === 'xray' ? { idGenerator: new AWSXRayIdGenerator() } : {}),
    });
    sdk.start();
    // Without an exporter nothing is recorded, but trace ids still flow between services and into the logs.
    setRequestSampling({ ratio: exporter ? options.sampleRatio : 0, xray: options.mode === 'xray' });
    const provider = (
      trace.getTracerProvider() as ProxyTracerProvider
    ).getDelegate() as Partial<BasicTracerProvider>;
    return {
      mode: options.mode,
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

const OFF: Tracing = { mode: 'off', flush: () => Promise.resolve(), shutdown: () => Promise.resolve() };
