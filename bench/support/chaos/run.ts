// The two experiments of `make chaos`: checkouts under crashes (services SIGKILLed, Redis and FerretDB restarted,
// payments failing and slow), judged by the invariants; and a rolling restart of every service under load, judged by
// failed requests. Both run on a Redis and a FerretDB of their own (datastores.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceName } from '@meshmart/catalogue';
import { seededRandom } from '../../../scripts/load/mix.ts';
import { percentile } from '../../../scripts/load/stats.ts';
import { runLoad, type LoadSummary } from '../../../scripts/load.ts';
import { BENCH_SIGNING_KEY, BenchShop } from '../shop.ts';
import { startCluster, type Cluster, type RollFigures } from './cluster.ts';
import { crowd, type CheckoutPlan, type CheckoutRecord, type CrowdProgress } from './customers.ts';
import { startPrivateFerretDb, startPrivateRedis, type AppendFsync, type Datastore } from './datastores.ts';
import { runFaults, schedule, slowPaymentsAtRandom, type FaultRecord } from './faults.ts';
import { inFlight, judge, type InvariantInput, type Verdict } from './invariants.ts';

/** The gateway's rate limits are per user and per address; the harness is one address sending for everyone. */
const GATEWAY_ENV = { JWT_SIGNING_KEY: BENCH_SIGNING_KEY, RATE_LIMIT_USER: '0', RATE_LIMIT_ADDRESS: '0' };

export interface Stores {
  readonly redis: Datastore;
  readonly ferretdb: Datastore;
  close(): Promise<void>;
}

export async function startStores(appendFsync: AppendFsync = 'always'): Promise<Stores> {
  const redis = await startPrivateRedis({ appendFsync });
  try {
    const ferretdb = await startPrivateFerretDb();
    return {
      redis,
      ferretdb,
      async close() {
        await redis.close();
        await ferretdb.close();
      },
    };
  } catch (err) {
    await redis.close();
    throw err;
  }
}

/** Gives every product its units (PUT /admin/stock) and answers what each was given. */
async function stockUp(
  cluster: Cluster,
  units: (productId: string, i: number) => number,
): Promise<Map<string, number>> {
  const list = (await (await fetch(`${cluster.url('catalog')}/products?limit=100`)).json()) as {
    items: { id: string }[];
  };
  const given = new Map<string, number>();
  for (const [i, { id }] of list.items.entries()) {
    const available = units(id, i);
    const res = await fetch(`${cluster.url('inventory')}/admin/stock/${id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-admin-token': cluster.adminToken },
      body: JSON.stringify({ available }),
    });
    if (!res.ok) throw new Error(`stocking ${id}: ${res.status} ${await res.text()}`);
    given.set(id, available);
  }
  return given;
}

async function settle(
  input: InvariantInput,
  timeoutMs: number,
): Promise<{ seconds: number; quiet: boolean; detail: string }> {
  const t0 = performance.now();
  for (;;) {
    const state = await inFlight(input);
    if (state.quiet || performance.now() - t0 > timeoutMs)
      return { seconds: (performance.now() - t0) / 1000, ...state };
    await sleep(1000);
  }
}

export interface ChaosOptions {
  /** @default 1000 */
  readonly checkouts?: number;
  /** Customers checking out at once. @default 12 */
  readonly concurrency?: number;
  /** Kills of each of checkout, inventory, payments, orders and audit. @default 3 */
  readonly killsPerService?: number;
  /** Faults striking at once at most. @default 1 */
  readonly faultConcurrency?: number;
  /** @default 0.2 */
  readonly paymentFailureRate?: number;
  /** Payments latency is drawn from [0, this) every 2 s. @default 600 */
  readonly maxPaymentLatencyMs?: number;
  /** @default 1 */
  readonly seed?: number;
  /** Environment of particular services (a short test's shorter saga lease). */
  readonly serviceEnv?: (service: ServiceName) => Readonly<Record<string, string>>;
  /** @default 'always' */
  readonly appendFsync?: AppendFsync;
  /** Service logs go to <logDir>/<service>.log. */
  readonly logDir?: string;
  /** How long the system may take to come to rest after the last checkout. @default 180000 */
  readonly settleTimeoutMs?: number;
  /** Longest a killed process or store stays down before it is started again. @default 2000 */
  readonly maxDownMs?: number;
  readonly log?: (line: string) => void;
  /** Called with the judged system before it is torn down (tests tamper with it and judge again). */
  readonly inspect?: (input: InvariantInput) => Promise<void>;
}

export interface ChaosResult {
  readonly checkouts: number;
  readonly customers: number;
  readonly outcomes: Record<string, number>;
  readonly seconds: number;
  readonly perSecond: number;
  /** From the checkout request to the settled order, of the CONFIRMED ones. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly customerRetries: number;
  readonly faults: readonly FaultRecord[];
  readonly paymentLatencyDraws: number;
  readonly settleSeconds: number;
  readonly verdict: Verdict;
  readonly records: readonly CheckoutRecord[];
}

const TOKENS = ['tok_visa', 'tok_decline', 'tok_insufficient_funds'] as const;

/** Distinct customers, 1-3 lines of 1-2 units, 8 % of cards declined; a few products stocked to sell out. */
function plans(n: number, productIds: readonly string[], random: () => number, run: string): CheckoutPlan[] {
  return Array.from({ length: n }, (_, i) => {
    const lines = new Map<string, number>();
    const count = 1 + Math.floor(random() * 3);
    while (lines.size < count)
      lines.set(productIds[Math.floor(random() * productIds.length)], 1 + Math.floor(random() * 2));
    const r = random();
    return {
      n: i,
      customer: `chaos-${run}-${i}`,
      lines: [...lines].map(([productId, quantity]) => ({ productId, quantity })),
      paymentToken: r < 0.92 ? TOKENS[0] : r < 0.96 ? TOKENS[1] : TOKENS[2],
    };
  });
}

export async function runChaos(options: ChaosOptions = {}): Promise<ChaosResult> {
  const log = options.log ?? (() => undefined);
  const random = seededRandom(options.seed ?? 1);
  const total = options.checkouts ?? 1000;
  const stores = await startStores(options.appendFsync);
  let cluster: Cluster | undefined;
  let shop: BenchShop | undefined;
  try {
    const rate = options.paymentFailureRate ?? 0.2;
    cluster = await startCluster({
      redis: stores.redis,
      mongo: stores.ferretdb,
      env: GATEWAY_ENV,
      serviceEnv: (s) => ({
        ...(s === 'payments' ? { CHAOS_FAILURE_RATE: String(rate) } : {}),
        ...options.serviceEnv?.(s),
      }),
      ...(options.logDir ? { logDir: options.logDir } : {}),
    });
    const c = cluster;
    // A few products sell out: out of stock is a refusal the saga must undo like a declined card.
    const initialStock = await stockUp(c, (_, i) => (i % 12 === 0 ? 40 : 1000));
    const productIds = [...initialStock.keys()];
    shop = new BenchShop(c.url('gateway'), productIds, 64);
    const planned = plans(total, productIds, random, c.redisPrefix.split(':')[1]);
    const latency = slowPaymentsAtRandom(c, random, { maxLatencyMs: options.maxPaymentLatencyMs ?? 600 });
    let progress: CrowdProgress = { started: 0, done: 0, inFlight: 0 };
    const t0 = performance.now();
    const faults = runFaults({
      cluster: c,
      stores,
      faults: schedule(options.killsPerService ?? 3, random),
      progress: () => ({ fraction: progress.started / total, inFlight: progress.inFlight }),
      concurrency: options.faultConcurrency ?? 1,
      ...(options.maxDownMs !== undefined ? { maxDownMs: options.maxDownMs } : {}),
      random,
      t0,
      log,
    });
    const ticker = setInterval(
      () =>
        log(
          `  ${((performance.now() - t0) / 1000).toFixed(0)} s: ${progress.done}/${total} checkouts settled, ` +
            `${progress.inFlight} in flight, ${faults.records.length} faults recovered from`,
        ),
      10_000,
    );
    let records: CheckoutRecord[];
    try {
      records = await crowd(shop, planned, options.concurrency ?? 12, (p) => (progress = p));
      faults.hurry();
      await faults.done;
    } finally {
      clearInterval(ticker);
      await latency.stop();
    }
    const seconds = (performance.now() - t0) / 1000;
    log(`  ${records.length} checkouts in ${seconds.toFixed(0)} s; waiting for the system to come to rest`);
    const input: InvariantInput = { cluster: c, records, initialStock, redisRestarts: faults.redisRestarts };
    const rest = await settle(input, options.settleTimeoutMs ?? 180_000);
    log(`  at rest after ${rest.seconds.toFixed(1)} s (${rest.detail})`);
    const verdict = await judge(input);
    await options.inspect?.(input);
    const confirmed = Float64Array.from(
      records.filter((r) => r.outcome === 'CONFIRMED').map((r) => r.ms),
    ).sort();
    const outcomes: Record<string, number> = {};
    for (const r of records) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
    return {
      checkouts: records.length,
      customers: new Set(records.map((r) => r.customer)).size,
      outcomes,
      seconds,
      perSecond: records.length / seconds,
      p50Ms: percentile(confirmed, 50),
      p99Ms: percentile(confirmed, 99),
      maxMs: confirmed.at(-1) ?? NaN,
      customerRetries: records.reduce((n, r) => n + r.retries, 0),
      faults: faults.records,
      paymentLatencyDraws: latency.draws().length,
      settleSeconds: rest.seconds,
      verdict,
      records,
    };
  } finally {
    await shop?.close();
    await cluster?.close();
    await stores.close();
  }
}

export interface RollingOptions {
  /**
   * A second process behind the service's address before the old one is stopped (a Deployment's surge); false: stop,
   * then start again on the same port, as a single process without a Service in front would be restarted.
   * @default true
   */
  readonly surge?: boolean;
  /** Requests per second through the gateway (make load's mix). @default 20 */
  readonly rate?: number;
  /** Virtual users, each a load-test customer of its own. @default 20 */
  readonly users?: number;
  /** Load before the first restart and after the last. @default 10 */
  readonly quietSeconds?: number;
  readonly seed?: number;
  readonly logDir?: string;
  readonly settleTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

export interface RollingResult {
  readonly load: LoadSummary;
  readonly surge: boolean;
  readonly rolls: readonly RollFigures[];
  /** Connections each service's proxy could not hand to a process (nothing listening behind it). */
  readonly refusedConnections: number;
  readonly verdict: Verdict;
}

/**
 * Every service restarted one at a time (callees first, the gateway last) while the shop mix runs through the
 * gateway: each gets a second process behind its ServiceProxy, which takes the new connections once it is ready,
 * then the old one is sent SIGTERM and drains (the kit's graceful shutdown), as a Deployment's rolling update with
 * maxSurge 1 and maxUnavailable 0 does behind a Service.
 */
export async function runRollingRestart(options: RollingOptions = {}): Promise<RollingResult> {
  const log = options.log ?? (() => undefined);
  const users = options.users ?? 20;
  const surge = options.surge ?? true;
  const stores = await startStores();
  let cluster: Cluster | undefined;
  try {
    cluster = await startCluster({
      redis: stores.redis,
      mongo: stores.ferretdb,
      proxies: surge,
      env: { ...GATEWAY_ENV, LOAD_USERS: String(users) },
      ...(options.logDir ? { logDir: options.logDir } : {}),
    });
    const c = cluster;
    const initialStock = await stockUp(c, () => 100_000);
    const controller = new AbortController();
    const load = runLoad({
      baseUrl: c.url('gateway'),
      rate: options.rate ?? 20,
      durationSeconds: 3600,
      users,
      seed: options.seed ?? 1,
      signal: controller.signal,
      retryOnReset: true,
    });
    const quiet = (options.quietSeconds ?? 10) * 1000;
    const rolls: RollFigures[] = [];
    try {
      await sleep(quiet);
      for (const service of c.services) {
        const figures = surge ? await c.roll(service) : await c.restartInPlace(service);
        rolls.push(figures);
        log(
          `  ${service}: ${surge ? 'new process ready' : 'stopped, then ready again'} in ${(figures.startMs / 1000).toFixed(1)} s, ` +
            `old one drained and exited in ${(figures.drainMs / 1000).toFixed(1)} s`,
        );
      }
      await sleep(quiet);
    } finally {
      controller.abort();
    }
    const summary = await load;
    const input: InvariantInput = { cluster: c, initialStock };
    await settle(input, options.settleTimeoutMs ?? 120_000);
    return {
      load: summary,
      surge,
      rolls,
      refusedConnections: c.refusedConnections(),
      verdict: await judge(input),
    };
  } finally {
    await cluster?.close();
    await stores.close();
  }
}
