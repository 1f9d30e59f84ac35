// What one checkout costs, counted by the services themselves: HTTP requests served and sent, MongoDB commands by
// collection and Redis commands by name, per service (their /metrics, scraped before and after a batch of sequential
// checkouts on an otherwise idle system; the idle rate, measured just before over a few seconds, is subtracted).
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuSnapshot } from './processes.ts';

type Sample = Map<string, number>; // `${service} ${metric}{labels}` -> value

const COUNTED = new Set([
  'http_request_duration_seconds_count',
  'http_client_request_duration_seconds_count',
  'mongodb_commands_total',
  'redis_commands_total',
  'events_published_total',
  'events_consumed_total',
]);
const DROPPED_LABELS = /^(service|status_class|outcome)=/;

async function scrape(urls: Readonly<Record<string, string>>): Promise<Sample> {
  const out: Sample = new Map();
  for (const [service, url] of Object.entries(urls)) {
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const line of text.split('\n')) {
      const m = /^([a-z_]+)(?:\{([^}]*)\})? ([0-9.e+-]+)$/.exec(line);
      if (!m || !COUNTED.has(m[1])) continue;
      const labels = (m[2] ?? '')
        .split(',')
        .filter((l) => l && !DROPPED_LABELS.test(l))
        .join(',');
      const key = `${service} ${m[1].replace(/_duration_seconds_count$/, 's_total')}{${labels}}`;
      out.set(key, (out.get(key) ?? 0) + Number(m[3]));
    }
  }
  return out;
}

export interface Census {
  readonly checkouts: number;
  /** Per checkout, idle background subtracted: `<service> <metric>{labels}` -> count (0.05 and above). */
  readonly perCheckout: Record<string, number>;
  /** Totals per checkout by kind: HTTP requests served, MongoDB commands, Redis commands, events published. */
  readonly totals: Record<string, number>;
  /** MongoDB commands per checkout by service. */
  readonly mongoByService: Record<string, number>;
  /** Background per second on the idle system (sweepers, relays, consumers' reads). */
  readonly idlePerSecond: Record<string, number>;
  /** CPU milliseconds per checkout by process, the idle system's CPU over the same time subtracted. */
  readonly cpuMsPerCheckout: Record<string, number>;
  /** CPU milliseconds per second of each process on the idle system. */
  readonly idleCpuMsPerSecond: Record<string, number>;
}

/**
 * Runs `checkouts` purchases one after another (`purchase(n)` resolves when the order is settled) and returns what
 * they cost. `settleMs` lets the asynchronous tail (projector, audit) finish before the last scrape.
 */
export async function census(
  urls: Readonly<Record<string, string>>,
  pids: Readonly<Record<string, number | undefined>>,
  purchase: (n: number) => Promise<void>,
  checkouts: number,
  settleMs = 1500,
): Promise<Census> {
  const idleStart = await scrape(urls);
  const idleCpuStart = cpuSnapshot(pids);
  const idleT0 = performance.now();
  await sleep(3000);
  const idleCpuEnd = cpuSnapshot(pids);
  const idleEnd = await scrape(urls);
  const idleSeconds = (performance.now() - idleT0) / 1000;

  const before = await scrape(urls);
  const cpuBefore = cpuSnapshot(pids);
  const t0 = performance.now();
  for (let n = 0; n < checkouts; n++) await purchase(n);
  await sleep(settleMs);
  const cpuAfter = cpuSnapshot(pids);
  const seconds = (performance.now() - t0) / 1000;
  const after = await scrape(urls);

  const idleCpuMsPerSecond: Record<string, number> = {};
  const cpuMsPerCheckout: Record<string, number> = {};
  for (const name of Object.keys(pids)) {
    const idle = (idleCpuEnd[name] - idleCpuStart[name]) / idleSeconds;
    idleCpuMsPerSecond[name] = Math.round(idle * 10) / 10;
    const net = cpuAfter[name] - cpuBefore[name] - idle * seconds;
    cpuMsPerCheckout[name] = Math.round((Math.max(net, 0) / checkouts) * 10) / 10;
  }

  const idleRate = (key: string) => ((idleEnd.get(key) ?? 0) - (idleStart.get(key) ?? 0)) / idleSeconds;
  const perCheckout: Record<string, number> = {};
  for (const [key, value] of after) {
    const net = value - (before.get(key) ?? 0) - idleRate(key) * seconds;
    const each = Math.round((net / checkouts) * 100) / 100;
    if (each >= 0.05) perCheckout[key] = each;
  }
  const sum = (test: (key: string) => boolean) =>
    Math.round(
      Object.entries(perCheckout)
        .filter(([k]) => test(k))
        .reduce((n, [, v]) => n + v, 0) * 10,
    ) / 10;
  const mongoByService: Record<string, number> = {};
  for (const service of Object.keys(urls)) {
    const n = sum((k) => k.startsWith(`${service} mongodb_commands_total`));
    if (n > 0) mongoByService[service] = n;
  }
  const idlePerSecond: Record<string, number> = {};
  for (const key of idleEnd.keys()) {
    const rate = Math.round(idleRate(key) * 100) / 100;
    if (rate >= 0.05) idlePerSecond[key] = rate;
  }
  return {
    checkouts,
    perCheckout: Object.fromEntries(Object.entries(perCheckout).sort(([a], [b]) => a.localeCompare(b))),
    totals: {
      http_requests_served: sum((k) => k.includes(' http_requests_total')),
      http_requests_sent: sum((k) => k.includes(' http_client_requests_total')),
      mongodb_commands: sum((k) => k.includes(' mongodb_commands_total')),
      mongodb_reads: sum(
        (k) => k.includes(' mongodb_commands_total') && /command="(find|aggregate|count|getMore)"/.test(k),
      ),
      mongodb_writes: sum(
        (k) =>
          k.includes(' mongodb_commands_total') && /command="(insert|update|delete|findAndModify)"/.test(k),
      ),
      redis_commands: sum((k) => k.includes(' redis_commands_total')),
      events_published: sum((k) => k.includes(' events_published_total')),
      event_deliveries: sum((k) => k.includes(' events_consumed_total')),
    },
    mongoByService,
    idlePerSecond,
    cpuMsPerCheckout,
    idleCpuMsPerSecond,
  };
}
