import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import type { ProcessSystem } from '../../scripts/system.ts';
import { assignPort, releasePort, ROOT } from '../../scripts/system.ts';
import { checkoutOnce } from '../observability/traces-system.ts';
import { startRunner, type StartRun } from '../support/start-runner.ts';
import { testenv } from '../support/testenv.ts';
import { until } from '../support/wait.ts';

type Run = StartRun;

function run(args: string[], env: Record<string, string> = {}): Run {
  return startRunner(ROOT, args, env);
}

/** Waits for the banner (or an exit) and reads each service's URL from it. */
async function up(r: Run): Promise<Record<string, string>> {
  let exited = false;
  void r.exit.then(() => (exited = true));
  await until(
    () => Promise.resolve(r.output().includes('Ctrl-C stops everything') || exited ? true : undefined),
    'make start to print that it is up',
    180_000,
    200,
  );
  if (exited) throw new Error(`make start exited:\n${r.output()}`);
  const urls: Record<string, string> = {};
  for (const m of r.output().matchAll(/● (\w+)\s+(http:\/\/127\.0\.0\.1:\d+)/g)) urls[m[1]] = m[2];
  return urls;
}

async function stop(r: Run | undefined): Promise<void> {
  if (!r || r.child.exitCode !== null) return;
  r.child.kill('SIGTERM');
  await r.exit;
}

describe('make start (scripts/start.ts): ports and traces', function () {
  this.timeout(300_000);
  let running: Run | undefined;
  let squatter: Server | undefined;
  const ports: number[] = [];
  afterEach(async () => {
    await stop(running);
    running = undefined;
    squatter?.close();
    squatter = undefined;
    for (const p of ports.splice(0)) releasePort(p);
  });

  it('when started with --base-port, then the gateway listens there and the others on the ports after it, and <NAME>_PORT still moves one', async () => {
    const base = assignPort();
    const catalog = assignPort();
    ports.push(base, catalog);
    running = run(['--base-port', String(base)], { CATALOG_PORT: String(catalog) });
    const urls = await up(running);
    expect(urls.gateway).to.equal(`http://127.0.0.1:${base}`);
    expect(urls.cart).to.equal(`http://127.0.0.1:${base + 2}`);
    expect(urls.audit).to.equal(`http://127.0.0.1:${base + 7}`);
    expect(urls.catalog).to.equal(`http://127.0.0.1:${catalog}`);
    // The cart calls the catalog on the port it was moved to.
    const res = await fetch(`${urls.gateway}/api/v1/products?limit=1`);
    expect(res.status).to.equal(200);
  });

  it('when another program holds the port given to a service in --processes mode, then start exits 1 naming the service, the port and the variable that moves it', async () => {
    const taken = assignPort();
    ports.push(taken);
    squatter = createServer();
    await new Promise<void>((resolve) => squatter!.listen(taken, '127.0.0.1', resolve));
    const prefix = `start-test:${randomBytes(4).toString('hex')}:`;
    // The others after a base port of their own: the catalogue's ports may be in use on a shared machine.
    const base = assignPort();
    ports.push(base);
    running = run(['--processes', '--base-port', String(base)], {
      REDIS_URL: testenv('REDIS_URL'),
      REDIS_KEY_PREFIX: prefix,
      GATEWAY_PORT: String(taken),
    });
    expect(await running.exit, running.output()).to.equal(1);
    expect(running.output()).to.include(
      `gateway cannot listen on 127.0.0.1:${taken}: the port is in use by another program. Stop that program, or move gateway with GATEWAY_PORT=<port>`,
    );
    expect(running.output()).to.include('make start BASE_PORT=<port>');
    const redis = new Redis(testenv('REDIS_URL'));
    try {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
  });

  it('when started with --traces, then a checkout through the gateway is one trace in the test Jaeger with every hop under its own service name', async () => {
    const adminToken = randomBytes(16).toString('hex');
    running = run(['--free-ports', '--traces'], {
      ADMIN_TOKEN: adminToken,
      TRACING: 'w3c',
      JAEGER_QUERY_URL: testenv('JAEGER_QUERY_URL'),
      OTLP_TRACES_URL: testenv('OTLP_TRACES_URL'),
    });
    const urls = await up(running);
    expect(running.output()).to.include(
      `Traces          ${testenv('JAEGER_QUERY_URL')}/search?service=gateway`,
    );
    const system = { urls, url: (s: string) => urls[s], adminToken } as unknown as ProcessSystem;
    const since = Date.now() * 1000;
    const checkout = await checkoutOnce(system);
    expect(checkout.status).to.equal('CONFIRMED');
    const want = [
      'gateway server',
      'gateway client',
      'checkout server',
      'checkout client',
      'inventory server',
      'payments server',
      'orders server',
      'orders consumer',
      'audit consumer',
    ];
    type Trace = {
      spans: { processID: string; tags: { key: string; value: string | number | boolean }[] }[];
      processes: Record<string, { serviceName: string }>;
    };
    const jaeger = async <T>(path: string): Promise<T> =>
      ((await (await fetch(`${testenv('JAEGER_QUERY_URL')}${path}`)).json()) as { data: T }).data;
    const hops = (t: Trace): Set<string> =>
      new Set(
        t.spans.map(
          (s) =>
            `${t.processes[s.processID]?.serviceName} ${String(s.tags.find((x) => x.key === 'span.kind')?.value ?? 'internal')}`,
        ),
      );
    // Spans arrive in batches (every few seconds), the consumers' last.
    const trace = await until(
      async () => {
        const found = await jaeger<{ traceID: string }[]>(
          `/api/traces?service=gateway&operation=${encodeURIComponent('POST /api/v1/checkout')}&start=${since}&limit=5&lookback=1h`,
        );
        if (found.length !== 1) return undefined;
        const [full] = await jaeger<Trace[]>(`/api/traces/${found[0].traceID}`);
        return full && want.every((h) => hops(full).has(h)) ? full : undefined;
      },
      `one checkout trace in Jaeger with ${want.join(', ')}`,
      120_000,
      500,
    );
    const services = new Set(Object.values(trace.processes).map((p) => p.serviceName));
    expect([...services].sort()).to.include.members([
      'audit',
      'checkout',
      'gateway',
      'inventory',
      'orders',
      'payments',
    ]);
    expect([...services], 'spans reported under the process name').to.not.include('meshmart');
  });
});
