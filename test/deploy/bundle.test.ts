import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { bundleableServices, bundleServices, outputSize } from '../../scripts/build-images.ts';
import { testenv } from '../support/testenv.ts';
import { until } from '../support/wait.ts';

// The esbuild bundles of scripts/build-images.ts are what the image runs: they must start under plain `node` with no
// node_modules anywhere (the runtime stage has none), reach real Redis and MongoDB, export traces, and stop cleanly
// on SIGTERM as PID 1 running as uid 10001, as in the container.

const root = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURE = 'test/deploy/fixtures/service/main.ts';

interface Running {
  readonly child: ChildProcess;
  readonly port: number;
  readonly logs: () => string;
}

/** Starts `node <file>` in cwd with env, waits for the "listening" log line, returns the port. */
async function start(command: string[], cwd: string, env: Record<string, string>): Promise<Running> {
  const child = spawn(command[0], command.slice(1), {
    cwd,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const started = await until<{ port: number } | { exited: number | null }>(
    () => {
      const m = /"port":(\d+)[^\n]*listening on/.exec(out);
      if (m) return Promise.resolve({ port: Number(m[1]) });
      // An exit ends the wait at once.
      return Promise.resolve(child.exitCode === null ? undefined : { exited: child.exitCode });
    },
    `${command.join(' ')} to log "listening on"`,
    30_000,
  ).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw new Error(`the bundle did not start (${String(err)}):\n${out}`);
  });
  if ('exited' in started) throw new Error(`the bundle exited ${started.exited} before listening:\n${out}`);
  return { child, port: started.port, logs: () => out };
}

async function stop(r: Running): Promise<number | null> {
  if (r.child.exitCode !== null) return r.child.exitCode;
  const exited = once(r.child, 'exit');
  r.child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  return code;
}

describe('deploy: service bundles (scripts/build-images.ts)', function () {
  this.timeout(120000);
  let work: string;
  let app: string;

  before(async function () {
    // Outside the repository, so that no node_modules directory is reachable from the bundles.
    work = mkdtempSync(join(tmpdir(), 'meshmart-bundle-'));
    chmodSync(work, 0o755); // readable by uid 10001, like the image's /app
    const bundles = await bundleServices({
      services: [],
      entries: { fixture: FIXTURE },
      outDir: join(work, 'out'),
    });
    expect(bundles.map((b) => b.name)).to.deep.equal(['fixture']);
    // The runtime stage's layout: /app/dist/<name>.mjs, and dist/services -> . for the local layout's paths.
    app = join(work, 'app');
    cpSync(join(work, 'out'), join(app, 'dist'), { recursive: true });
    symlinkSync('.', join(app, 'dist', 'services'));
  });

  after(function () {
    rmSync(work, { recursive: true, force: true });
  });

  it('when the fixture service is bundled, then no node_modules is reachable from where it runs', function () {
    let dir = app;
    while (dir !== '/') {
      expect(existsSync(join(dir, 'node_modules')), `${dir}/node_modules`).to.equal(false);
      dir = join(dir, '..');
    }
    const files = readdirSync(join(app, 'dist'), { recursive: true }).map(String);
    expect(files).to.include('fixture.mjs');
    expect(files.some((f) => /^chunk-[A-Z0-9]+\.mjs$/.test(f))).to.equal(true);
  });

  it('when tracing is off, then the OpenTelemetry SDK is not among what the bundle loads at start, only in a chunk of its own', function () {
    const dist = join(app, 'dist');
    // The entry and the chunks it imports statically: what `node dist/fixture.mjs` loads before the first await.
    const loaded = new Set<string>();
    const pending = ['fixture.mjs'];
    for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
      if (loaded.has(file)) continue;
      loaded.add(file);
      const source = readFileSync(join(dist, file), 'utf8');
      for (const m of source.matchAll(/(?:^|[;\n}])\s*import\s*(?:[^'"]*?from\s*)?["']\.\/([^"']+)["']/g))
        pending.push(m[1]);
    }
    const atStart = [...loaded].map((f) => readFileSync(join(dist, f), 'utf8')).join('\n');
    expect(atStart, 'NodeSDK in a chunk loaded at start').not.to.include('NodeSDK');
    const onDemand = readdirSync(dist).filter((f) => f.startsWith('tracing-sdk-'));
    expect(onDemand, 'the SDK chunk').to.have.length(1);
    expect(readFileSync(join(dist, onDemand[0]), 'utf8')).to.include('NodeSDK');
  });

  it('when the bundle runs with real Redis and MongoDB, then it is ready and its API answers from both', async function () {
    const r = await start(['node', 'dist/fixture.mjs'], app, {
      REDIS_URL: testenv('REDIS_URL'),
      MONGO_URL: testenv('MONGO_URL'),
      MONGO_DATABASE: `deploy_bundle_${process.pid}`,
      TRACING: 'off',
    });
    try {
      const ready = await fetch(`http://127.0.0.1:${r.port}/healthz/ready`);
      expect(ready.status).to.equal(200);
      const health = (await ready.json()) as { checks: Record<string, { ok: boolean }> };
      expect(health.checks.mongodb?.ok).to.equal(true);
      expect(health.checks.redis?.ok).to.equal(true);
      const products = await fetch(`http://127.0.0.1:${r.port}/api/v1/products`);
      expect(await products.json()).to.deep.equal({ items: ['mesh'], stores: ['mongodb:1', 'redis:PONG'] });
      const metrics = await (await fetch(`http://127.0.0.1:${r.port}/metrics`)).text();
      expect(metrics).to.match(/^http_request_duration_seconds_bucket\{/m);
    } finally {
      expect(await stop(r)).to.equal(0);
    }
  });

  it('when the bundle runs with X-Ray tracing, then the bundled OTLP exporter posts its spans', async function () {
    const posts: { url: string; type: string; bytes: number }[] = [];
    const collector: Server = createServer((req, res) => {
      let bytes = 0;
      req.on('data', (c: Buffer) => (bytes += c.length));
      req.on('end', () => {
        posts.push({ url: req.url ?? '', type: String(req.headers['content-type']), bytes });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    collector.listen(0, '127.0.0.1');
    await once(collector, 'listening');
    const { port } = collector.address() as AddressInfo;
    const r = await start(['node', 'dist/services/fixture.mjs'], app, {
      TRACING: 'xray',
      OTEL_TRACES_SAMPLER_ARG: '1',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:${port}/v1/traces`,
    });
    try {
      const res = await fetch(`http://127.0.0.1:${r.port}/api/v1/products`);
      expect(res.status).to.equal(200);
    } finally {
      expect(await stop(r)).to.equal(0); // shutdown flushes the spans
      collector.close();
    }
    expect(posts.length, r.logs()).to.be.greaterThan(0);
    expect(posts[0].url).to.equal('/v1/traces');
    expect(posts[0].bytes).to.be.greaterThan(0);
  });

  it('when the bundle is PID 1 as uid 10001 and gets SIGTERM, then it drains and exits 0 (no init needed)', async function () {
    // A new PID namespace makes node PID 1, as in the container; a PID 1 only receives the signals it handles.
    expect(process.getuid?.(), 'this test needs root for unshare and setpriv (CI runs as root)').to.equal(0);
    const r = await start(
      [
        'unshare',
        '--pid',
        '--fork',
        'setpriv',
        '--reuid',
        '10001',
        '--regid',
        '10001',
        '--clear-groups',
        'node',
        'dist/fixture.mjs',
      ],
      app,
      { TRACING: 'off' },
    );
    const pids = readFileSync(`/proc/${r.child.pid}/task/${r.child.pid}/children`, 'utf8')
      .trim()
      .split(/\s+/);
    expect(pids).to.have.length(1);
    const node = Number(pids[0]);
    const status = readFileSync(`/proc/${node}/status`, 'utf8');
    expect(/^NSpid:\s+\d+\s+(\d+)$/m.exec(status)?.[1], 'PID inside the namespace').to.equal('1');
    expect(/^Uid:\s+(\d+)/m.exec(status)?.[1]).to.equal('10001');
    const exited = once(r.child, 'exit');
    process.kill(node, 'SIGTERM');
    const [code] = (await exited) as [number | null];
    expect(code).to.equal(0);
    expect(r.logs()).to.match(/"reason":"SIGTERM"/);
    expect(r.logs()).to.match(/"msg":"shut down"/);
  });

  it('when bundling in workspace mode, then npm packages stay imports and only @meshmart/* is inlined', async function () {
    const out = join(work, 'workspace');
    const [bundle] = await bundleServices({
      services: [],
      entries: { fixture: FIXTURE },
      outDir: out,
      mode: 'workspace',
    });
    const all = outputSize(join(work, 'out'));
    const ws = outputSize(out);
    const code = readdirSync(out, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.mjs'))
      .map((f) => readFileSync(join(out, f), 'utf8'))
      .join('\n');
    expect(bundle.name).to.equal('fixture');
    expect(code).to.match(/from\s*"express"/);
    expect(code).to.match(/from\s*"ioredis"/);
    expect(code).not.to.match(/from\s*"@meshmart\//);
    expect(ws.bytes).to.be.lessThan(all.bytes / 10);
  });

  it('when a service is not in the catalogue, then bundling fails naming the catalogue', async function () {
    let error: unknown;
    try {
      await bundleServices({ services: ['nope'], outDir: join(work, 'nope') });
    } catch (err) {
      error = err;
    }
    expect(String(error)).to.match(/'nope' is not in the catalogue/);
  });

  it('when services have a main.ts, then each one bundles and starts from the bundle alone', async function () {
    const names = bundleableServices(root);
    const out = join(work, 'services');
    const bundles = await bundleServices({ outDir: out });
    expect(bundles.map((b) => b.name)).to.deep.equal(names);
    for (const b of bundles) {
      const r = await start(['node', `${b.name}.mjs`], out, { TRACING: 'off' });
      try {
        const live = await fetch(`http://127.0.0.1:${r.port}/healthz/live`);
        expect(live.status, `${b.name}: ${r.logs()}`).to.equal(200);
      } finally {
        expect(await stop(r), b.name).to.equal(0);
      }
    }
  });
});
