import {
  context,
  createContextKey,
  SpanKind,
  trace,
  type Context,
  type Span,
  type SpanOptions,
  type Tracer,
  type TracerOptions,
  type TracerProvider,
} from '@opentelemetry/api';
import type { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

/** The hosted service whose code is running, set around each service's request listener by hostServices. */
const SERVICE = createContextKey('meshmart.hosted-service');

/** `context` with `service` as the hosted service running in it. */
export function withHostedService(ctx: Context, service: string): Context {
  return ctx.setValue(SERVICE, service);
}

/** How many recent span ids are remembered, for spans whose parent came back through an event's headers. */
const RECENT_SPANS = 10_000;

/**
 * One process hosting several services (`make start`) with one tracer provider per service, each with its own
 * Resource (`service.name`), as OpenTelemetry keys the service on the provider. The kit asks the global provider for
 * its tracer; this one routes each new span to the provider of the service that is making it:
 *
 * 1. a CONSUMER span to its consumer group's service (`orders-projector` -> orders): deliveries of the in-process bus
 *    run in the publisher's call stack;
 * 2. a span with a parent span of this process to the parent's service (client calls, events published by a handler);
 * 3. a span started while a service's request listener runs to that service (its SERVER spans);
 * 4. a span whose parent this process made earlier and sent away — an outbox entry's trace context — to that
 *    parent's service (never a SERVER span: its parent is the caller's);
 * 5. anything else to `fallback` (the process).
 */
export class HostedTracerProvider implements TracerProvider {
  private readonly recent = new Map<string, string>();

  constructor(
    private readonly providers: ReadonlyMap<string, BasicTracerProvider>,
    private readonly fallback: string,
  ) {
    if (!providers.has(fallback)) throw new Error(`HostedTracerProvider: no provider for '${fallback}'`);
  }

  getTracer(name: string, version?: string, options?: TracerOptions): Tracer {
    const tracerOf = (service: string): Tracer =>
      this.providers.get(service)!.getTracer(name, version, options);
    const startSpan = (spanName: string, spanOptions: SpanOptions = {}, ctx = context.active()): Span => {
      const service = this.serviceOf(spanOptions, ctx);
      const span = tracerOf(service).startSpan(spanName, spanOptions, ctx);
      this.remember(span.spanContext().spanId, service);
      return span;
    };
    return {
      startSpan,
      startActiveSpan: <F extends (span: Span) => unknown>(
        spanName: string,
        ...rest: [F] | [SpanOptions, F] | [SpanOptions, Context, F]
      ): ReturnType<F> => {
        const fn = rest[rest.length - 1] as F;
        const spanOptions = rest.length > 1 ? (rest[0] as SpanOptions) : {};
        const parent = rest.length > 2 ? (rest[1] as Context) : context.active();
        const span = startSpan(spanName, spanOptions, parent);
        return context.with(trace.setSpan(parent, span), () => fn(span)) as ReturnType<F>;
      },
    };
  }

  /** The hosted service a span started with these options in this context belongs to. */
  serviceOf(options: SpanOptions, ctx: Context): string {
    if (options.kind === SpanKind.CONSUMER) {
      const group = options.attributes?.['messaging.consumer.group.name'];
      const service = typeof group === 'string' ? this.groupService(group) : undefined;
      if (service) return service;
    }
    const parent = trace.getSpan(ctx);
    const parentContext = parent?.spanContext();
    if (parentContext && !parentContext.isRemote) {
      const name = (parent as { resource?: { attributes: Record<string, unknown> } }).resource?.attributes[
        ATTR_SERVICE_NAME
      ];
      if (typeof name === 'string' && this.providers.has(name)) return name;
    }
    const running = ctx.getValue(SERVICE) ?? context.active().getValue(SERVICE);
    if (typeof running === 'string' && this.providers.has(running)) return running;
    if (parentContext && options.kind !== SpanKind.SERVER) {
      const sender = this.recent.get(parentContext.spanId);
      if (sender) return sender;
    }
    return this.fallback;
  }

  private groupService(group: string): string | undefined {
    if (this.providers.has(group)) return group;
    let best: string | undefined;
    for (const service of this.providers.keys())
      if (group.startsWith(`${service}-`) && service.length > (best?.length ?? 0)) best = service;
    return best;
  }

  private remember(spanId: string, service: string): void {
    this.recent.set(spanId, service);
    if (this.recent.size > RECENT_SPANS) this.recent.delete(this.recent.keys().next().value!);
  }

  async forceFlush(): Promise<void> {
    await Promise.all([...this.providers.values()].map((p) => p.forceFlush()));
  }

  async shutdown(): Promise<void> {
    await Promise.all([...this.providers.values()].map((p) => p.shutdown()));
  }
}
