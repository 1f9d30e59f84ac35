import { testenv } from './testenv.ts';
import { testMongo, testRedis, type Backend, type TestMongo, type TestRedis } from './stores.ts';

export interface StoresEnv {
  /** MONGO_URL, MONGO_DATABASE, REDIS_URL and REDIS_KEY_PREFIX of the test's own database and keys (real), or none. */
  readonly env: Record<string, string>;
  /** The test's own database (real backend), for looking behind the service and for cleanup. */
  readonly mongo?: TestMongo;
  /** The test's own Redis keys (real backend): pass it to testBus for a bus on the service's streams. */
  readonly redis?: TestRedis;
  /** Drops the database and deletes the keys. */
  close(): Promise<void>;
}

/**
 * The environment that puts a service built from its definition on `backend`: nothing for the in-memory twins, or
 * the test servers with a fresh database and key prefix (the service reads them the way it reads them in production).
 */
export async function storesEnv(
  backend: Backend,
  prefix: string,
  uses: { readonly mongo?: boolean; readonly redis?: boolean } = {},
): Promise<StoresEnv> {
  if (backend === 'memory') return { env: {}, close: () => Promise.resolve() };
  const mongo = uses.mongo === false ? undefined : await testMongo(prefix);
  const redis = uses.redis === false ? undefined : await testRedis(prefix);
  return {
    env: {
      ...(mongo ? { MONGO_URL: testenv('MONGO_URL'), MONGO_DATABASE: mongo.db.databaseName } : {}),
      ...(redis ? { REDIS_URL: testenv('REDIS_URL'), REDIS_KEY_PREFIX: redis.prefix } : {}),
    },
    ...(mongo ? { mongo } : {}),
    ...(redis ? { redis } : {}),
    async close() {
      await mongo?.close();
      await redis?.close();
    },
  };
}
