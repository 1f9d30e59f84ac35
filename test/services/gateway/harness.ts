import type { Express } from 'express';
import { SERVICE_NAMES } from '@meshmart/catalogue';
import {
  hostServices,
  kitSettings,
  loadConfig,
  type AnyServiceDefinition,
  type HostedSystem,
} from '@meshmart/kit';
import { InMemoryEventBus, type EventBus } from '@meshmart/kit/events';
import { testenv } from '../../support/testenv.ts';
import { testKit, testRedis, type Backend, type TestRedis } from '../../support/stores.ts';

/**
 * Services are imported with import(), never statically: mocha loads a .ts test through tsx's require hook, and the
 * services load their app with import(); a static import would give the test a second (CommonJS) copy of the kit
 * whose AppError the app's error handler does not recognise.
 */
async function definitions(): Promise<AnyServiceDefinition[]> {
  const names = SERVICE_NAMES.filter((n) => n !== 'gateway');
  const mods = await Promise.all(
    names.map(
      (n) => import(`../../../services/${n}/src/service.ts`) as Promise<{ definition: AnyServiceDefinition }>,
    ),
  );
  return mods.map((m) => m.definition);
}

async function gatewayModule() {
  return import('../../../services/gateway/src/service.ts');
}

export interface Upstreams {
  /** `<NAME>_URL` of every running service, and the ADMIN_TOKEN they share. */
  readonly env: Record<string, string>;
  /** The in-process bus every service (and the gateway in memory mode) shares. */
  readonly bus: InMemoryEventBus;
  readonly system: HostedSystem;
  close(): Promise<void>;
}

/** The real services, in this process on free ports with in-memory stores and one in-process bus. */
export async function startUpstreams(): Promise<Upstreams> {
  const env: Record<string, string> = {
    LOG_LEVEL: 'silent',
    TRACING: 'off',
    PROCESS_METRICS: 'false',
    SAGA_BACKOFF_MS: '10',
  };
  const services = await definitions();
  for (const def of services) env[`${def.service.toUpperCase()}_PORT`] = '0';
  const bus = new InMemoryEventBus({ source: 'test' });
  const system = await hostServices(services, { env, host: { bus }, processName: 'gateway-test' });
  // The gateway sends the services' shared ADMIN_TOKEN with its calls to their admin routes.
  const urls: Record<string, string> = { ADMIN_TOKEN: system.adminToken };
  for (const s of system.services) urls[`${s.service.toUpperCase()}_URL`] = s.running.url;
  return {
    env: urls,
    bus,
    system,
    async close() {
      await system.shutdown('test done');
      await bus.close();
    },
  };
}

export interface Gateway {
  readonly app: Express;
  /** The bus the gateway publishes on (the shared in-process bus, or Redis Streams under the test's prefix). */
  readonly bus: EventBus;
  readonly redis?: TestRedis;
  readonly logs: Record<string, unknown>[];
  readonly metrics: () => Promise<string>;
  close(): Promise<void>;
}

/** The gateway as `make start` builds it (its definition's build), on the given backend. */
export async function startGateway(
  backend: Backend,
  upstreams: Pick<Upstreams, 'env' | 'bus'>,
  env: Record<string, string> = {},
): Promise<Gateway> {
  const redis = backend === 'real' ? await testRedis('gateway') : undefined;
  const { definition: gateway, settings } = await gatewayModule();
  const config = loadConfig(
    'gateway',
    { ...kitSettings({ port: 0 }), ...settings },
    {
      ...upstreams.env,
      WEB_UI: 'false',
      UPSTREAM_TIMEOUT_MS: '3000',
      ...(redis ? { REDIS_URL: testenv('REDIS_URL'), REDIS_KEY_PREFIX: redis.prefix } : {}),
      ...env,
    },
  );
  const kit = testKit('gateway');
  const { RedisStreamEventBus } = await import('@meshmart/kit/events');
  // Memory: the gateway shares the services' in-process bus. Real: its own Redis Streams bus under the prefix.
  const built = await gateway.build({ config, ...kit, host: redis ? {} : { bus: upstreams.bus } });
  const bus: EventBus = redis
    ? new RedisStreamEventBus({ client: redis.redis, source: 'test', keyPrefix: `${redis.prefix}events:` })
    : upstreams.bus;
  return {
    app: built.app as Express,
    bus,
    ...(redis ? { redis } : {}),
    logs: kit.logs,
    metrics: () => kit.metrics.registry.metrics(),
    async close() {
      for (const c of built.closers ?? []) await c.close();
      if (redis) await bus.close();
      await redis?.close();
    },
  };
}
