// Bare Express versus Express with the full kit, same route, same machine, same run, alternating rounds.
import { fork, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

export interface RunResult {
  readonly name: string;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
}

const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

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

async function load(name: string, url: string, duration: number): Promise<RunResult> {
  const r = await autocannon({ url, connections, duration, pipelining: 1 });
  return { name, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx };
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

  const bare = await start('./servers/bare-express.ts', {});
  const kit = await start('./servers/kit-service.ts', {
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: sinkUrl,
    HOST: '127.0.0.1',
    PORT: '0',
  });
  const path = '/v1/items/lamp-1';
  try {
    await load('warmup', `http://127.0.0.1:${bare.port}${path}`, 3);
    await load('warmup', `http://127.0.0.1:${kit.port}${path}`, 3);
    const results: RunResult[] = [];
    for (let i = 0; i < rounds; i++) {
      results.push(await load('bare', `http://127.0.0.1:${bare.port}${path}`, seconds));
      results.push(await load('kit', `http://127.0.0.1:${kit.port}${path}`, seconds));
    }
    const pick = (name: string, key: 'rps' | 'p50' | 'p99') => median(results.filter((r) => r.name === name).map((r) => r[key]));
    const summary = {
      benchmark: 'kit-overhead',
      route: `GET ${path}`,
      connections,
      seconds,
      rounds,
      bare: { rps: pick('bare', 'rps'), p50_ms: pick('bare', 'p50'), p99_ms: pick('bare', 'p99') },
      kit: { rps: pick('kit', 'rps'), p50_ms: pick('kit', 'p50'), p99_ms: pick('kit', 'p99') },
      ratio: Math.round((pick('kit', 'rps') / pick('bare', 'rps')) * 1000) / 1000,
      target_ratio: 0.8,
      errors: results.reduce((n, r) => n + r.errors, 0),
      otlp_bytes_received: spansBytes,
      rounds_detail: results,
    };
    return summary;
  } finally {
    bare.child.kill('SIGTERM');
    kit.child.kill('SIGTERM');
    sink.close();
  }
}
