import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import request from 'supertest';
import {
  ApiRouter,
  createLogger,
  createServiceApp,
  Health,
  Metrics,
  startTracing,
  type Tracing,
} from '@meshmart/kit';
import { LogCapture, sampleApp } from '../../support/sample-app.ts';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = `00-${TRACE_ID}-00f067aa0ba902b7`;
const UNSAMPLED = `${PARENT}-00`;
const SAMPLED = `${PARENT}-01`;

describe('tracing', () => {
  let tracing: Tracing | undefined;
  afterEach(async () => {
    await tracing?.shutdown();
    tracing = undefined;
    trace.disable();
    propagation.disable();
    context.disable();
  });

  describe('when every new trace is sampled', () => {
    it('then the kit middleware makes one SERVER span per request, named by route template, and logs carry its ids', async () => {
      const exporter = new InMemorySpanExporter();
      tracing = await startTracing({ service: 'sample', mode: 'w3c', sampleRatio: 1, exporter });
      const { app, logs } = sampleApp();
      await request(app).get('/v1/items/missing').expect(404);
      await tracing.flush();
      const spans = exporter.getFinishedSpans();
      expect(spans).to.have.length(1);
      const span = spans[0];
      expect(span.name).to.equal('GET /v1/items/:id');
      expect(span.attributes['http.response.status_code']).to.equal(404);
      expect(span.attributes['http.route']).to.equal('/v1/items/:id');
      expect(span.resource.attributes['service.name']).to.equal('sample');
      const logged = logs.lines.find((l) => l.msg === 'request failed')!;
      expect(logged.trace_id).to.equal(span.spanContext().traceId);
      expect(logged.span_id).to.equal(span.spanContext().spanId);
    });
  });

  describe('when no new trace is sampled (ratio 0)', () => {
    it('then requests make no spans, but a sampled parent from upstream is followed', async () => {
      const exporter = new InMemorySpanExporter();
      tracing = await startTracing({ service: 'sample', mode: 'w3c', sampleRatio: 0, exporter });
      const { app } = sampleApp();
      await request(app).get('/v1/items').expect(200);
      await request(app).get('/v1/items').set('traceparent', UNSAMPLED).expect(200);
      await request(app).get('/v1/items').set('traceparent', SAMPLED).expect(200);
      await tracing.flush();
      const spans = exporter.getFinishedSpans();
      expect(spans).to.have.length(1);
      expect(spans[0].spanContext().traceId).to.equal(TRACE_ID);
      expect(spans[0].parentSpanContext?.spanId).to.equal('00f067aa0ba902b7');
    });
  });

  describe('when the collector is unreachable', () => {
    it('then requests still succeed and shutdown finishes within the export timeout (fails open)', async () => {
      const dead = createServer();
      await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
      const port = (dead.address() as AddressInfo).port;
      await new Promise<void>((r) => dead.close(() => r()));
      tracing = await startTracing({
        service: 'sample',
        mode: 'w3c',
        sampleRatio: 1,
        endpoint: `http://127.0.0.1:${port}/v1/traces`,
        exportTimeoutMs: 500,
      });
      const { app } = sampleApp();
      for (let i = 0; i < 20; i++) await request(app).get('/v1/items').expect(200);
      const started = Date.now();
      await tracing.shutdown();
      expect(Date.now() - started).to.be.below(5000);
    });
  });

  describe('when a real OTLP/HTTP receiver is configured', () => {
    let receiver: Server;
    const bodies: Buffer[] = [];
    before(async () => {
      receiver = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          if (req.url === '/v1/traces') bodies.push(Buffer.concat(chunks));
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        });
      });
      await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    });
    after(() => new Promise<void>((r) => receiver.close(() => r())));

    it('then spans are exported over HTTP with the service name', async () => {
      const port = (receiver.address() as AddressInfo).port;
      tracing = await startTracing({
        service: 'sample',
        mode: 'w3c',
        sampleRatio: 1,
        endpoint: `http://127.0.0.1:${port}/v1/traces`,
      });
      const { app } = sampleApp();
      await request(app).get('/v1/items').expect(200);
      await tracing.shutdown();
      expect(bodies.length).to.be.greaterThan(0);
      const payload = Buffer.concat(bodies).toString('utf8');
      expect(payload).to.contain('GET /v1/items').and.contain('sample');
    });
  });

  describe('when configured for EKS (xray)', () => {
    it('then trace ids start with the epoch time and the X-Ray header is understood', async () => {
      const exporter = new InMemorySpanExporter();
      tracing = await startTracing({ service: 'sample', mode: 'xray', sampleRatio: 1, exporter });
      const { app } = sampleApp();
      await request(app).get('/v1/items').expect(200);
      await request(app)
        .get('/v1/items')
        .set('x-amzn-trace-id', 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1')
        .expect(200);
      await tracing.flush();
      const [own, fromXray] = exporter.getFinishedSpans();
      const epoch = parseInt(own.spanContext().traceId.slice(0, 8), 16);
      expect(Math.abs(epoch - Date.now() / 1000)).to.be.below(600);
      expect(fromXray.spanContext().traceId).to.equal('5759e988bd862e3fe1be46a994272793');
    });
  });

  describe('when tracing propagates but has no exporter', () => {
    it('then every request still gets a trace id, its own or its caller’s, in the logs', async () => {
      tracing = await startTracing({ service: 'sample', mode: 'w3c', sampleRatio: 1 });
      const { app, logs } = sampleApp();
      await request(app).get('/v1/items/missing-1').expect(404);
      await request(app).get('/v1/items/missing-2').set('traceparent', SAMPLED).expect(404);
      const [own, received] = logs.lines.filter((l) => l.msg === 'request failed');
      expect(own.trace_id)
        .to.match(/^[0-9a-f]{32}$/)
        .and.not.equal('0'.repeat(32));
      expect(received.trace_id).to.equal(TRACE_ID);
    });
  });

  describe('when sampling decides per request', () => {
    it('then about the configured fraction of new traces is recorded, each as one SERVER span', async () => {
      const exporter = new InMemorySpanExporter();
      tracing = await startTracing({ service: 'sample', mode: 'w3c', sampleRatio: 0.25, exporter });
      const { app } = sampleApp();
      for (let i = 0; i < 400; i++) await request(app).get('/v1/items').expect(200);
      await tracing.flush();
      const n = exporter.getFinishedSpans().length;
      // Binomial(400, 0.25): mean 100, sd 8.7; these bounds fail about once in ten million runs.
      expect(n).to.be.within(55, 145);
    });
  });

  describe('when context is implicit (TRACE_CONTEXT=async-local-storage)', () => {
    it('then after an await the active context is still the request span, for code that never got `trace`', async () => {
      const exporter = new InMemorySpanExporter();
      tracing = await startTracing({
        service: 'sample',
        mode: 'w3c',
        sampleRatio: 1,
        exporter,
        contextManager: 'async-local-storage',
      });
      const seen: (string | undefined)[] = [];
      const api = new ApiRouter().route({
        method: 'get',
        path: '/later',
        operationId: 'later',
        summary: 'looks at the active context after an await',
        responses: { 200: { description: 'ok' } },
        handler: async () => {
          await new Promise((r) => setTimeout(r, 5));
          seen.push(trace.getActiveSpan()?.spanContext().traceId);
          return { body: {} };
        },
      });
      const logger = createLogger({ service: 'sample', destination: new LogCapture() });
      const app = createServiceApp({
        service: 'sample',
        logger,
        metrics: new Metrics({ service: 'sample', processMetrics: false }),
        health: new Health(),
        routers: [api],
      });
      await request(app).get('/later').expect(200);
      await tracing.flush();
      expect(seen[0]).to.equal(exporter.getFinishedSpans()[0].spanContext().traceId);
    });
  });

  describe('when tracing is off', () => {
    it('then nothing is registered and shutdown is a no-op', async () => {
      tracing = await startTracing({ service: 'sample', mode: 'off', sampleRatio: 1 });
      expect(tracing.mode).to.equal('off');
      const { app } = sampleApp();
      await request(app).get('/v1/items').expect(200);
      await tracing.shutdown();
    });
  });
});
