import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { MongoClient, type Db } from 'mongodb';
import { Writable } from 'node:stream';
import { createLogger, Health, Metrics, type Kit, type KitConfig, type Logger } from '@meshmart/kit';
import { RedisStreamEventBus, InMemoryEventBus, type EventBus } from '@meshmart/kit/events';
import { testenv } from './testenv.ts';

/** Adapters a test runs against: the in-memory twins, or the real stores of the test environment. */
export type Backend = 'memory' | 'real';
export const BACKENDS: readonly Backend[] = ['memory', 'real'];

/** Runs the same suite once per backend, titled `<title> [memory]` and `<title> [real]`. */
export function eachBackend(title: string, body: (backend: Backend) => void): void {
  for (const backend of BACKENDS) describe(`${title} [${backend}]`, () => body(backend));
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

export interface TestMongo {
  readonly client: MongoClient;
  readonly db: Db;
  /** Drops the test's database and disconnects. */
  close(): Promise<void>;
}

/** A fresh database on the test environment's FerretDB, dropped by `close()`. Never shares data between tests. */
export async function testMongo(prefix: string): Promise<TestMongo> {
  const client = new MongoClient(testenv('MONGO_URL'), { serverSelectionTimeoutMS: 5000 });
  await client.connect();
  const db = client.db(uniqueName(`test_${prefix}`));
  return {
    client,
    db,
    async close() {
      await db.dropDatabase().catch(() => undefined);
      await client.close();
    },
  };
}

export interface TestRedis {
  readonly redis: Redis;
  /** Every key the test writes must start with this (pass it as the adapter's key prefix). */
  readonly prefix: string;
  /** Deletes the test's keys and disconnects. Never FLUSHDB: other suites share the server. */
  close(): Promise<void>;
}

export async function testRedis(prefix: string): Promise<TestRedis> {
  const redis = new Redis(testenv('REDIS_URL'), { lazyConnect: true, maxRetriesPerRequest: 3 });
  await redis.connect();
  const keyPrefix = `${uniqueName(`test:${prefix}`)}:`;
  return {
    redis,
    prefix: keyPrefix,
    async close() {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 500);
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      redis.disconnect();
    },
  };
}

/** An event bus for a test: in-process, or Redis Streams under the test's own key prefix. */
export function testBus(backend: Backend, source: string, redis?: TestRedis): EventBus {
  if (backend === 'memory') return new InMemoryEventBus({ source });
  if (!redis) throw new Error('testBus: the real bus needs a TestRedis');
  return new RedisStreamEventBus({ client: redis.redis, source, keyPrefix: `${redis.prefix}events:` });
}

class Sink extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n'))
      if (line) this.lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  }
}

/** Logger (captured, not printed), metrics and health for a createApp under test. */
export function testKit(service: string): {
  logger: Logger;
  metrics: Metrics;
  health: Health;
  logs: Record<string, unknown>[];
} {
  const sink = new Sink();
  const logger = createLogger({ service, level: 'info', destination: sink });
  return {
    logger,
    metrics: new Metrics({ service, processMetrics: false }),
    health: new Health(),
    logs: sink.lines,
  };
}

export type { Kit, KitConfig };

/** The shared wait helper, re-exported because most store-backed suites import it from here. */
export { eventually } from './wait.ts';
