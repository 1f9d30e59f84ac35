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
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { HostedTracerProvider } from './hosted-tracing.ts';
import type { KitTracingParts, Tracing, TracingOptions } from './tracing.ts';

/** The SDK half of startTracing (tracing.ts), loaded only when tracing is on; undefined when the SDK failed to start. */
export function startSdk(options: TracingOptions, kit: KitTracingParts): Tracing | undefined {
  const { HostedTracerProvider, KitRootSampler, setRequestSampling, SyncContextManager } = kit;
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
    return undefined;
  }
}
