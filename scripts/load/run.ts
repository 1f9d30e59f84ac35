// An open-model load generator: requests are sent on a fixed schedule whatever the answers take, and each latency is
// measured from the instant the request was due, not from when it went out, so a slow system cannot hide its slowness
// by slowing the generator down (coordinated omission).
import { setTimeout as sleep } from 'node:timers/promises';
import { picker, seededRandom, WEIGHTS, type MixKind } from './mix.ts';
import { readCatalog, ShopClient, Shopper, type Account, type RequestPlan } from './shop.ts';
import { Recorder, type KindSummary } from './stats.ts';

export const DEFAULT_ACCOUNTS: readonly Account[] = [
  { username: 'alice', password: 'alice' },
  { username: 'bob', password: 'bob' },
];

export interface LoadOptions {
  readonly baseUrl: string;
  /** Requests per second offered. @default 20 */
  readonly rate?: number;
  /** @default 30 (unless `requests` is given) */
  readonly durationSeconds?: number;
  /** Stop after this many requests (with `durationSeconds`: whichever comes first). */
  readonly requests?: number;
  /** Virtual users, logged in round-robin as the accounts. @default 10 */
  readonly users?: number;
  /** @default 1 */
  readonly seed?: number;
  readonly onProgress?: (progress: LoadProgress) => void;
  readonly signal?: AbortSignal;
  /** @default alice and bob (password = username), or LOAD_ACCOUNTS="user:password,…" */
  readonly accounts?: readonly Account[];
  /** @default tok_visa */
  readonly paymentToken?: string;
  /** Keep-alive connections to the gateway. @default 64 */
  readonly connections?: number;
  /** Per request. @default 10000 */
  readonly timeoutMs?: number;
  /** More requests in flight than this and a due request is counted as an error, not queued. @default 5000 */
  readonly maxInFlight?: number;
  /** @default Online Boutique's weights (mix.ts) */
  readonly weights?: Readonly<Record<MixKind, number>>;
  /**
   * Send an idempotent request (GET, PUT, or a checkout with its Idempotency-Key) again when its connection closes
   * before an answer, as browsers and proxies do; counted in `retriedOnReset`. @default false
   */
  readonly retryOnReset?: boolean;
}

export interface LoadProgress {
  readonly elapsedSeconds: number;
  readonly sent: number;
  readonly completed: number;
  readonly inFlight: number;
  readonly errors: number;
  /** Completions per second over the last progress interval. */
  readonly ratePerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface LoadSummary {
  readonly requests: number;
  readonly errors: number;
  readonly byKind: Record<string, KindSummary>;
  readonly throughputPerSecond: number;
  readonly offeredRatePerSecond: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly durationSeconds: number;
  /** "kind status [problem type]" to count. */
  readonly errorsByKey: Record<string, number>;
  readonly errorSamples: string[];
  readonly orders: { placed: number; confirmed: number; cancelled: number; notYetVisible: number };
  readonly users: number;
  /** Who the virtual users shopped as: load-test customers, or the demo users when the gateway has none. */
  readonly accounts: readonly string[];
  /** Requests sent again after their connection was lost before an answer (`retryOnReset`). */
  readonly retriedOnReset: number;
}

export function accountsFromEnv(value = process.env.LOAD_ACCOUNTS): readonly Account[] | undefined {
  if (!value) return undefined;
  return value.split(',').map((pair) => {
    const [username, password = username] = pair.split(':');
    return { username, password };
  });
}

/**
 * The accounts to shop as: those given, else one load-test customer per virtual user (a gateway in the local stage
 * accepts load-1 … load-N, so carts and per-user limits are not shared), else the demo users.
 */
async function signInFirst(
  client: ShopClient,
  options: LoadOptions,
): Promise<{ accounts: readonly Account[]; firstToken: string }> {
  const given = options.accounts ?? accountsFromEnv();
  if (given) return { accounts: given, firstToken: await client.login(given[0]) };
  const pool = loadAccounts(options.users ?? 10);
  try {
    return { accounts: pool, firstToken: await client.login(pool[0]) };
  } catch {
    // This gateway has no load-test customers (LOAD_USERS=0, or not the local stage): shop as the demo users.
    return { accounts: DEFAULT_ACCOUNTS, firstToken: await client.login(DEFAULT_ACCOUNTS[0]) };
  }
}

/** load-1 … load-n, as the gateway's LOAD_USERS pool names them. */
export function loadAccounts(n: number): Account[] {
  return Array.from({ length: n }, (_, i) => ({ username: `load-${i + 1}`, password: `load-${i + 1}` }));
}

export async function runLoad(options: LoadOptions): Promise<LoadSummary> {
  const rate = options.rate ?? 20;
  if (!(rate > 0)) throw new Error(`load: rate must be above 0 (got ${rate})`);
  const durationMs =
    options.durationSeconds !== undefined
      ? options.durationSeconds * 1000
      : options.requests !== undefined
        ? Infinity
        : 30_000;
  const maxRequests = options.requests ?? Infinity;
  const maxInFlight = options.maxInFlight ?? 5000;
  const random = seededRandom(options.seed ?? 1);
  const nextKind = picker(random, options.weights ?? WEIGHTS);
  const client = new ShopClient(
    options.baseUrl,
    options.timeoutMs ?? 10_000,
    options.connections ?? 64,
    options.retryOnReset ?? false,
  );
  const recorder = new Recorder();

  try {
    const { accounts, firstToken } = await signInFirst(client, options);
    const shoppers = new Map<string, Shopper>();
    const catalog = await readCatalog(client, firstToken);
    for (const account of accounts) {
      const shopper = new Shopper(account, catalog, random, options.paymentToken ?? 'tok_visa');
      shopper.token = account === accounts[0] ? firstToken : await client.login(account);
      shoppers.set(account.username, shopper);
    }
    // Virtual users share their account's state (one cart per account), so their requests never contradict it.
    const users = Array.from({ length: options.users ?? 10 }, (_, i) =>
      shoppers.get(accounts[i % accounts.length].username)!,
    );
    const relogin = new Map<Shopper, Promise<void>>();

    let inFlight = 0;
    let sent = 0;
    const pending = new Set<Promise<void>>();
    const fire = (plan: RequestPlan, shopper: Shopper, dueAt: number): void => {
      inFlight++;
      const done = client
        .send(plan.method, plan.path, {
          body: plan.body,
          headers: { authorization: `Bearer ${shopper.token}`, ...plan.headers },
        })
        .then(
          (res) => {
            const latency = performance.now() - dueAt;
            let wrong: string | undefined;
            try {
              wrong = plan.check(res);
            } catch (err) {
              wrong = `unreadable answer (${(err as Error).message})`;
            }
            if (!wrong) return recorder.ok(plan.kind, latency);
            const type = problemType(res.text);
            recorder.fail(
              plan.kind,
              latency,
              `${plan.kind} ${res.status}${type ? ` ${type}` : ''}`,
              `${plan.method} ${plan.path} -> ${res.status} (${wrong}) ${res.text.slice(0, 240)}`,
            );
            if (res.status === 401 && !relogin.has(shopper)) {
              const again = client.login(shopper.account).then(
                (token) => void (shopper.token = token),
                () => undefined,
              );
              relogin.set(shopper, again);
              void again.finally(() => relogin.delete(shopper));
            }
          },
          (err: Error) => {
            plan.check({ status: 0, text: '' });
            const code = (err as { code?: unknown }).code;
            const key = typeof code === 'string' ? code : err.name;
            recorder.fail(
              plan.kind,
              performance.now() - dueAt,
              `${plan.kind} ${key}`,
              `${plan.method} ${plan.path}: ${err.message}`,
            );
          },
        )
        .finally(() => {
          inFlight--;
          pending.delete(done);
        });
      pending.add(done);
    };

    const t0 = performance.now();
    let lastProgress = t0;
    const progress = options.onProgress
      ? setInterval(() => {
          const now = performance.now();
          const w = recorder.window();
          options.onProgress!({
            elapsedSeconds: Math.round((now - t0) / 100) / 10,
            sent,
            completed: recorder.requests,
            inFlight,
            errors: recorder.errors,
            ratePerSecond: Math.round((w.completed / ((now - lastProgress) / 1000)) * 10) / 10,
            p50Ms: w.p50Ms,
            p99Ms: w.p99Ms,
          });
          lastProgress = now;
        }, 1000)
      : undefined;

    const interval = 1000 / rate;
    try {
      for (;;) {
        if (options.signal?.aborted) break;
        const now = performance.now();
        let dueAt = t0 + sent * interval;
        while (dueAt <= now && sent < maxRequests && dueAt - t0 < durationMs) {
          const shopper = users[Math.floor(random() * users.length)];
          const plan = shopper.plan(nextKind(), now);
          sent++;
          if (inFlight >= maxInFlight) {
            plan.check({ status: 0, text: '' });
            recorder.fail(
              plan.kind,
              0,
              `${plan.kind} overload`,
              `more than ${maxInFlight} requests in flight`,
            );
          } else {
            fire(plan, shopper, dueAt);
          }
          dueAt = t0 + sent * interval;
        }
        if (sent >= maxRequests || dueAt - t0 >= durationMs) break;
        await sleep(Math.max(0, dueAt - performance.now()));
      }
      await Promise.all([...pending]);
    } finally {
      if (progress) clearInterval(progress);
    }
    const elapsed = (performance.now() - t0) / 1000;
    const overall = recorder.overall();
    const orders = { placed: 0, confirmed: 0, cancelled: 0, notYetVisible: 0 };
    for (const s of shoppers.values()) {
      for (const key of Object.keys(orders) as (keyof typeof orders)[]) orders[key] += s.orders[key];
    }
    return {
      requests: recorder.requests,
      errors: recorder.errors,
      byKind: recorder.byKind(),
      throughputPerSecond: Math.round((recorder.requests / elapsed) * 10) / 10,
      offeredRatePerSecond: rate,
      ...overall,
      durationSeconds: Math.round(elapsed * 10) / 10,
      errorsByKey: Object.fromEntries([...recorder.errorsByKey].sort(([, a], [, b]) => b - a)),
      errorSamples: recorder.errorSamples,
      orders,
      users: users.length,
      accounts: accounts.map((a) => a.username),
      retriedOnReset: client.retried,
    };
  } finally {
    await client.close();
  }
}

/** The problem+json `type` or `code` of an error answer, to group errors by what went wrong. */
function problemType(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as { type?: string; code?: string };
    const type = body.code ?? body.type;
    return typeof type === 'string' ? (type.split('/').pop() ?? type) : undefined;
  } catch {
    return undefined;
  }
}
