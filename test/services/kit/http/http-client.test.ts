import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, propagation, SpanKind, trace, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { Registry } from 'prom-client';
import { AppError } from '../../../../services/kit/src/errors.ts';
import { refusedPort } from '../../../support/ports.ts';
import {
  createHttpClient,
  type HttpClient,
  type HttpClientOptions,
  type HttpResponse,
} from '../../../../services/kit/src/http/index.ts';

interface Call {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** Answers the nth call (1-based); leaving `res` alone makes the server hang. */
type Handler = (call: Call, res: ServerResponse, n: number) => void;

interface TestServer {
  readonly url: string;
  readonly calls: Call[];
  /** TCP connections accepted so far. */
  readonly sockets: () => number;
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

function problem(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res
    .writeHead(status, { 'content-type': 'application/problem+json', ...headers })
    .end(JSON.stringify({ type: '/problems/x', title: 'x', status, detail: `status ${status}` }));
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

async function appError(promise: Promise<unknown>): Promise<AppError> {
  const err = await rejection(promise);
  expect(err).to.be.instanceOf(AppError);
  return err as AppError;
}

describe('http client', () => {
  const cleanups: (() => Promise<void>)[] = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function startServer(handler: Handler): Promise<TestServer> {
    const calls: Call[] = [];
    let sockets = 0;
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const call = {
          method: req.method!,
          url: req.url!,
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
        };
        calls.push(call);
        handler(call, res, calls.length);
      });
    });
    server.on('connection', () => sockets++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, calls, sockets: () => sockets };
  }

  function client(options: Partial<HttpClientOptions> & Pick<HttpClientOptions, 'baseUrl'>): HttpClient {
    const c = createHttpClient({ upstream: 'catalog', retryBaseMs: 1, retryCapMs: 5, ...options });
    cleanups.push(() => c.close());
    return c;
  }

  /** Nothing listens there: connections are refused. */
  function closedPort(): string {
    return `http://127.0.0.1:${refusedPort().port}`;
  }

  describe('when calls succeed', () => {
    it('then sequential calls, each in its own event-loop turn like separate requests, share one socket', async () => {
      const server = await startServer((_call, res, n) => json(res, 200, { n }));
      const http = client({ baseUrl: server.url });
      for (let i = 1; i <= 20; i++) {
        expect((await http.get('/items')).body).to.deep.equal({ n: i });
        await new Promise(setImmediate);
      }
      expect(server.sockets()).to.equal(1);
    });

    it('then back-to-back calls reuse warm sockets, one when the pool holds one connection', async () => {
      const server = await startServer((_call, res) => json(res, 200, {}));
      // undici waits one loop turn before reusing a socket, so back-to-back calls alternate between two.
      const pooled = client({ baseUrl: server.url });
      for (let i = 0; i < 20; i++) await pooled.get('/items');
      expect(server.sockets()).to.be.within(1, 2);
      const before = server.sockets();
      const single = client({ baseUrl: server.url, connections: 1 });
      for (let i = 0; i < 20; i++) await single.get('/items');
      expect(server.sockets() - before).to.equal(1);
    });

    it('then path prefix, query, JSON body and forwarded headers reach the upstream and JSON comes back parsed', async () => {
      const server = await startServer((call, res) =>
        json(res, 201, { echoed: JSON.parse(call.body) as unknown }),
      );
      const http = client({ baseUrl: `${server.url}/api/` });
      const res: HttpResponse<{ echoed: unknown }> = await http.post(
        '/orders',
        { sku: 'A-1', quantity: 2 },
        {
          query: { tag: ['x', 'y'], limit: 5, skip: undefined },
          requestId: 'req-42',
          headers: { 'X-Tenant': 't1' },
        },
      );
      expect(res.status).to.equal(201);
      expect(res.headers['content-type']).to.equal('application/json');
      expect(res.body).to.deep.equal({ echoed: { sku: 'A-1', quantity: 2 } });
      const [call] = server.calls;
      expect(call.method).to.equal('POST');
      expect(call.url).to.equal('/api/orders?tag=x&tag=y&limit=5');
      expect(call.headers).to.include({
        'content-type': 'application/json',
        'x-request-id': 'req-42',
        'x-tenant': 't1',
      });
      expect(call.headers).to.not.have.property('idempotency-key');
    });

    it('then a non-JSON body comes back as text and an empty one as undefined', async () => {
      const server = await startServer((call, res) =>
        call.method === 'DELETE'
          ? res.writeHead(204).end()
          : res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'),
      );
      const http = client({ baseUrl: server.url });
      expect((await http.get('/health')).body).to.equal('ok');
      const deleted = await http.delete('/items/1');
      expect(deleted.status).to.equal(204);
      expect(deleted.body).to.equal(undefined);
    });
  });

  describe('when the upstream is slow', () => {
    it('then the call fails with 504 upstream-timeout at about the deadline', async () => {
      const server = await startServer(() => undefined);
      const http = client({ baseUrl: server.url, timeoutMs: 150 });
      const started = performance.now();
      const err = await appError(http.get('/slow'));
      const elapsed = performance.now() - started;
      expect(err.status).to.equal(504);
      expect(err.code).to.equal('upstream-timeout');
      expect(err.extensions).to.deep.equal({ upstream: 'catalog' });
      // From the 150 ms deadline up, with room for a loaded machine (the upstream itself never answers).
      expect(elapsed).to.be.within(140, 3_000);
      expect(server.calls, 'the attempt used the whole budget, so no retry').to.have.length(1);
    });

    it('then a per-attempt timeout below the deadline leaves room for a retry that succeeds', async () => {
      const server = await startServer((_call, res, n) =>
        n === 1 ? undefined : json(res, 200, { ok: true }),
      );
      const http = client({ baseUrl: server.url, timeoutMs: 2_000, attemptTimeoutMs: 100 });
      const res = await http.get('/flaky');
      expect(res.body).to.deep.equal({ ok: true });
      expect(server.calls).to.have.length(2);
    });

    it('then a call that extends its deadline (a server asked to wait) may wait that long in one attempt', async () => {
      const server = await startServer((_call, res) => {
        setTimeout(() => json(res, 200, { waited: true }), 300);
      });
      const http = client({ baseUrl: server.url, timeoutMs: 100, breaker: { failureThreshold: 1 } });
      const res = await http.get('/orders/1', { timeoutMs: 5_000 });
      expect(res.body).to.deep.equal({ waited: true });
      expect(server.calls, 'one attempt, not a timeout and a retry').to.have.length(1);
      expect(http.breaker.state).to.equal('closed');
    });

    it('then retries stop when the next backoff would pass the deadline', async () => {
      const server = await startServer((_call, res) => problem(res, 503));
      const http = client({
        baseUrl: server.url,
        timeoutMs: 250,
        retries: 100,
        retryBaseMs: 100,
        retryCapMs: 100,
        random: () => 0.99,
      });
      const started = performance.now();
      const err = await appError(http.get('/down'));
      // About the 250 ms deadline, far below 100 retries' worth of backoff, with room for a loaded machine.
      expect(performance.now() - started).to.be.below(3_000);
      expect(err.code).to.equal('upstream-error');
      expect(server.calls.length).to.be.within(2, 3);
    });

    it('then a caller abort rejects with its reason and is not held against the upstream', async () => {
      const server = await startServer(() => undefined);
      const http = client({ baseUrl: server.url, breaker: { failureThreshold: 1 } });
      const controller = new AbortController();
      const reason = new Error('client went away');
      setTimeout(() => controller.abort(reason), 20);
      expect(await rejection(http.get('/slow', { signal: controller.signal }))).to.equal(reason);
      expect(http.breaker.state).to.equal('closed');
    });
  });

  describe('when the upstream answers with an error', () => {
    it('then a GET is retried on 503 until it succeeds', async () => {
      const server = await startServer((_call, res, n) =>
        n < 3 ? problem(res, 503) : json(res, 200, { ok: true }),
      );
      const http = client({ baseUrl: server.url });
      const res = await http.get('/items');
      expect(res.status).to.equal(200);
      expect(server.calls).to.have.length(3);
    });

    it('then a PUT is retried on 502 as it is idempotent', async () => {
      const server = await startServer((_call, res, n) => (n === 1 ? problem(res, 502) : json(res, 200, {})));
      const http = client({ baseUrl: server.url });
      expect((await http.put('/items/1', { name: 'x' })).status).to.equal(200);
      expect(server.calls.map((c) => c.body)).to.deep.equal(['{"name":"x"}', '{"name":"x"}']);
    });

    it('then a POST without an idempotency key is not retried and fails with 502 upstream-error', async () => {
      const server = await startServer((_call, res) => problem(res, 503));
      const http = client({ baseUrl: server.url });
      const err = await appError(http.post('/orders', { sku: 'A-1' }));
      expect(err.status).to.equal(502);
      expect(err.code).to.equal('upstream-error');
      expect(err.extensions).to.deep.equal({ upstream: 'catalog', upstreamStatus: 503 });
      expect((err.cause as HttpResponse).body).to.include({ status: 503 });
      expect(server.calls).to.have.length(1);
    });

    it('then a POST with an Idempotency-Key is retried and sends the key every time', async () => {
      const server = await startServer((_call, res, n) =>
        n < 3 ? problem(res, 503) : json(res, 201, { id: 7 }),
      );
      const http = client({ baseUrl: server.url });
      const res = await http.post('/orders', { sku: 'A-1' }, { idempotencyKey: 'key-1' });
      expect(res.status).to.equal(201);
      expect(server.calls.map((c) => c.headers['idempotency-key'])).to.deep.equal([
        'key-1',
        'key-1',
        'key-1',
      ]);
    });

    it('then a 400 problem is returned to the caller untouched and not retried', async () => {
      const server = await startServer((_call, res) => problem(res, 400));
      const http = client({ baseUrl: server.url });
      const res = await http.get('/items?bad');
      expect(res.status).to.equal(400);
      expect(res.headers['content-type']).to.equal('application/problem+json');
      expect(res.body).to.deep.include({ type: '/problems/x', status: 400 });
      expect(server.calls).to.have.length(1);
    });

    it('then a 429 whose Retry-After fits the deadline is retried', async () => {
      const server = await startServer((_call, res, n) =>
        n === 1 ? problem(res, 429, { 'retry-after': '0' }) : json(res, 200, {}),
      );
      const http = client({ baseUrl: server.url });
      expect((await http.get('/items')).status).to.equal(200);
      expect(server.calls).to.have.length(2);
    });

    it('then a 429 whose Retry-After passes the deadline is returned at once', async () => {
      const server = await startServer((_call, res) => problem(res, 429, { 'retry-after': '60' }));
      const http = client({ baseUrl: server.url });
      const res = await http.get('/items');
      expect(res.status).to.equal(429);
      expect(server.calls).to.have.length(1);
    });

    it('then a 5xx that persists through every retry fails with 502 upstream-error', async () => {
      const server = await startServer((_call, res) => problem(res, 500));
      const http = client({ baseUrl: server.url, retries: 2 });
      const err = await appError(http.get('/items'));
      expect(err.status).to.equal(502);
      expect(err.extensions).to.deep.equal({ upstream: 'catalog', upstreamStatus: 500 });
      expect(server.calls, '500 is not a retryable status').to.have.length(1);
    });
  });

  describe('when the upstream is unreachable', () => {
    it('then the call fails with 503 upstream-unavailable naming the upstream', async () => {
      const http = client({ baseUrl: closedPort(), upstream: 'cart' });
      const err = await appError(http.get('/cart'));
      expect(err.status).to.equal(503);
      expect(err.code).to.equal('upstream-unavailable');
      expect(err.extensions).to.deep.equal({ upstream: 'cart' });
      expect(err.message).to.match(/^cart is unreachable: .*ECONNREFUSED/);
    });
  });

  describe('when the upstream keeps failing', () => {
    it('then the breaker opens and later calls fail fast without reaching the server', async () => {
      const server = await startServer((_call, res) => problem(res, 500));
      const http = client({
        baseUrl: server.url,
        retries: 0,
        breaker: { failureThreshold: 3, openMs: 60_000 },
      });
      for (let i = 0; i < 3; i++)
        expect((await appError(http.get('/items'))).code).to.equal('upstream-error');
      const err = await appError(http.get('/items'));
      expect(err.status).to.equal(503);
      expect(err.code).to.equal('circuit-open');
      expect(err.extensions).to.deep.equal({ upstream: 'catalog' });
      expect(err.headers).to.deep.equal({ 'retry-after': '60' });
      expect(server.calls).to.have.length(3);
    });

    it('then after openMs a half-open probe that succeeds closes the circuit again', async () => {
      let healthy = false;
      const clock = { t: 0 };
      const server = await startServer((_call, res) => (healthy ? json(res, 200, {}) : problem(res, 503)));
      const http = client({
        baseUrl: server.url,
        retries: 0,
        breaker: { failureThreshold: 2, openMs: 1_000, now: () => clock.t },
      });
      for (let i = 0; i < 2; i++) await appError(http.get('/items'));
      expect((await appError(http.get('/items'))).code).to.equal('circuit-open');
      expect(server.calls).to.have.length(2);
      clock.t += 1_000;
      healthy = true;
      expect(http.breaker.state).to.equal('half-open');
      expect((await http.get('/items')).status).to.equal(200);
      expect(http.breaker.state).to.equal('closed');
      expect(server.calls).to.have.length(3);
    });
  });

  describe('when tracing is active', () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

    before(() => {
      expect(
        context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()),
        'free global',
      ).to.equal(true);
      expect(trace.setGlobalTracerProvider(provider), 'free global').to.equal(true);
      expect(propagation.setGlobalPropagator(new W3CTraceContextPropagator()), 'free global').to.equal(true);
    });

    after(async () => {
      trace.disable();
      propagation.disable();
      context.disable();
      await provider.shutdown();
    });

    afterEach(() => exporter.reset());

    it('then a sampled parent gets a CLIENT span whose context travels in traceparent', async () => {
      const server = await startServer((_call, res) => json(res, 200, {}));
      const http = client({ baseUrl: `${server.url}/api` });
      const parent = await trace.getTracer('test').startActiveSpan('parent', async (span) => {
        await http.get('/items', { query: { q: 'x' } });
        span.end();
        return span.spanContext();
      });
      const clientSpan = exporter.getFinishedSpans().find((s) => s.name === 'HTTP GET')!;
      expect(clientSpan.kind).to.equal(SpanKind.CLIENT);
      expect(clientSpan.parentSpanContext?.spanId).to.equal(parent.spanId);
      expect(clientSpan.attributes).to.deep.include({
        'http.request.method': 'GET',
        'server.address': '127.0.0.1',
        'url.path': '/api/items',
        'http.response.status_code': 200,
      });
      const { traceId, spanId } = clientSpan.spanContext();
      expect(traceId).to.equal(parent.traceId);
      expect(server.calls[0].headers.traceparent).to.equal(`00-${traceId}-${spanId}-01`);
    });

    it('then an unsampled parent is propagated as is and no span is made', async () => {
      const server = await startServer((_call, res) => json(res, 200, {}));
      const http = client({ baseUrl: server.url });
      const unsampled = trace.wrapSpanContext({
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: 'b7ad6b7169203331',
        traceFlags: TraceFlags.NONE,
      });
      await context.with(trace.setSpan(context.active(), unsampled), () => http.get('/items'));
      expect(exporter.getFinishedSpans()).to.have.length(0);
      expect(server.calls[0].headers.traceparent).to.equal(
        '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00',
      );
    });
  });

  describe('when a registry is given', () => {
    it('then clients sharing it record their metrics labelled by upstream', async () => {
      const registry = new Registry();
      const server = await startServer((call, res, n) =>
        call.url === '/flaky' && n === 1 ? problem(res, 503) : json(res, 200, {}),
      );
      const catalog = client({ baseUrl: server.url, registry });
      const cart = client({ baseUrl: closedPort(), upstream: 'cart', registry, retries: 0 });
      await catalog.get('/flaky');
      await appError(cart.get('/cart'));
      const text = await registry.metrics();
      expect(text).to.include(
        'http_client_request_duration_seconds_count{upstream="catalog",method="GET",status_class="5xx"} 1',
      );
      expect(text).to.include(
        'http_client_request_duration_seconds_count{upstream="catalog",method="GET",status_class="2xx"} 1',
      );
      expect(text).to.include(
        'http_client_request_duration_seconds_count{upstream="cart",method="GET",status_class="error"} 1',
      );
      expect(text).to.include('http_client_retries_total{upstream="catalog"} 1');
      expect(text).to.include('http_client_failures_total{upstream="catalog",reason="server_error"} 1');
      expect(text).to.include('http_client_failures_total{upstream="cart",reason="connection"} 1');
      expect(text).to.include('http_client_circuit_state{upstream="catalog"} 0');
      expect(text).to.include('http_client_circuit_state{upstream="cart"} 0');
    });

    it('then the circuit state gauge follows the breaker', async () => {
      const registry = new Registry();
      const http = client({
        baseUrl: closedPort(),
        registry,
        retries: 0,
        breaker: { failureThreshold: 1 },
      });
      await appError(http.get('/items'));
      await appError(http.get('/items'));
      const text = await registry.metrics();
      expect(text).to.include('http_client_circuit_state{upstream="catalog"} 2');
      expect(text).to.include('http_client_failures_total{upstream="catalog",reason="circuit_open"} 1');
    });
  });

  describe('when the client is misused', () => {
    it('then a bad base URL or a closed client is reported clearly', async () => {
      expect(() => createHttpClient({ upstream: 'x', baseUrl: 'ftp://host' })).to.throw(
        /'x': baseUrl must be http/,
      );
      const http = createHttpClient({ upstream: 'x', baseUrl: 'http://127.0.0.1:1' });
      await http.close();
      expect(((await rejection(http.get('/'))) as Error).message).to.equal("http client 'x' is closed");
    });
  });
});
