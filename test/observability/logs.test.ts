import { randomUUID } from 'node:crypto';
import { context, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { createLogger, loggerFor, startTracing, type ContextMode, type Tracing } from '@meshmart/kit';
import { RedisStreamEventBus, type Delivery } from '@meshmart/kit/events';
import { closeRedis, connectRedis } from '@meshmart/kit/redis';
import { LogCapture } from '../support/sample-app.ts';
import { testenv } from '../support/testenv.ts';

// Lines an event consumer logs, on a real Redis Streams bus: which carry the trace ids, in each context mode.
describe("logs: an event consumer's lines join the publisher's trace (real Redis)", function () {
  this.timeout(60_000);
  const prefix = `test:logs:${randomUUID().slice(0, 8)}:`;
  let client: Redis;
  let tracing: Tracing | undefined;
  let bus: RedisStreamEventBus | undefined;

  before(async () => {
    client = await connectRedis(testenv('REDIS_URL'), {
      name: 'observability-logs-test',
      logger: createLogger({ service: 'logs-test', level: 'silent' }),
    });
  });
  afterEach(async () => {
    await bus?.close();
    bus = undefined;
    await tracing?.shutdown();
    tracing = undefined;
    trace.disable();
    propagation.disable();
    context.disable();
  });
  after(async () => {
    if (!client) return;
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(...keys);
    await closeRedis(client);
  });

  /** Publishes one event inside a span; the handler fails once, then logs after an await. */
  async function consumeOnce(mode: ContextMode) {
    const exporter = new InMemorySpanExporter();
    tracing = await startTracing({
      service: 'logs-test',
      mode: 'w3c',
      sampleRatio: 1,
      exporter,
      contextManager: mode,
    });
    const out = new LogCapture();
    const logger = createLogger({ service: 'logs-test', destination: out });
    bus = new RedisStreamEventBus({ client, source: 'logs-test', keyPrefix: prefix, blockMs: 200, logger });
    const topic = `logs-${mode}`;
    let done!: (d: Delivery) => void;
    const handled = new Promise<Delivery>((resolve) => (done = resolve));
    await bus.subscribe({
      topic,
      group: 'g',
      retryDelayMs: 50,
      reclaimIdleMs: 200,
      handler: async (_event, delivery) => {
        await new Promise((r) => setTimeout(r, 5)); // the await the test is about, not a wait for anything
        if (delivery.attempt === 1) throw new Error('first delivery fails');
        logger.info('after an await, through the kit logger');
        loggerFor(logger, delivery.context).info('after an await, through loggerFor');
        done(delivery);
      },
    });
    const span = trace.getTracer('test').startSpan('publisher');
    await bus.publish(topic, {
      type: 't.happened',
      data: {},
      context: trace.setSpan(context.active(), span),
    });
    span.end();
    const delivery = await handled;
    await tracing.flush();
    const consumer = trace.getSpanContext(delivery.context!)!;
    return { out, publisher: span.spanContext(), consumer };
  }

  for (const mode of ['explicit', 'async-local-storage'] as const) {
    it(`when a consumer logs after an await (${mode} context), then loggerFor's line carries the consumer span and the retry line the publisher's trace`, async () => {
      const { out, publisher, consumer } = await consumeOnce(mode);
      expect(consumer.traceId).to.equal(publisher.traceId);
      const line = (msg: string) => out.lines.find((l) => l.msg === msg)!;
      expect(line('event handler failed; will retry')).to.include({ trace_id: publisher.traceId });
      expect(line('after an await, through loggerFor')).to.include({
        trace_id: consumer.traceId,
        span_id: consumer.spanId,
      });
      const plain = line('after an await, through the kit logger');
      // The kit's default passes context explicitly: after an await the active span is gone. With
      // TRACE_CONTEXT=async-local-storage it follows the await.
      if (mode === 'explicit') expect(plain).to.not.have.any.keys('trace_id', 'span_id');
      else expect(plain).to.include({ trace_id: consumer.traceId, span_id: consumer.spanId });
    });
  }
});
