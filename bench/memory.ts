// Resident memory (VmRSS from /proc/<pid>/status) of every service in its own process against the test environment's
// real Redis and FerretDB: idle, then the peak while the load generator (scripts/load.ts) drives the gateway. Twice:
// as the image runs the services (esbuild bundles under plain node) and as tests run them (sources through tsx).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceName } from '@meshmart/catalogue';
import { bundleServices } from '../scripts/build-images.ts';
import { runLoad } from '../scripts/load.ts';
import { startRealSystem } from '../test/e2e/support/real-system.ts';
import type { Target } from './checkout.ts';
import { GATEWAY_BENCH_ENV } from './gateway-hop.ts';

const seconds = Number(process.env.BENCH_MEMORY_SECONDS ?? process.env.BENCH_SECONDS ?? 30);
const rate = Number(process.env.BENCH_MEMORY_RATE ?? 20);
const TARGET_TOTAL_MB = 1024;
const REST_SECONDS = Number(process.env.BENCH_MEMORY_REST_SECONDS ?? 60);
/** Per service process, as the image runs it (issue 13): at rest, and once the load is over. */
const TARGET_IDLE_MB = 80;
const TARGET_AFTER_LOAD_MB = 120;

/** VmRSS of a process in MiB, or NaN when it is gone. */
export function residentMb(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Math.round((Number(kb) / 1024) * 10) / 10 : NaN;
  } catch {
    return NaN;
  }
}

const sum = (xs: number[]): number => Math.round(xs.reduce((a, b) => a + b, 0) * 10) / 10;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

interface Phase {
  readonly services: Record<
    string,
    { started_mb: number; idle_mb: number; load_peak_mb: number; after_load_mb: number }
  >;
  /** 5 s after start. */
  readonly started_total_mb: number;
  /** At rest: each service's median over the last 20 s of REST_SECONDS after start. */
  readonly idle_total_mb: number;
  readonly idle_seconds_after_start: number;
  readonly load_peak_total_mb: number;
  readonly load: Record<string, unknown>;
}

async function measure(): Promise<Phase> {
  const system = await startRealSystem({ env: { LOG_LEVEL: 'error', ...GATEWAY_BENCH_ENV } });
  try {
    const services = Object.keys(system.urls) as ServiceName[];
    const sample = (): Record<string, number> =>
      Object.fromEntries(services.map((s) => [s, residentMb(system.pid(s))]));
    // 5 s after start, then at rest: V8 gives the heap of start-up garbage (seeding, first connections, compiling)
    // back only once its memory reducer finds a process idle, 10-35 s after start here, each process at its own time;
    // then the relays' and consumers' polling moves a process by a few MB. Idle is each service's median over the
    // last 20 s of REST_SECONDS.
    const t0 = performance.now();
    const elapsed = (): number => (performance.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 5000));
    const justStarted = sample();
    const atRest: Record<string, number>[] = [];
    while (elapsed() < REST_SECONDS) {
      await new Promise((r) => setTimeout(r, 1000));
      if (elapsed() >= REST_SECONDS - 20) atRest.push(sample());
    }
    const idle = Object.fromEntries(
      services.map((s) => [s, median(atRest.map((sampled) => sampled[s]))]),
    ) as Record<string, number>;

    const peak: Record<string, number> = { ...idle };
    let peakTotal = sum(Object.values(idle));
    const timer = setInterval(() => {
      const now = sample();
      for (const s of services) peak[s] = Math.max(peak[s], now[s]);
      peakTotal = Math.max(peakTotal, sum(Object.values(now)));
    }, 500);
    let load;
    try {
      load = await runLoad({ baseUrl: system.url('gateway'), rate, durationSeconds: seconds, users: 20 });
    } finally {
      clearInterval(timer);
    }
    const after = sample();
    return {
      services: Object.fromEntries(
        services.map((s) => [
          s,
          {
            started_mb: justStarted[s],
            idle_mb: idle[s],
            load_peak_mb: peak[s],
            after_load_mb: after[s],
          },
        ]),
      ),
      started_total_mb: sum(Object.values(justStarted)),
      idle_total_mb: sum(Object.values(idle)),
      idle_seconds_after_start: REST_SECONDS,
      load_peak_total_mb: peakTotal,
      load: {
        requests: load.requests,
        errors: load.errors,
        throughput_per_second: load.throughputPerSecond,
        p50_ms: load.p50Ms,
        p99_ms: load.p99Ms,
        errors_by_key: load.errorsByKey,
      },
    };
  } finally {
    await system.close();
  }
}

export async function memory(): Promise<Record<string, unknown>> {
  // As the image runs them: the esbuild bundles under plain node (scripts/build-images.ts), no tsx.
  const dir = mkdtempSync(join(tmpdir(), 'meshmart-bundles-'));
  const previous = process.env.MESHMART_BUNDLES;
  let bundled: Phase;
  try {
    await bundleServices({ outDir: dir });
    process.env.MESHMART_BUNDLES = dir;
    bundled = await measure();
  } finally {
    if (previous === undefined) delete process.env.MESHMART_BUNDLES;
    else process.env.MESHMART_BUNDLES = previous;
    rmSync(dir, { recursive: true, force: true });
  }
  // As tests, benchmarks and `make start --processes` run them: TypeScript sources through tsx.
  const sources = process.env.BENCH_MEMORY_SOURCES === '0' ? undefined : await measure();
  const largest = (key: 'idle_mb' | 'after_load_mb'): { service: string; mb: number } =>
    Object.entries(bundled.services)
      .map(([service, m]) => ({ service, mb: m[key] }))
      .reduce((a, b) => (b.mb > a.mb ? b : a));
  const idle = largest('idle_mb');
  const after = largest('after_load_mb');
  const targets: Target[] = [
    {
      name: 'bundles: whole system at peak under load',
      value: bundled.load_peak_total_mb,
      target: TARGET_TOTAL_MB,
      kind: 'max',
      unit: 'MB',
      ok: bundled.load_peak_total_mb < TARGET_TOTAL_MB,
    },
    {
      name: `bundles: largest service idle (${idle.service})`,
      value: idle.mb,
      target: TARGET_IDLE_MB,
      kind: 'max',
      unit: 'MB',
      ok: idle.mb <= TARGET_IDLE_MB,
    },
    {
      name: `bundles: largest service after load (${after.service})`,
      value: after.mb,
      target: TARGET_AFTER_LOAD_MB,
      kind: 'max',
      unit: 'MB',
      ok: after.mb <= TARGET_AFTER_LOAD_MB,
    },
  ];
  return {
    benchmark: 'memory',
    mode: 'every service its own process, real Redis + FerretDB (startRealSystem)',
    load: `scripts/load.ts mix at ${rate} req/s for ${seconds} s, 20 virtual users`,
    bundles: bundled,
    ...(sources ? { sources_through_tsx: sources } : {}),
    target_total_mb: TARGET_TOTAL_MB,
    // bench/run.ts flags ratio < target_ratio: here ratio is the budget over the bundles' peak (>= 1 meets it).
    ratio: Math.round((TARGET_TOTAL_MB / bundled.load_peak_total_mb) * 1000) / 1000,
    target_ratio: 1,
    target_service_idle_mb: TARGET_IDLE_MB,
    target_service_after_load_mb: TARGET_AFTER_LOAD_MB,
    targets,
    load_average_1m_at_end: Math.round(loadavg()[0] * 10) / 10,
  };
}
