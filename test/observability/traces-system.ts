import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import type { ServiceName } from '@meshmart/catalogue';
import { startProcesses, type ProcessSystem } from '../../scripts/system.ts';
import { call, until } from '../e2e/support/real-system.ts';
import { testenv } from '../support/testenv.ts';

/** One service's output line, as the process printed it. */
export interface CapturedLine {
  readonly service: ServiceName;
  readonly line: string;
}

export interface ObservedSystem {
  readonly system: ProcessSystem;
  /** Every line every service printed, in arrival order (nothing is dropped, unlike ProcessSystem.logs). */
  readonly lines: CapturedLine[];
  close(): Promise<void>;
}

/**
 * Every service in its own process against the test environment's Redis and FerretDB, each printing its JSON lines,
 * isolated from other runs by database names and a Redis key prefix. `env` adds tracing settings.
 */
export async function startObservedSystem(env: Record<string, string>): Promise<ObservedSystem> {
  const run = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const redisPrefix = `obs:${run}:`;
  const database = (service: string) => `obs_${run}_${service}`;
  const lines: CapturedLine[] = [];
  const system = await startProcesses({
    env: {
      MONGO_URL: testenv('MONGO_URL'),
      REDIS_URL: testenv('REDIS_URL'),
      REDIS_KEY_PREFIX: redisPrefix,
      PROCESS_METRICS: 'false',
      // Deadlines for a loaded 2-vCPU machine: this checks wiring, not speed.
      UPSTREAM_TIMEOUT_MS: '10000',
      JWT_SIGNING_KEY: randomBytes(32).toString('hex'),
      ...env,
    },
    serviceEnv: (service) => ({ MONGO_DATABASE: database(service) }),
    onLine: (service, line) => lines.push({ service, line }),
    // Two shared vCPUs: seven processes compiling TypeScript at once can take a while.
    readyTimeoutMs: 180_000,
  });
  return {
    system,
    lines,
    async close() {
      await system.stop();
      const mongo = new MongoClient(testenv('MONGO_URL'));
      const redis = new Redis(testenv('REDIS_URL'));
      try {
        await mongo.connect();
        for (const name of Object.keys(system.urls))
          await mongo
            .db(database(name))
            .dropDatabase()
            .catch(() => undefined);
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 500);
          if (keys.length > 0) await redis.del(...keys);
          cursor = next;
        } while (cursor !== '0');
      } finally {
        redis.disconnect();
        await mongo.close();
      }
    },
  };
}

export interface CheckoutResult {
  readonly orderId: string;
  readonly sagaId: string;
  readonly status: string;
  /** `gateway` when the checkout went through the public API, else `checkout`. */
  readonly entry: 'gateway' | 'checkout';
}

/**
 * One checkout of one item, through the gateway when the system has one (signed in as a demo user), else straight
 * at the checkout service; waits until the order left PENDING and the audit trail recorded its outcome.
 */
export async function checkoutOnce(
  system: ProcessSystem,
  options: { paymentToken?: string } = {},
): Promise<CheckoutResult> {
  const paymentToken = options.paymentToken ?? 'tok_visa';
  const list = await call(system.url('catalog'), 'GET', '/products?limit=3');
  if (list.status !== 200) throw new Error(`catalog answered ${list.status}: ${JSON.stringify(list.body)}`);
  const product = list.body.items[0] as { id: string };
  const set = await call(
    system.url('inventory'),
    'PUT',
    `/admin/stock/${product.id}`,
    { available: 50 },
    { 'x-admin-token': system.adminToken },
  );
  if (set.status !== 200) throw new Error(`setting stock failed: ${JSON.stringify(set.body)}`);
  const must = (what: string, res: { status: number; body: unknown }, status: number): void => {
    if (res.status !== status) throw new Error(`${what} answered ${res.status}: ${JSON.stringify(res.body)}`);
  };
  let started: { orderId: string; sagaId: string };
  let entry: CheckoutResult['entry'];
  if (system.urls.gateway) {
    entry = 'gateway';
    const gw = system.url('gateway');
    const token = await call(gw, 'POST', '/api/v1/auth/token', { username: 'alice', password: 'alice' });
    must('POST /api/v1/auth/token', token, 200);
    const auth = { authorization: `Bearer ${(token.body as { access_token: string }).access_token}` };
    must('DELETE /api/v1/cart', await call(gw, 'DELETE', '/api/v1/cart', undefined, auth), 204);
    const add = await call(gw, 'PUT', `/api/v1/cart/items/${product.id}`, { quantity: 1 }, auth);
    must('PUT /api/v1/cart/items', add, 200);
    const res = await call(
      gw,
      'POST',
      '/api/v1/checkout',
      { paymentToken },
      { ...auth, 'idempotency-key': randomUUID() },
    );
    must('POST /api/v1/checkout', res, 202);
    started = res.body as typeof started;
  } else {
    entry = 'checkout';
    const userId = `obs-${randomUUID().slice(0, 8)}`;
    must(
      'PUT cart item',
      await call(system.url('cart'), 'PUT', `/carts/${userId}/items/${product.id}`, { quantity: 1 }),
      200,
    );
    const res = await call(
      system.url('checkout'),
      'POST',
      '/checkouts',
      { userId, paymentToken },
      { 'idempotency-key': randomUUID() },
    );
    must('POST /checkouts', res, 202);
    started = res.body as typeof started;
  }
  const { orderId, sagaId } = started;
  const order = await until(
    async () => {
      const res = await call(system.url('orders'), 'GET', `/orders/${orderId}`);
      return res.status === 200 && res.body.status !== 'PENDING'
        ? (res.body as { status: string })
        : undefined;
    },
    `order ${orderId} to leave PENDING`,
    90_000,
  );
  await until(
    async () => {
      const res = await call(
        system.url('audit'),
        'GET',
        `/audit?resource=${encodeURIComponent(`order/${orderId}`)}`,
      );
      const items = (res.body?.items ?? []) as { action: string }[];
      return items.some((r) => r.action !== 'OrderPlaced') ? true : undefined;
    },
    `the audit trail to record order ${orderId}'s outcome`,
    90_000,
  );
  return { orderId, sagaId, status: order.status, entry };
}
