// Every service in a process of its own on the chaos run's Redis and FerretDB, each service started as a system of
// one (scripts/system.ts), so one can be killed, restarted on its port, or replaced by a second process behind its
// ServiceProxy (a rolling restart with a surge, as a Deployment does it).
import { appendFileSync, mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import type { ServiceName } from '@meshmart/catalogue';
import {
  assignPort,
  releasePort,
  runnableServices,
  startProcesses,
  type ProcessSystem,
} from '../../../scripts/system.ts';
import type { Datastore } from './datastores.ts';
import { ServiceProxy } from './service-proxy.ts';

export interface ClusterOptions {
  readonly redis: Datastore;
  readonly mongo: Datastore;
  /** Callers reach each service through a ServiceProxy, which `roll` needs. @default false */
  readonly proxies?: boolean;
  /** Added to every service's environment. */
  readonly env?: Readonly<Record<string, string>>;
  readonly serviceEnv?: (service: ServiceName) => Readonly<Record<string, string>>;
  /** Each service's output is appended to `<logDir>/<service>.log`. @default kept in memory only */
  readonly logDir?: string;
}

export interface RollFigures {
  readonly service: ServiceName;
  /** From spawning the new process to its /healthz/ready. */
  readonly startMs: number;
  /** From SIGTERM to the old process's exit (its drain). */
  readonly drainMs: number;
}

export interface Cluster {
  readonly services: readonly ServiceName[];
  readonly adminToken: string;
  readonly redisPrefix: string;
  readonly redis: Redis;
  readonly mongo: MongoClient;
  database(service: ServiceName): string;
  /** The address callers use (the proxy's with proxies). */
  url(service: ServiceName): string;
  logs(service: ServiceName): readonly string[];
  /** SIGKILL. */
  kill(service: ServiceName): Promise<void>;
  /** Starts a killed service again on its port and waits until it is ready. */
  start(service: ServiceName): Promise<void>;
  /** Proxies only: a new process on a new port, ready, takes the new connections; then the old one gets SIGTERM. */
  roll(service: ServiceName): Promise<RollFigures>;
  /** SIGTERM, then the same service started again on its port: nothing listens there in between. */
  restartInPlace(service: ServiceName): Promise<RollFigures>;
  /** Connections a proxy could not hand to a process (nothing listening behind it): each a reset for its client. */
  refusedConnections(): number;
  /** True when every service answers /healthz/ready with 200 (its stores included). */
  allReady(): Promise<boolean>;
  /** Stops every process, drops the run's databases and Redis keys. */
  close(): Promise<void>;
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const run = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const redisPrefix = `chaos:${run}:`;
  const database = (service: ServiceName) => `chaos_${run}_${service}`;
  const services = runnableServices().map((s) => s.name as ServiceName);
  const adminToken = randomBytes(24).toString('hex');
  const ports = new Map<ServiceName, number>(services.map((s) => [s, assignPort()]));
  const proxies = new Map<ServiceName, ServiceProxy>();
  if (options.proxies) {
    for (const s of services) proxies.set(s, await ServiceProxy.start(assignPort(), ports.get(s)!));
  }
  const url = (s: ServiceName): string => `http://127.0.0.1:${proxies.get(s)?.port ?? ports.get(s)!}`;
  const env: Record<string, string> = {
    MONGO_URL: options.mongo.url,
    REDIS_URL: options.redis.url,
    REDIS_KEY_PREFIX: redisPrefix,
    ADMIN_TOKEN: adminToken,
    LOG_LEVEL: 'warn',
    TRACING: 'off',
    PROCESS_METRICS: 'false',
    ...Object.fromEntries(services.map((s) => [`${s.toUpperCase()}_URL`, url(s)])),
    ...options.env,
  };
  if (options.logDir) mkdirSync(options.logDir, { recursive: true });
  const spawnOne = (s: ServiceName, port: number): Promise<ProcessSystem> =>
    startProcesses({
      services: [s],
      ports: { [s]: port },
      env,
      serviceEnv: (service) => ({ MONGO_DATABASE: database(service), ...options.serviceEnv?.(service) }),
      ...(options.logDir
        ? {
            onLine: (service: string, line: string) =>
              appendFileSync(join(options.logDir!, `${service}.log`), `${line}\n`),
          }
        : {}),
    });
  const systems = new Map<ServiceName, ProcessSystem>();
  const mongo = new MongoClient(options.mongo.url, { serverSelectionTimeoutMS: 60_000 });
  const redis = new Redis(options.redis.url, { maxRetriesPerRequest: null });
  redis.on('error', () => undefined);
  const system = (s: ServiceName): ProcessSystem => {
    const found = systems.get(s);
    if (!found) throw new Error(`${s} is not part of this cluster`);
    return found;
  };

  const stopAll = async (): Promise<void> => {
    for (const s of [...services].reverse()) await systems.get(s)?.stop();
    for (const p of proxies.values()) await p.close();
    for (const port of ports.values()) releasePort(port);
  };
  try {
    await mongo.connect();
    // Each its own system, so all start at once; callers find their upstreams by the addresses given above.
    const started = await Promise.allSettled(
      services.map(async (s) => systems.set(s, await spawnOne(s, ports.get(s)!))),
    );
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (err) {
    await stopAll();
    redis.disconnect();
    await mongo.close();
    throw err;
  }

  return {
    services,
    adminToken,
    redisPrefix,
    redis,
    mongo,
    database,
    url,
    logs: (s) => system(s).logs(s),
    kill: (s) => system(s).kill(s),
    start: (s) => system(s).start(s),
    async roll(s) {
      const proxy = proxies.get(s);
      if (!proxy) throw new Error('roll needs a cluster started with proxies: true');
      const old = system(s);
      const oldPort = ports.get(s)!;
      const port = assignPort();
      const t0 = performance.now();
      const next = await spawnOne(s, port);
      const startMs = performance.now() - t0;
      proxy.switchTo(port);
      systems.set(s, next);
      ports.set(s, port);
      const t1 = performance.now();
      await old.stop();
      releasePort(oldPort);
      return { service: s, startMs, drainMs: performance.now() - t1 };
    },
    async restartInPlace(s) {
      const t0 = performance.now();
      await system(s).stop();
      const drainMs = performance.now() - t0;
      const t1 = performance.now();
      await system(s).start(s);
      return { service: s, startMs: performance.now() - t1, drainMs };
    },
    refusedConnections: () => [...proxies.values()].reduce((n, p) => n + p.failedConnects, 0),
    async allReady() {
      const answers = await Promise.all(
        services.map((s) =>
          fetch(`${url(s)}/healthz/ready`, { signal: AbortSignal.timeout(2000) }).then(
            (r) => r.ok,
            () => false,
          ),
        ),
      );
      return answers.every(Boolean);
    },
    async close() {
      await stopAll();
      for (const s of services)
        await mongo
          .db(database(s))
          .dropDatabase()
          .catch(() => undefined);
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
