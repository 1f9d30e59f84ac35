import { context, propagation, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import {
  ApiRouter,
  createLogger,
  createServiceApp,
  Health,
  Metrics,
  serve,
  startTracing,
  SyncContextManager,
  Type,
  type RunningServer,
  type Tracing,
} from '@meshmart/kit';
import { InMemoryEventBus, type EventEnvelope } from '@meshmart/kit/events';
import { createHttpClient, type HttpClient } from '@meshmart/kit/http';
import { LogCapture } from '../../support/sample-app.ts';
import { eventually } from '../../support/wait.ts';

/**
 * Two real services over HTTP: `front` calls `back` and publishes an event; a consumer handles it. `inProcess`: back
 * serves front's calls without a socket, as services hosted in one process do.
 */
async function twoServices(bus: InMemoryEventBus, inProcess: boolean) {
  const make = (name: string, api: ApiRouter) => {
    const logs = new LogCapture();
    const logger = createLogger({ service: name, destination: logs });
    const health = new Health();
    const app = createServiceApp({
      service: name,
      logger,
      metrics: new Metrics({ service: name, processMetrics: false }),
      health,
      routers: [api],
    });
    return { app, logger, health, logs };
  };
  const back = make(
    'back',
    new ApiRouter().route({
      method: 'get',
      path: '/answer',
      operationId: 'answer',
      summary: 'answers',
      responses: { 200: { description: 'ok' } },
      handler: async ({ log }) => {
        await new Promise((r) => setTimeout(r, 5)); // an await before logging: the log must still carry the trace
        log.info('answering');
        return { body: { answer: 42 } };
      },
    }),
  );
  const backServer = await serve({
    app: back.app,
    port: 0,
    host: '127.0.0.1',
    logger: back.logger,
    health: back.health,
    inProcess,
  });
  const client = createHttpClient({ upstream: 'back', baseUrl: backServer.url });
  const front = make(
    'front',
    new ApiRouter().route({
      method: 'post',
      path: '/ask',
      operationId: 'ask',
      summary: 'asks back, then announces it',
      body: Type.Object({ question: Type.String() }),
      responses: { 200: { description: 'ok' } },
      handler: async ({ trace: ctx, body }) => {
        await new Promise((r) => setTimeout(r, 5)); // after an await, only the explicit context is left
        const res = await client.get<{ answer: number }>('/answer', { context: ctx });
        await bus.publish('answers', {
          type: 'Answered',
          data: { question: body.question, ...res.body },
          context: ctx,
        });
        return { body: res.body };
      },
    }),
  );
  const frontServer = await serve({
    app: front.app,
    port: 0,
    host: '127.0.0.1',
    logger: front.logger,
    health: front.health,
  });
  return { frontServer, backServer, client, backLogs: back.logs };
}

describe('trace propagation', () => {
  let tracing: Tracing | undefined;
  let servers: RunningServer[] = [];
  let client: HttpClient | undefined;
  let bus: InMemoryEventBus | undefined;
  afterEach(async () => {
    await Promise.all(servers.map((s) => s.shutdown()));
    servers = [];
    await client?.close();
    await bus?.close();
    await tracing?.shutdown();
    trace.disable();
    propagation.disable();
    context.disable();
  });

  for (const contextManager of ['async-local-storage', 'explicit'] as const) {
    describe(`when a sampled request crosses two services and the event bus (TRACE_CONTEXT=${contextManager})`, () => {
      for (const inProcess of [false, true])
        it(`then every span — server, client, server, producer, consumer — is in one trace, correctly parented (${inProcess ? 'in-process call' : 'over a socket'})`, async () => {
          const exporter = new InMemorySpanExporter();
          tracing = await startTracing({
            service: 'front',
            mode: 'w3c',
            sampleRatio: 1,
            exporter,
            contextManager,
          });
          bus = new InMemoryEventBus({ source: 'front' });
          const consumed: { envelope: EventEnvelope; traceId: string | undefined }[] = [];
          await bus.subscribe({
            topic: 'answers',
            group: 'audit',
            handler: (envelope, delivery) => {
              consumed.push({ envelope, traceId: trace.getSpanContext(delivery.context!)?.traceId });
            },
          });
          const env = await twoServices(bus, inProcess);
          let backConnections = 0;
          env.backServer.server.on('connection', () => backConnections++);
          servers = [env.frontServer, env.backServer];
          client = env.client;
          const res = await fetch(`${env.frontServer.url}/ask`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ question: 'life' }),
          });
          expect(res.status).to.equal(200);
          expect(backConnections, 'connections to back').to.equal(inProcess ? 0 : 1);
          await eventually(() => consumed.length === 1, 'the consumer of the Answered event');
          // The consumer span ends after the handler returns.
          await eventually(async () => {
            await tracing!.flush();
            return exporter.getFinishedSpans().some((s) => s.name === 'answers process');
          }, 'the consumer span');

          const spans = exporter.getFinishedSpans();
          const byName = (name: string) => spans.find((s) => s.name === name)!;
          const frontServer = byName('POST /ask');
          const clientSpan = byName('HTTP GET');
          const backServer = byName('GET /answer');
          const producer = byName('answers publish');
          const consumer = byName('answers process');
          const traceId = frontServer.spanContext().traceId;
          for (const s of [clientSpan, backServer, producer, consumer])
            expect(s.spanContext().traceId).to.equal(traceId);
          expect(clientSpan.kind).to.equal(SpanKind.CLIENT);
          expect(clientSpan.parentSpanContext?.spanId).to.equal(frontServer.spanContext().spanId);
          expect(backServer.parentSpanContext?.spanId).to.equal(clientSpan.spanContext().spanId);
          expect(producer.parentSpanContext?.spanId).to.equal(frontServer.spanContext().spanId);
          expect(consumer.parentSpanContext?.spanId).to.equal(producer.spanContext().spanId);
          expect(consumed[0].traceId).to.equal(traceId);
          expect(consumed[0].envelope.data).to.deep.equal({ question: 'life', answer: 42 });
          const answering = env.backLogs.lines.find((l) => l.msg === 'answering')!;
          expect(answering.trace_id).to.equal(traceId);
          expect(answering.span_id).to.equal(backServer.spanContext().spanId);
        });
    });
  }

  describe('when requests overlap', () => {
    it('then the synchronous context manager never shows one request the context of another', async () => {
      const manager = new SyncContextManager();
      context.setGlobalContextManager(manager);
      const key = Symbol('request');
      const seen: string[] = [];
      const handle = (id: string) =>
        context.with(ROOT_CONTEXT.setValue(key, id), async () => {
          seen.push(`start ${id}:${String(context.active().getValue(key))}`);
          await new Promise((r) => setTimeout(r, 5));
          // After an await the active context is the root, never the other request's.
          seen.push(`after ${id}:${String(context.active().getValue(key))}`);
        });
      await Promise.all([handle('a'), handle('b')]);
      expect(seen).to.have.members(['start a:a', 'start b:b', 'after a:undefined', 'after b:undefined']);
      expect(() =>
        context.with(ROOT_CONTEXT.setValue(key, 'x'), () => {
          throw new Error('boom');
        }),
      ).to.throw('boom');
      expect(context.active().getValue(key)).to.equal(undefined);
      const bound = context.bind(ROOT_CONTEXT.setValue(key, 'bound'), () => context.active().getValue(key));
      expect(bound()).to.equal('bound');
    });
  });
});
