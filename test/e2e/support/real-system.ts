import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import type { ServiceName } from '@meshmart/catalogue';
import { startProcesses, type ProcessSystem } from '../../../scripts/system.ts';
import { testenv } from '../../support/testenv.ts';

export interface RealSystem extends ProcessSystem {
  /** Prefix of every Redis key of this run (event streams included). */
  readonly redisPrefix: string;
  readonly redis: Redis;
  readonly mongo: MongoClient;
  /** Database name of a service in this run. */
  database(service: ServiceName): string;
  /** Stops the processes, drops the run's databases, deletes its Redis keys. */
  close(): Promise<void>;
}

/**
 * Every service in its own process against the test environment's Redis and FerretDB, isolated from other runs by
 * database names and a Redis key prefix unique to this run.
 */
export async function startRealSystem(
  options: { env?: Record<string, string>; serviceEnv?: (s: ServiceName) => Record<string, string> } = {},
): Promise<RealSystem> {
  const run = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const redisPrefix = `e2e:${run}:`;
  const database = (service: ServiceName) => `e2e_${run}_${service}`;
  const mongo = new MongoClient(testenv('MONGO_URL'));
  await mongo.connect();
  const redis = new Redis(testenv('REDIS_URL'));
  const system = await startProcesses({
    env: {
      MONGO_URL: testenv('MONGO_URL'),
      REDIS_URL: testenv('REDIS_URL'),
      REDIS_KEY_PREFIX: redisPrefix,
      LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'warn',
      TRACING: 'off',
      PROCESS_METRICS: 'false',
      ...options.env,
    },
    serviceEnv: (service) => ({
      MONGO_DATABASE: database(service),
      ...(options.serviceEnv?.(service) ?? {}),
    }),
    onLine: process.env.E2E_VERBOSE ? (s, line) => console.log(`${s.padEnd(10)}| ${line}`) : undefined,
  });
  return {
    ...system,
    redisPrefix,
    redis,
    mongo,
    database,
    async close() {
      await system.stop();
      for (const name of Object.keys(system.urls)) {
        await mongo
          .db(database(name as ServiceName))
          .dropDatabase()
          .catch(() => undefined);
      }
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 500);
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      redis.disconnect();
      await mongo.close();
    },
  };
}

/** A JSON call to a service; returns status and parsed body. */
export async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** The shared wait helper, re-exported because the e2e, load and observability suites import it from here. */
export { until } from '../../support/wait.ts';
