import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest, Agent } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { RunningServer } from '@meshmart/kit';
import { sampleApp, serveSample } from '../../support/sample-app.ts';
import { eventually, until } from '../../support/wait.ts';

interface Answer {
  status: number;
  body: string;
  connection: string | undefined;
}

function get(url: string, agent?: Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('graceful shutdown', () => {
  let running: RunningServer | undefined;
  afterEach(async () => {
    await running?.shutdown('test cleanup');
  });

  describe('when shutdown starts while requests are in flight on keep-alive connections', () => {
    it('then every in-flight request completes, readiness turns false, and closers run after the drain', async () => {
      const kit = sampleApp();
      const events: string[] = [];
      running = await serveSample(kit, {
        graceMs: 10_000,
        // The readiness probe below must reach the listener within this delay, before it stops accepting.
        delayMs: 500,
        closers: [
          {
            name: 'bus',
            close: () => {
              events.push(`bus closed with ${kit.metrics.inFlight} in flight`);
              return Promise.resolve();
            },
          },
          { name: 'db', close: () => Promise.resolve(void events.push('db closed')) },
        ],
      });
      const agent = new Agent({ keepAlive: true, maxSockets: 20 });
      // Long enough to still be in flight when the drain starts, however slowly the 20 arrive.
      const inFlight = Array.from({ length: 20 }, () =>
        get(`${running!.url}/v1/slow?ms=3000`, agent).then((a) => {
          events.push('answered');
          return a;
        }),
      );
      await eventually(() => kit.metrics.inFlight === 20, 'all 20 requests in flight');
      const done = running.shutdown('SIGTERM');
      // During the delay the listener still accepts, but readiness already says no.
      const ready = await get(`${running.url}/healthz/ready`);
      expect(ready.status).to.equal(503);
      expect(JSON.parse(ready.body).status).to.equal('shutting-down');

      const answers = await Promise.all(inFlight);
      await done;
      expect(answers.map((a) => a.status)).to.deep.equal(Array(20).fill(200));
      expect(answers.every((a) => a.connection === 'close')).to.equal(true);
      expect(events.filter((e) => e !== 'answered')).to.deep.equal([
        'bus closed with 0 in flight',
        'db closed',
      ]);
      expect(events.filter((e) => e === 'answered')).to.have.length(20);
      agent.destroy();

      const after = await get(`${running.url}/healthz/live`).then(
        () => 'answered',
        (err: NodeJS.ErrnoException) => err.code,
      );
      expect(after).to.equal('ECONNREFUSED');
    });
  });

  describe('when a request outlives the grace period', () => {
    it('then its connection is closed at the deadline and shutdown still finishes', async () => {
      const kit = sampleApp();
      running = await serveSample(kit, {
        graceMs: 300,
      });
      const slow = get(`${running.url}/v1/slow?ms=5000`).then(
        (a) => a.status,
        (err: NodeJS.ErrnoException) => err.code,
      );
      await eventually(() => kit.metrics.inFlight === 1, 'the slow request in flight');
      const started = Date.now();
      await running.shutdown('SIGTERM');
      // About the 300 ms grace period; far below the 5 s the request would take, with room for a loaded machine.
      expect(Date.now() - started).to.be.below(3000);
      expect(await slow).to.equal('ECONNRESET');
      expect(
        kit.logs.lines.some((l) => l.msg === 'grace period over; closing remaining connections'),
      ).to.equal(true);
    });
  });

  describe('when shutdown is requested twice', () => {
    it('then both callers get the same shutdown', async () => {
      const kit = sampleApp();
      running = await serveSample(kit);
      const a = running.shutdown('one');
      const b = running.shutdown('two');
      expect(a).to.equal(b);
      await a;
    });
  });
});

/** A raw client: what it received and when the server closed the connection. */
function rawClient(url: string): Promise<{
  socket: Socket;
  received: () => string;
  closed: Promise<number>;
}> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    let text = '';
    const opened = performance.now();
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (text += c));
    socket.on('error', () => undefined);
    const closed = new Promise<number>((done) =>
      socket.once('close', () => done(performance.now() - opened)),
    );
    socket.once('connect', () => resolve({ socket, received: () => text, closed }));
    socket.once('error', reject);
  });
}

describe('server timeouts and declared body sizes (real sockets)', () => {
  let running: RunningServer | undefined;
  afterEach(async () => {
    await running?.shutdown('test cleanup');
    running = undefined;
  });

  it('when a client declares a body over the limit and sends 14 bytes, then it gets 413 problem+json at once and the connection is closed', async () => {
    const kit = sampleApp({ bodyLimitBytes: 1024 });
    running = await serveSample(kit);
    for (const path of ['/v1/items/a-1', '/v1/items', '/nowhere']) {
      const client = await rawClient(running.url);
      client.socket.write(
        `PUT ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nIdempotency-Key: k\r\n` +
          'Content-Length: 99999999\r\n\r\n{"name":"x",  ',
      );
      const took = await client.closed;
      expect(client.received(), path).to.match(/^HTTP\/1\.1 413 /);
      expect(client.received(), path).to.match(/content-type: application\/problem\+json/i);
      expect(client.received(), path).to.match(/connection: close/i);
      expect(client.received(), path).to.contain('/problems/body-too-large');
      // At once: far below any timeout (Node's default held such a connection 330 s).
      expect(took, path).to.be.below(2000);
    }
    expect(kit.items.size).to.equal(0);
  });

  it('when a client sends its headers too slowly, then the connection is closed after the headers timeout', async () => {
    const kit = sampleApp();
    running = await serveSample(kit, { headersTimeoutMs: 300, requestTimeoutMs: 5000 });
    const client = await rawClient(running.url);
    client.socket.write('GET /v1/items HTTP/1.1\r\nHost: x\r\n');
    const took = await client.closed;
    expect(took).to.be.within(250, 3000);
    expect(client.received()).to.match(/^(HTTP\/1\.1 408 |$)/);
  });

  it('when a client sends its body too slowly, then the request is ended after the request timeout', async () => {
    const kit = sampleApp();
    running = await serveSample(kit, { headersTimeoutMs: 300, requestTimeoutMs: 800 });
    const client = await rawClient(running.url);
    client.socket.write(
      'PUT /v1/items/a-1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nIdempotency-Key: k\r\n' +
        'Content-Length: 40\r\n\r\n{',
    );
    // A byte every 100 ms keeps the socket busy, so only the whole-request deadline can end it.
    const drip = setInterval(() => client.socket.write(' '), 100);
    try {
      const took = await client.closed;
      expect(took).to.be.within(700, 4000);
    } finally {
      clearInterval(drip);
    }
    expect(kit.items.size).to.equal(0);
  });

  it('when a request stalls with nothing sent either way, then the connection is closed after the idle timeout', async () => {
    const kit = sampleApp();
    running = await serveSample(kit, {
      headersTimeoutMs: 5000,
      requestTimeoutMs: 10_000,
      idleTimeoutMs: 400,
    });
    const client = await rawClient(running.url);
    client.socket.write(
      'PUT /v1/items/a-1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nIdempotency-Key: k\r\n' +
        'Content-Length: 40\r\n\r\n{',
    );
    expect(await client.closed).to.be.within(300, 4000);
  });

  it('when a keep-alive connection idles longer than the headers timeout, then its next request is still answered', async () => {
    const kit = sampleApp();
    running = await serveSample(kit, { headersTimeoutMs: 200, requestTimeoutMs: 1000 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await get(`${running.url}/v1/items`, agent)).status).to.equal(200);
      // Idle on purpose: the check is that an idle keep-alive socket outlives the headers timeout.
      await new Promise((r) => setTimeout(r, 1500));
      const again = await get(`${running.url}/v1/items`, agent);
      expect(again.status).to.equal(200);
    } finally {
      agent.destroy();
    }
  });
});

describe('a service process (runService)', () => {
  const main = fileURLToPath(new URL('../../support/sample-main.ts', import.meta.url));
  const children: ChildProcess[] = [];
  after(() => children.forEach((c) => c.kill('SIGKILL')));

  function start(env: Record<string, string>): {
    child: ChildProcess;
    lines: Record<string, unknown>[];
    stderr: () => string;
  } {
    const child = spawn(process.execPath, ['--import', 'tsx', main], {
      env: { ...process.env, HOST: '127.0.0.1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const lines: Record<string, unknown>[] = [];
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>);
        buffered = buffered.slice(nl + 1);
      }
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    return { child, lines, stderr: () => err };
  }

  describe('when it gets SIGTERM with requests in flight', () => {
    it('then no request fails, adapters close, logs are flushed and it exits 0', async function () {
      // Starting a TypeScript process takes a while on a loaded machine.
      this.timeout(60_000);
      const { child, lines, stderr } = start({ PORT: '0', TRACING: 'off', SHUTDOWN_DELAY_MS: '100' });
      // An exit ends the wait at once.
      const listening = await until(
        () =>
          Promise.resolve(
            lines.find((l) => typeof l.msg === 'string' && l.msg.includes('listening on')) ??
              (child.exitCode === null ? undefined : { exited: child.exitCode }),
          ),
        'the sample service to log "listening on"',
        40_000,
      );
      expect(listening.exited, stderr()).to.equal(undefined);
      const port = listening.port as number;
      const agent = new Agent({ keepAlive: true });
      // Long enough to still be in flight at SIGTERM, however slowly the 10 arrive.
      const inFlight = Array.from({ length: 10 }, () =>
        get(`http://127.0.0.1:${port}/v1/slow?ms=3000`, agent),
      );
      await eventually(async () => {
        const metrics = await get(`http://127.0.0.1:${port}/metrics`);
        return /^http_requests_in_flight(?:\{[^}]*\})? 10$/m.test(metrics.body);
      }, 'the 10 requests in flight in the service');
      child.kill('SIGTERM');
      const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const answers = await Promise.all(inFlight);
      expect(answers.map((a) => a.status)).to.deep.equal(Array(10).fill(200));
      expect(await exit).to.equal(0);
      agent.destroy();
      const msgs = lines.map((l) => l.msg);
      expect(msgs).to.include.members(['shutting down', 'store closed', 'shut down']);
      expect(msgs.indexOf('store closed')).to.be.greaterThan(msgs.indexOf('shutting down'));
    });
  });

  describe('when it is given METRICS_PORT', () => {
    it('then /metrics is served on that port only and the service port answers it 404', async function () {
      this.timeout(60_000);
      const { child, lines, stderr } = start({ PORT: '0', METRICS_PORT: '0', TRACING: 'off' });
      const listening = await until(
        () =>
          Promise.resolve(
            lines.find((l) => typeof l.msg === 'string' && l.msg.includes('listening on')) ??
              (child.exitCode === null ? undefined : { exited: child.exitCode }),
          ),
        'the sample service to log "listening on"',
        40_000,
      );
      expect(listening.exited, stderr()).to.equal(undefined);
      const metricsUrl = listening.metrics_url as string;
      expect(metricsUrl).to.match(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      expect(metricsUrl).to.not.contain(`:${String(listening.port)}/`);
      const scraped = await get(metricsUrl);
      expect(scraped.status).to.equal(200);
      expect(scraped.body).to.contain('http_request_duration_seconds');
      expect((await get(`http://127.0.0.1:${String(listening.port)}/metrics`)).status).to.equal(404);
      expect((await get(`http://127.0.0.1:${String(listening.port)}/healthz/live`)).status).to.equal(200);
      child.kill('SIGTERM');
      expect(await new Promise((resolve) => child.once('exit', resolve))).to.equal(0);
    });
  });

  describe('when its configuration is invalid', () => {
    it('then it exits 78 listing every problem before doing anything else', async function () {
      this.timeout(60_000);
      const { child, stderr, lines } = start({ PORT: 'http', LOG_LEVEL: 'loud', SAMPLE_WORKERS: '0' });
      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
      expect(code).to.equal(78);
      const report = JSON.parse(stderr().trim()) as { problems: string[] };
      expect(report.problems).to.have.length(3);
      expect(report.problems.join(' '))
        .to.contain('PORT')
        .and.contain('LOG_LEVEL')
        .and.contain('SAMPLE_WORKERS');
      expect(lines).to.have.length(0);
    });
  });
  describe('when its port is taken', () => {
    it('then it exits 78 with one line naming the service, the port and how to move it', async () => {
      const taken = createNetServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      const port = (taken.address() as AddressInfo).port;
      try {
        const { child, stderr, lines } = start({ PORT: String(port), TRACING: 'off' });
        const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
        expect(code).to.equal(78);
        const report = JSON.parse(stderr().trim()) as { code: string; msg: string };
        expect(report.code).to.equal('EADDRINUSE');
        expect(report.msg).to.equal(
          `sample cannot listen on 127.0.0.1:${port}: the port is in use by another program. ` +
            'Stop that program, or move sample with PORT=<port> (0 picks a free one).',
        );
        expect(lines).to.have.length(0);
      } finally {
        taken.close();
      }
    });
  });
});
