// A product read in the running system (`make start`: every service in one process, in memory) straight to catalog,
// against tuned bare Express answering the same body, in alternating rounds of one run. Server CPU per request comes
// from /proc (the system's process holds every service; idle, they cost little).
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { READY_BANNER, ROOT } from '../scripts/system.ts';
import { cpuMsWithChildren } from './support/processes.ts';

const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const TARGET_RATIO = 0.8;

/** `make start` on free ports; its catalog's URL from the banner. */
async function startSystem(): Promise<{ child: ChildProcess; catalog: string }> {
  const { MONGO_URL: _m, REDIS_URL: _r, ...env } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts', '--free-ports'], {
    cwd: ROOT,
    env: { ...env, LOG_LEVEL: 'error', TRACING: 'off' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const catalog = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`make start did not come up:\n${out}`)), 120_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const url = /●\s+catalog\s+(http:\/\/\S+)/.exec(out)?.[1];
      if (out.includes(READY_BANNER) && url) {
        clearTimeout(timer);
        resolve(url);
      }
    });
    child.once('exit', (code) => reject(new Error(`make start exited with ${code}:\n${out}`)));
  });
  return { child, catalog };
}

async function startBare(body: string): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(fileURLToPath(new URL('./servers/bare-product.ts', import.meta.url)), {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, PRODUCT_JSON: body },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`bare-product exited with ${code}`)));
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

interface Round {
  readonly name: 'catalog' | 'bare';
  readonly rps: number;
  readonly cpu_us_per_request: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly errors: number;
}

async function round(
  name: Round['name'],
  url: string,
  pid: number | undefined,
  duration: number,
): Promise<Round> {
  const cpu0 = cpuMsWithChildren(pid);
  const r = await autocannon({ url, connections, duration, pipelining: 1 });
  const cpu = cpuMsWithChildren(pid) - cpu0;
  return {
    name,
    rps: r.requests.average,
    cpu_us_per_request: Math.round(((cpu * 1000) / Math.max(r.requests.total, 1)) * 10) / 10,
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    errors: r.errors + r.non2xx,
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function productRead(): Promise<Record<string, unknown>> {
  const system = await startSystem();
  let bare: { child: ChildProcess; url: string } | undefined;
  try {
    const list = (await (await fetch(`${system.catalog}/products?limit=1`)).json()) as {
      items: { id: string }[];
    };
    const id = list.items[0].id;
    const path = `/products/${encodeURIComponent(id)}`;
    const body = await (await fetch(`${system.catalog}${path}`)).text();
    bare = await startBare(body);
    const bareBody = await (await fetch(`${bare.url}${path}`)).text();
    if (JSON.stringify(JSON.parse(bareBody)) !== JSON.stringify(JSON.parse(body))) {
      throw new Error('product-read: the bare server does not answer the same body');
    }
    const targets = {
      catalog: { url: `${system.catalog}${path}`, pid: system.child.pid },
      bare: { url: `${bare.url}${path}`, pid: bare.child.pid },
    };
    for (const [name, t] of Object.entries(targets)) await round(name as Round['name'], t.url, t.pid, 3);
    const results: Round[] = [];
    for (let i = 0; i < rounds; i++) {
      for (const [name, t] of Object.entries(targets)) {
        results.push(await round(name as Round['name'], t.url, t.pid, seconds));
      }
    }
    const pick = (name: Round['name'], key: 'rps' | 'cpu_us_per_request' | 'p50_ms' | 'p99_ms') =>
      median(results.filter((r) => r.name === name).map((r) => r[key]));
    const ratio = Math.round((pick('catalog', 'rps') / pick('bare', 'rps')) * 1000) / 1000;
    return {
      benchmark: 'product-read',
      route: `GET ${path} (catalog in make start) vs the same body from bare Express`,
      connections,
      seconds,
      rounds,
      catalog: {
        rps: pick('catalog', 'rps'),
        cpu_us_per_request: pick('catalog', 'cpu_us_per_request'),
        p50_ms: pick('catalog', 'p50_ms'),
        p99_ms: pick('catalog', 'p99_ms'),
      },
      bare: {
        rps: pick('bare', 'rps'),
        cpu_us_per_request: pick('bare', 'cpu_us_per_request'),
        p50_ms: pick('bare', 'p50_ms'),
        p99_ms: pick('bare', 'p99_ms'),
      },
      ratio,
      cpu_ratio:
        Math.round((pick('bare', 'cpu_us_per_request') / pick('catalog', 'cpu_us_per_request')) * 1000) /
        1000,
      target_ratio: TARGET_RATIO,
      errors: results.reduce((n, r) => n + r.errors, 0),
      rounds_detail: results,
    };
  } finally {
    bare?.child.kill('SIGTERM');
    system.child.kill('SIGTERM');
    await new Promise((r) => system.child.once('exit', r));
  }
}
