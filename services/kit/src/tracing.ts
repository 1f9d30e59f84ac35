import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
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
 * Fails open: a broken collector or SDK never takes the service down. With tracing off the SDK is never loaded
 * (about 11 MB of resident memory per process: BENCHMARKS.md, memory).
 */
export async function startTracing(options: TracingOptions): Promise<Tracing> {
  if (options.mode === 'off') return OFF;
  let sdk: typeof import('./tracing-sdk.ts');
  try {
    sdk = await import('./tracing-sdk.ts');
  } catch (err) {
    options.logger?.error({ err, component: 'otel' }, 'tracing failed to load; continuing without it');
    return OFF;
  }
  return sdk.startSdk(options, KIT_PARTS) ?? OFF;
}

/**
 * The kit's own tracing state and classes, handed to the SDK module rather than imported by it: where the kit is
 * loaded as CommonJS (tsx under mocha), a dynamic import would load second copies of them (the request sampling the
 * middleware reads, the context keys it sets) and the SDK would act on the copies.
 */
export interface KitTracingParts {
  readonly HostedTracerProvider: typeof HostedTracerProvider;
  readonly KitRootSampler: typeof KitRootSampler;
  readonly setRequestSampling: typeof setRequestSampling;
  readonly SyncContextManager: typeof SyncContextManager;
}

const KIT_PARTS: KitTracingParts = {
  HostedTracerProvider,
  KitRootSampler,
  setRequestSampling,
  SyncContextManager,
};

const OFF: Tracing = {
  mode: 'off',
  hosted: false,
  flush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};
