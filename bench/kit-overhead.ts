// Bare Express versus Express with the full kit, same route, same machine, same run, alternating rounds.
import { fork, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

export interface RunResult {
  readonly name: string;
  readonly rps: number;
  /** Server CPU time (user + system) per request, in microseconds. */
  readonly cpuUsPerRequest: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
}

const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const PATH = '/v1/items/lamp-1';

function start(script: string, env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(fileURLToPath(new URL(script, import.meta.url)), {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve({ child, port: m.port }));
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

function cpuOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once('message', (m: { cpu: NodeJS.CpuUsage }) => resolve(m.cpu.user + m.cpu.system));
    child.send('cpu');
  });
}

async function load(
  name: string,
  server: { child: ChildProcess; port: number },
  duration: number,
): Promise<RunResult> {
  const before = await cpuOf(server.child);
  const r = await autocannon({
    url: `http://127.0.0.1:${server.port}${PATH}`,
    connections,
    duration,
    pipelining: 1,
  });
  const cpu = (await cpuOf(server.child)) - before;
  return {
    name,
    rps: r.requests.average,
    cpuUsPerRequest: Math.round((cpu / Math.max(r.requests.total, 1)) * 10) / 10,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.non2xx,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export async function kitOverhead(): Promise<Record<string, unknown>> {
  // A local OTLP sink, so sampled spans really are serialised and sent.
  let spansBytes = 0;
  const sink = createServer((req, res) => {
    req.on('data', (c: Buffer) => (spansBytes += c.length));
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/v1/traces`;

  const kitEnv = { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: sinkUrl, HOST: '127.0.0.1', PORT: '0' };
  const servers = {
    bare: await start('./servers/bare-express.ts', {}),
    kit: await start('./servers/kit-service.ts', kitEnv),
    // For comparison only: the same kit with implicit context (AsyncLocalStorage), to show what it costs.
    kitAls: await start('./servers/kit-service.ts', { ...kitEnv, TRACE_CONTEXT: 'async-local-storage' }),
  };
  try {
    for (const server of Object.values(servers)) await load('warmup', server, 3);
    const results: RunResult[] = [];
    for (let i = 0; i < rounds; i++) {
      for (const [name, server] of Object.entries(servers)) results.push(await load(name, server, seconds));
    }
    const pick = (name: string, key: 'rps' | 'p50' | 'p99' | 'cpuUsPerRequest') =>
      median(results.filter((r) => r.name === name).map((r) => r[key]));
    const figures = (name: string) => ({
      rps: pick(name, 'rps'),
      p50_ms: pick(name, 'p50'),
      p99_ms: pick(name, 'p99'),
      cpu_us_per_request: pick(name, 'cpuUsPerRequest'),
    });
    const summary = {
      benchmark: 'kit-overhead',
      route: `GET ${PATH}`,
      connections,
      seconds,
      rounds,
      bare: figures('bare'),
      kit: figures('kit'),
      kit_async_local_storage: figures('kitAls'),
      ratio: Math.round((pick('kit', 'rps') / pick('bare', 'rps')) * 1000) / 1000,
      // Throughput of a saturated single-threaded server is 1 / CPU per request: this ratio is the steadier one.
      cpu_ratio: Math.round((pick('bare', 'cpuUsPerRequest') / pick('kit', 'cpuUsPerRequest')) * 1000) / 1000,
      ratio_async_local_storage: Math.round((pick('kitAls', 'rps') / pick('bare', 'rps')) * 1000) / 1000,
      target_ratio: 0.8,
      errors: results.reduce((n, r) => n + r.errors, 0),
      otlp_bytes_received: spansBytes,
      rounds_detail: results,
    };
    return summary;
  } finally {
    for (const server of Object.values(servers)) server.child.kill('SIGTERM');
    sink.close();
  }
}
