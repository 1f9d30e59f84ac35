import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { AppError, type RunningServer } from '@meshmart/kit';
import { createHttpClient, type HttpClient } from '@meshmart/kit/http';
import { registerInProcess, sendInProcess } from '../../../../services/kit/src/http/in-process.ts';
import { sampleApp, serveSample, type SampleApp } from '../../../support/sample-app.ts';
import { eventually } from '../../../support/wait.ts';
import { rejectionOf } from '../../../support/rejection.ts';
import { sample } from '../../../support/exposition.ts';

// Services hosted in one process call each other without a socket (services/kit/src/http/in-process.ts): a server
// started with `inProcess` serves this process's clients of its URL directly. These cases hold the in-process path to
// what the same call over a socket gives, and to what a closed connection means to a handler and to shutdown.

describe('kit http: calls in process', () => {
  let kit: SampleApp;
  let servers: RunningServer[] = [];
  let clients: HttpClient[] = [];
  let connections = 0;

  /** The sample service on a socket and, when `inProcess`, serving this process's calls too; connections counted. */
  async function start(inProcess: boolean, graceMs = 5_000) {
    const server = await serveSample(kit, { inProcess, graceMs });
    server.server.on('connection', () => connections++);
    servers.push(server);
    const client = createHttpClient({
      upstream: 'sample',
      baseUrl: server.url,
      retries: 0,
      timeoutMs: 2_000,
    });
    clients.push(client);
    return { server, client };
  }

  beforeEach(() => {
    kit = sampleApp();
    kit.items.set('cafe', { id: 'cafe', name: 'café crème', quantity: 2 });
    connections = 0;
  });
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(servers.map((s) => s.shutdown()));
    servers = [];
    clients = [];
  });

  it('when a client calls a server that serves in process, then it gets what the same call over a socket gets, and no connection is made', async () => {
    const calls = async (client: HttpClient) => {
      const got = await client.get('/v1/items/cafe', { requestId: 'req-1' });
      const put = await client.put(
        '/v1/items/tea',
        { name: 'thé vert', quantity: 3 },
        { idempotencyKey: 'k1', requestId: 'req-2' },
      );
      const listed = await client.get('/v1/items', { query: { q: 'th', limit: 5 }, requestId: 'req-3' });
      const missing = await client.get('/v1/items/nope', { requestId: 'req-4' });
      const invalid = await client.put(
        '/v1/items/bad',
        { name: 'x' },
        { idempotencyKey: 'k2', requestId: 'req-5' },
      );
      return [got, put, listed, missing, invalid].map((r) => ({
        status: r.status,
        body: r.body,
        type: r.headers['content-type'],
        length: r.headers['content-length'],
        requestId: r.headers['x-request-id'],
      }));
    };
    const overSocket = await calls((await start(false)).client);
    expect(connections, 'connections over the socket').to.be.greaterThan(0);
    kit.items.delete('tea');
    connections = 0;
    const inProcess = await calls((await start(true)).client);
    expect(connections, 'connections in process').to.equal(0);
    expect(inProcess).to.deep.equal(overSocket);
    expect(inProcess.map((r) => r.status)).to.deep.equal([200, 200, 200, 404, 400]);
    expect(inProcess[0].requestId).to.equal('req-1');
    expect(inProcess[2].body).to.deep.equal({
      items: [{ id: 'tea', name: 'thé vert', quantity: 3 }],
      limit: 5,
    });
    expect(inProcess[3].type).to.match(/^application\/problem\+json/);
  });

  it('when an answer is written in chunks that split a character, or has no body (HEAD, 204), then the caller gets it as on the wire', async () => {
    const seen: { method?: string; body: string; hosts: string[] }[] = [];
    const listener = (req: IncomingMessage, res: ServerResponse): void => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        seen.push({
          method: req.method,
          body,
          // Every `host` among the raw headers (name, value, name, value …).
          hosts: req.rawHeaders.filter((_, i) => i % 2 === 1 && req.rawHeaders[i - 1] === 'host'),
        });
        if (req.url === '/empty') return void res.writeHead(204).end();
        const euro = Buffer.from('price: 5 €', 'utf8');
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'x-parts': ['a', 'b'] });
        res.write(euro.subarray(0, euro.length - 1));
        res.end(euro.subarray(euro.length - 1));
      });
    };
    const signal = new AbortController().signal;
    const send = (method: string, path: string, body?: string) =>
      sendInProcess(listener, { method, path, headers: {}, body, signal, host: 'x:1' });
    // A signed call names its host itself: it replaces the one the client would send.
    await sendInProcess(listener, {
      method: 'POST',
      path: '/text',
      headers: { host: 'signed.example' },
      body: '',
      signal,
      host: 'x:1',
    });
    expect(seen.shift()?.hosts).to.deep.equal(['signed.example']);
    const chunked = await send('POST', '/text', 'ünïcode');
    expect(chunked).to.deep.include({ statusCode: 200, text: 'price: 5 €' });
    expect(chunked.headers['x-parts']).to.deep.equal(['a', 'b']);
    expect(seen[0]).to.deep.equal({ method: 'POST', body: 'ünïcode', hosts: ['x:1'] });
    expect((await send('HEAD', '/text')).text).to.equal('');
    expect(await send('GET', '/empty')).to.deep.include({ statusCode: 204, text: '' });
  });

  it('when a handler answers in one go, then its response ends as after a flush: finish is emitted, the headers count as sent, and the request is counted by its status, not as a hang-up', async () => {
    const ended: { finished: boolean; headersSent: boolean }[] = [];
    const listener = (req: IncomingMessage, res: ServerResponse): void => {
      res.once('finish', () => ended.push({ finished: res.writableFinished, headersSent: res.headersSent }));
      (kit.app as unknown as (q: IncomingMessage, r: ServerResponse) => void)(req, res);
    };
    const signal = new AbortController().signal;
    const answer = await sendInProcess(listener, {
      method: 'GET',
      path: '/v1/items/cafe',
      headers: {},
      body: undefined,
      signal,
      host: 'x:1',
    });
    expect(answer.statusCode).to.equal(200);
    expect(answer.headers['content-type']).to.equal('application/json; charset=utf-8');
    expect(Number(answer.headers['content-length'])).to.equal(Buffer.byteLength(answer.text));
    await eventually(() => ended.length === 1, "the response's finish");
    expect(ended).to.deep.equal([{ finished: true, headersSent: true }]);
    const count = async (status_class: string) =>
      sample(await kit.metrics.registry.metrics(), 'http_request_duration_seconds_count', {
        route: '/v1/items/:id',
        status_class,
      }) ?? 0;
    await eventually(async () => (await count('2xx')) === 1, 'the request counted once it closed');
    expect(await count('4xx'), 'counted as 499, a client that went away').to.equal(0);
  });

  it('when a JSON body comes in process, then the app takes it parsed without reading the stream, and any other body gets the answers it gets over a socket', async () => {
    const requests: IncomingMessage[] = [];
    const listener = (req: IncomingMessage, res: ServerResponse): void => {
      requests.push(req);
      (kit.app as unknown as (q: IncomingMessage, r: ServerResponse) => void)(req, res);
    };
    const signal = new AbortController().signal;
    const put = (id: string, type: string, body: string) =>
      sendInProcess(listener, {
        method: 'PUT',
        path: `/v1/items/${id}`,
        headers: { 'content-type': type, 'idempotency-key': `k-${id}` },
        body,
        signal,
        host: 'x:1',
      });
    const lamp = await put('lamp', 'application/json', '{"name":"Lampe à huile","quantity":2}');
    expect(lamp.statusCode).to.equal(200);
    expect(JSON.parse(lamp.text)).to.deep.equal({ id: 'lamp', name: 'Lampe à huile', quantity: 2 });
    expect(kit.items.get('lamp')).to.deep.equal({ id: 'lamp', name: 'Lampe à huile', quantity: 2 });
    expect(requests[0].readableEnded, 'the request stream was read').to.equal(false);

    // Bodies the app refuses: answered as over a socket (an array is parsed here too, then fails the schema).
    const answers = [
      await put('a', 'application/json', '{"name": "Lamp", "quantity": '),
      await put('b', 'application/json', '[1,2]'),
      await put('c', 'application/json', '42'),
      await put('d', 'text/plain', 'lamp'),
      await put('e', 'application/json; charset=latin1', '{"name":"Lamp","quantity":1}'),
    ].map((a) => ({ status: a.statusCode, type: (JSON.parse(a.text) as { type: string }).type }));
    expect(answers).to.deep.equal([
      { status: 400, type: '/problems/invalid-json' },
      { status: 400, type: '/problems/validation-failed' },
      { status: 400, type: '/problems/invalid-json' },
      { status: 415, type: '/problems/unsupported-media-type' },
      { status: 415, type: '/problems/unsupported-media-type' },
    ]);
    expect([...kit.items.keys()]).to.deep.equal(['cafe', 'lamp']);
  });

  it('when the attempt times out, then the caller gets 504 upstream-timeout and the handler sees its connection closed, as when a client hangs up', async () => {
    let closedEarly = false;
    const waiting = (_req: IncomingMessage, res: ServerResponse): void => {
      res.once('close', () => (closedEarly = !res.writableEnded));
    };
    const origin = await new Promise<string>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as AddressInfo;
        s.close();
        resolve(`http://127.0.0.1:${port}`);
      });
    });
    const stop = registerInProcess(origin, waiting);
    try {
      const client = createHttpClient({ upstream: 'waiter', baseUrl: origin, retries: 0, timeoutMs: 100 });
      clients.push(client);
      const err = await rejectionOf(client.get('/wait'), AppError);
      expect(err.status).to.equal(504);
      expect(err.code).to.equal('upstream-timeout');
      await eventually(() => closedEarly, 'the handler to see its response closed before it answered');
      expect(() => registerInProcess(origin, waiting), 'a second listener for the same origin').to.throw(
        /already served/,
      );
    } finally {
      stop();
    }
  });

  it('when the server shuts down, then it waits for the in-process call in flight, and later calls go over the network and find it closed', async () => {
    const { server, client } = await start(true);
    const order: string[] = [];
    // The call is in the server's hands as soon as it is made: the client hands it over before its first await.
    const slow = client.get<{ waited: number }>('/v1/slow', { query: { ms: 300 } }).then((r) => {
      order.push('answered');
      return r;
    });
    await server.shutdown('test').then(() => order.push('shut down'));
    expect((await slow).body).to.deep.equal({ waited: 300 });
    expect(order).to.deep.equal(['answered', 'shut down']);
    const err = await rejectionOf(client.get('/v1/items/cafe'), AppError);
    expect(err.status).to.equal(503);
    expect(err.code).to.equal('upstream-unavailable');
    expect(connections, 'no call reached the socket while it was open').to.equal(0);
  });

  it('when a server is closed without a shutdown, then its port is no longer served in process and can be served again', async () => {
    const { server, client } = await start(true);
    expect((await client.get('/v1/items/cafe')).status).to.equal(200);
    await new Promise<void>((resolve) => server.server.close(() => resolve()));
    expect((await rejectionOf(client.get('/v1/items/cafe'), AppError)).code).to.equal('upstream-unavailable');
    const again = registerInProcess(server.url, (_req, res) => res.writeHead(204).end());
    again();
  });

  it('when a listener throws before answering, then the caller gets 503 upstream-unavailable, as for a connection reset', async () => {
    const origin = 'http://127.0.0.1:9';
    const stop = registerInProcess(origin, () => {
      throw new Error('listener broke');
    });
    try {
      const client = createHttpClient({ upstream: 'broken', baseUrl: origin, retries: 0 });
      clients.push(client);
      const err = await rejectionOf(client.get('/x'), AppError);
      expect(err.status).to.equal(503);
      expect(err.message).to.include('listener broke');
    } finally {
      stop();
    }
  });
});
