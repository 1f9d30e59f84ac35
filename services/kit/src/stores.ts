import { service as catalogueEntry, type ServiceName } from '@meshmart/catalogue';
import type { Db } from 'mongodb';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { optional, str, url, type Setting } from './config.ts';
import { InMemoryEventBus } from './events/in-memory-event-bus.ts';
import { RedisStreamEventBus } from './events/redis-stream-event-bus.ts';
import type { EventBus, Subscription } from './events/event-bus.ts';
import { topicGuard } from './events/topic-guard.ts';
import type { Health } from './health.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import { closeMongo, connectMongo, mongoCheck } from './mongo.ts';
import { closeRedis, connectRedis, redisCheck } from './redis.ts';
import type { Closer } from './server.ts';
import type { Host } from './service.ts';

/**
 * Where a service keeps its data. Unset URLs mean the in-memory twins (the embedded default); with MONGO_URL and
 * REDIS_URL set the same service uses the real stores.
 */
export function storeSettings(service: ServiceName) {
  return {
    mongoUrl: optional(
      url({
        env: 'MONGO_URL',
        protocols: ['mongodb', 'mongodb+srv'],
        doc: 'MongoDB (or DocumentDB, FerretDB) connection string; unset = in-memory repositories',
      }),
    ),
    mongoDatabase: str({
      env: 'MONGO_DATABASE',
      default: `meshmart_${service}`,
      doc: 'database of this service (one per service, never shared)',
    }),
    redisUrl: optional(
      url({
        env: 'REDIS_URL',
        protocols: ['redis', 'rediss'],
        doc: 'Redis (or ElastiCache) URL for caches and the event bus; unset = in-memory twins',
      }),
    ),
    redisKeyPrefix: str({
      env: 'REDIS_KEY_PREFIX',
      default: '',
      doc: 'prefix of every Redis key (event streams included), to share one Redis between several systems',
    }),
  };
}

/** `<NAME>_URL`, defaulting to the service's catalogue port on this machine. */
export function upstreamUrl(name: ServiceName): Setting<string> {
  return url({
    env: `${name.toUpperCase()}_URL`,
    protocols: ['http', 'https'],
    default: `http://127.0.0.1:${catalogueEntry(name).port}`,
    doc: `base URL of the ${name} service`,
  });
}

export interface StoreConfig {
  readonly mongoUrl?: string | undefined;
  readonly mongoDatabase: string;
  readonly redisUrl?: string | undefined;
  readonly redisKeyPrefix?: string;
}

export interface OpenStoresOptions {
  readonly service: ServiceName;
  readonly config: StoreConfig;
  readonly logger: Logger;
  readonly health: Health;
  readonly host: Host;
  /** The app's metrics: the event bus registers its own in the same registry. */
  readonly metrics?: Pick<Metrics, 'registry'>;
  /** @default metrics.registry */
  readonly registry?: Registry;
  /** Connect to MongoDB when MONGO_URL is set. @default true */
  readonly mongo?: boolean;
  /** Connect to Redis when REDIS_URL is set (also the event bus). @default true */
  readonly redis?: boolean;
}

export interface Stores {
  /** Set when MONGO_URL is set: build the Mongo adapters; otherwise the in-memory twins. */
  readonly db?: Db;
  readonly redis?: Redis;
  /** Prefix for this service's own Redis keys: `<REDIS_KEY_PREFIX><service>:`. */
  readonly redisKeyPrefix: string;
  /**
   * The host's bus, else Redis Streams when REDIS_URL is set, else an in-process bus; limited to the topics of the
   * service's catalogue entry (`publishes`, `consumes`): a subscription outside them fails the service's build, a
   * publish outside them fails (TopicNotInCatalogueError, naming the fix).
   */
  readonly bus: EventBus;
  /** Bus first, then the clients; append them after the service's own closers. */
  readonly closers: readonly Closer[];
}

/**
 * Connects what the config names, adds readiness checks for each, and picks the event bus.
 * In a service's build: `openStores({ ...kit, service: 'orders' })`.
 */
export async function openStores(options: OpenStoresOptions): Promise<Stores> {
  const { config, logger, health, service } = options;
  const closers: Closer[] = [];
  let db: Db | undefined;
  let redis: Redis | undefined;
  const registry = options.registry ?? options.metrics?.registry;
  if (config.mongoUrl && options.mongo !== false) {
    const mongo = await connectMongo(config.mongoUrl, {
      logger,
      appName: service,
      dbName: config.mongoDatabase,
      ...(registry ? { registry } : {}),
    });
    db = mongo.db;
    health.add('mongodb', () => mongoCheck(mongo.db));
    closers.push({ name: 'mongodb', close: () => closeMongo(mongo.client) });
  }
  if (config.redisUrl && options.redis !== false) {
    const client = await connectRedis(config.redisUrl, {
      logger,
      name: service,
      ...(registry ? { registry } : {}),
    });
    redis = client;
    health.add('redis', () => redisCheck(client));
    closers.push({ name: 'redis', close: () => closeRedis(client) });
  }
  const reg = registry ? { registry } : {};
  let bus = options.host.bus ? sharedBusView(options.host.bus, service) : undefined;
  if (bus) {
    const view = bus;
    closers.unshift({ name: 'event-subscriptions', close: () => view.close() });
  } else {
    const own = redis
      ? new RedisStreamEventBus({
          client: redis,
          source: service,
          keyPrefix: `${config.redisKeyPrefix ?? ''}events:`,
          logger,
          ...reg,
        })
      : new InMemoryEventBus({ source: service, logger, ...reg });
    if (!redis) logger.warn('no REDIS_URL: events stay inside this process');
    bus = own;
    closers.unshift({ name: 'event-bus', close: () => own.close() });
  }
  return {
    ...(db ? { db } : {}),
    ...(redis ? { redis } : {}),
    redisKeyPrefix: `${config.redisKeyPrefix ?? ''}${service}:`,
    bus: topicGuard(bus, {
      service,
      publishes: catalogueEntry(service).publishes,
      consumes: catalogueEntry(service).consumes,
    }),
    closers,
  };
}

/**
 * A service's view of the host's bus: publishes carry the service as source, and `close()` ends only the
 * subscriptions made through the view (the host closes the bus itself).
 */
function sharedBusView(bus: EventBus, source: string): EventBus {
  const subscriptions = new Set<Subscription>();
  return {
    publish: (topic, event) => bus.publish(topic, { ...event, source: event.source ?? source }),
    async subscribe(options) {
      const sub = await bus.subscribe(options);
      subscriptions.add(sub);
      return sub;
    },
    deadLetters: (topic, query) => bus.deadLetters(topic, query),
    redrive: (topic, options) => bus.redrive(topic, options),
    async close() {
      await Promise.all([...subscriptions].map((s) => s.close()));
      subscriptions.clear();
    },
  };
}
