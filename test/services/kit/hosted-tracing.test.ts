import { context, propagation, ROOT_CONTEXT, SpanKind, trace, type Context } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { startTracing, type Tracing } from '@meshmart/kit';
import { withHostedService } from '../../../services/kit/src/hosted-tracing.ts';

describe('tracing of hosted services (one process, one service.name per service)', () => {
  let tracing: Tracing | undefined;
  let exporter: InMemorySpanExporter;
  beforeEach(async () => {
    exporter = new InMemorySpanExporter();
    tracing = await startTracing({
      service: 'meshmart',
      services: ['gateway', 'orders', 'audit'],
      mode: 'w3c',
      sampleRatio: 1,
      exporter,
    });
  });
  afterEach(async () => {
    await tracing?.shutdown();
    trace.disable();
    propagation.disable();
    context.disable();
  });

  const tracer = () => trace.getTracer('@meshmart/kit');
  const serviceOf = (span: ReadableSpan): unknown => span.resource.attributes['service.name'];
  const asService = <T>(service: string, fn: () => T): T =>
    context.with(withHostedService(context.active(), service), fn);
  /** The context a service sees after the trace context crossed a socket or an event's headers. */
  const received = (ctx: Context): Context => {
    const carrier: Record<string, string> = {};
    propagation.inject(ctx, carrier);
    return propagation.extract(ROOT_CONTEXT, carrier);
  };

  it('when services are hosted and spans exported, then tracing reports itself as hosted', () => {
    expect(tracing!.hosted).to.equal(true);
  });

  it('when a request crosses from one hosted service to another and on to an event, then each span carries the service that made it', async () => {
    const gatewayServer = asService('gateway', () =>
      tracer().startSpan('POST /api/v1/checkout', { kind: SpanKind.SERVER }, ROOT_CONTEXT),
    );
    const gatewayClient = tracer().startSpan(
      'HTTP POST',
      { kind: SpanKind.CLIENT },
      trace.setSpan(ROOT_CONTEXT, gatewayServer),
    );
    // orders' listener runs with its own service; the parent is the gateway's client span, remote by now.
    const ordersServer = asService('orders', () =>
      tracer().startSpan(
        'POST /orders',
        { kind: SpanKind.SERVER },
        received(trace.setSpan(ROOT_CONTEXT, gatewayClient)),
      ),
    );
    // orders' outbox relay publishes later, in no request: the parent comes back out of the stored headers.
    const published = tracer().startSpan(
      'orders.events publish',
      { kind: SpanKind.PRODUCER },
      received(trace.setSpan(ROOT_CONTEXT, ordersServer)),
    );
    // The in-process bus delivers in the publisher's call stack; the consumer group names the service.
    const consumed = asService('orders', () =>
      tracer().startSpan(
        'orders.events process',
        { kind: SpanKind.CONSUMER, attributes: { 'messaging.consumer.group.name': 'audit' } },
        received(trace.setSpan(ROOT_CONTEXT, published)),
      ),
    );
    const projected = tracer().startSpan(
      'orders.events process',
      { kind: SpanKind.CONSUMER, attributes: { 'messaging.consumer.group.name': 'orders-projector' } },
      received(trace.setSpan(ROOT_CONTEXT, published)),
    );
    const stray = tracer().startSpan('timer', {}, ROOT_CONTEXT);
    for (const s of [gatewayServer, gatewayClient, ordersServer, published, consumed, projected, stray])
      s.end();
    await tracing!.flush();

    const byName = exporter
      .getFinishedSpans()
      .map((s) => `${String(serviceOf(s))} ${SpanKind[s.kind]} ${s.name}`);
    expect(byName).to.deep.equal([
      'gateway SERVER POST /api/v1/checkout',
      'gateway CLIENT HTTP POST',
      'orders SERVER POST /orders',
      'orders PRODUCER orders.events publish',
      'audit CONSUMER orders.events process',
      'orders CONSUMER orders.events process',
      'meshmart INTERNAL timer',
    ]);
    const traces = new Set(
      exporter
        .getFinishedSpans()
        .slice(0, 6)
        .map((s) => s.spanContext().traceId),
    );
    expect(traces.size).to.equal(1);
  });
});
