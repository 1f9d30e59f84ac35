import { expect } from 'chai';
import { service, SERVICE_NAMES, TOPICS, type ServiceName } from '@meshmart/catalogue';
import {
  defineService,
  kitSettings,
  loadConfig,
  openStores,
  storeSettings,
  type Closer,
} from '@meshmart/kit';
import {
  declarePublishes,
  InMemoryEventBus,
  InMemoryOutboxStore,
  OutboxRelay,
  topicGuard,
  TopicNotInCatalogueError,
  type EventBus,
  type EventEnvelope,
} from '@meshmart/kit/events';
import type { Topic } from '@meshmart/catalogue';
import {
  eachBackend,
  eventually,
  testBus,
  testKit,
  testRedis,
  type TestRedis,
} from '../../../support/stores.ts';
import { testenv } from '../../../support/testenv.ts';

/** The rejection of `promise`, which must reject. */
async function refusal(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection, the call succeeded');
}

const FIX = 'in services/catalogue/src/catalogue.ts';

eachBackend(
  'topicGuard: a service publishes and consumes only the topics of its catalogue entry',
  (backend) => {
    let redis: TestRedis | undefined;
    let inner: EventBus;
    let bus: EventBus;

    beforeEach(async function () {
      if (backend === 'real') redis = await testRedis('topic-guard');
      inner = testBus(backend, 'orders', redis);
      bus = topicGuard(inner, {
        service: 'orders',
        publishes: ['orders.events'],
        consumes: ['orders.events'],
      });
    });

    afterEach(async function () {
      await inner.close();
      await redis?.close();
      redis = undefined;
    });

    it('when it publishes outside its publishes, then the publish fails naming the service, the topic and the fix, and nothing is published', async () => {
      const seen: EventEnvelope[] = [];
      await inner.subscribe({ topic: 'catalog.events', group: 'watcher', handler: (e) => void seen.push(e) });
      const err = await refusal(bus.publish('catalog.events', { type: 'product.created', data: {} }));
      expect(err).to.be.instanceOf(TopicNotInCatalogueError);
      expect((err as Error).message).to.equal(
        "orders may not publish to 'catalog.events': the topic is not in its catalogue entry's publishes; " +
          `add it to the catalogue entry's publishes ${FIX} (entries.orders.publishes)`,
      );
      // A marker published after it is delivered alone: the refused event never reached the bus.
      await inner.publish('catalog.events', { type: 'marker', data: {} });
      await eventually(() => seen.length > 0, 'the marker');
      expect(seen.map((e) => e.type)).to.deep.equal(['marker']);
    });

    it('when it subscribes outside its consumes, then the subscription fails naming the consumes list and the fix', async () => {
      const err = await refusal(
        bus.subscribe({ topic: 'payments.events', group: 'orders', handler: () => {} }),
      );
      expect(err).to.be.instanceOf(TopicNotInCatalogueError);
      expect(err).to.include({ service: 'orders', topic: 'payments.events', list: 'consumes' });
      expect((err as Error).message).to.include(
        `add it to the catalogue entry's consumes ${FIX} (entries.orders.consumes)`,
      );
    });

    it('when it publishes and subscribes inside its entry, then the event is delivered', async () => {
      const seen: EventEnvelope[] = [];
      await bus.subscribe({ topic: 'orders.events', group: 'projector', handler: (e) => void seen.push(e) });
      const sent = await bus.publish('orders.events', { type: 'order.placed', data: { id: 'o1' } });
      await eventually(() => seen.length === 1, 'the delivery');
      expect(seen[0]).to.include({ id: sent.id, topic: 'orders.events', source: 'orders' });
    });
  },
);

eachBackend('openStores: the bus it gives a service is limited to its catalogue entry', (backend) => {
  let redis: TestRedis | undefined;
  let closers: Closer[] = [];

  beforeEach(async function () {
    if (backend === 'real') redis = await testRedis('topic-guard-stores');
  });

  afterEach(async function () {
    for (const c of closers) await c.close();
    closers = [];
    await redis?.close();
    redis = undefined;
  });

  async function busOf(name: ServiceName): Promise<EventBus> {
    const kit = testKit(name);
    const stores = await openStores({
      service: name,
      config: {
        mongoDatabase: `meshmart_${name}`,
        ...(redis ? { redisUrl: testenv('REDIS_URL'), redisKeyPrefix: redis.prefix } : {}),
      },
      logger: kit.logger,
      health: kit.health,
      host: {},
      registry: kit.metrics.registry,
      mongo: false,
    });
    closers.push(...stores.closers);
    return stores.bus;
  }

  it('when every service subscribes to every topic, then exactly its consumes are accepted', async () => {
    for (const name of SERVICE_NAMES) {
      const entry = service(name);
      const bus = await busOf(name);
      for (const topic of TOPICS) {
        const subscribing = bus.subscribe({ topic, group: `guard-${entry.name}`, handler: () => {} });
        if (entry.consumes.includes(topic)) {
          const sub = await subscribing;
          await sub.close();
        } else {
          const err = await refusal(subscribing);
          expect(err, `${entry.name} subscribing to ${topic}`).to.be.instanceOf(TopicNotInCatalogueError);
        }
      }
    }
  });

  it('when every service publishes to every topic, then exactly its publishes are accepted', async () => {
    for (const name of SERVICE_NAMES) {
      const entry = service(name);
      const bus = await busOf(name);
      for (const topic of TOPICS) {
        const publishing = bus.publish(topic, { type: 'guard.test', data: {} });
        if (entry.publishes.includes(topic)) {
          expect((await publishing).source).to.equal(entry.name);
        } else {
          const err = await refusal(publishing);
          expect(err, `${entry.name} publishing to ${topic}`).to.be.instanceOf(TopicNotInCatalogueError);
        }
      }
    }
  });
});

describe('declarePublishes: a publisher declares its topics while its service is built', function () {
  const host = new InMemoryEventBus({ source: 'host' });
  after(() => host.close());

  /** A throw-away orders service whose outbox relay declares `topics`. */
  const throwaway = (topics: readonly Topic[]) =>
    defineService({
      service: 'orders',
      defaultPort: service('orders').port,
      settings: storeSettings('orders'),
      build: async (kit) => {
        const stores = await openStores({ ...kit, service: 'orders' });
        const relay = new OutboxRelay({ store: new InMemoryOutboxStore(), bus: stores.bus, topics });
        relay.start();
        return {
          app: () => undefined,
          closers: [{ name: 'outbox-relay', close: () => relay.stop() }, ...stores.closers],
        };
      },
    });

  async function start(topics: readonly Topic[]): Promise<readonly Closer[]> {
    const definition = throwaway(topics);
    const config = loadConfig(
      'orders',
      { ...kitSettings({ port: definition.defaultPort }), ...definition.settings },
      {},
    );
    const built = await definition.build({ config, ...testKit('orders'), host: { bus: host } });
    return built.closers ?? [];
  }

  it('when a service declares a publish topic outside its entry, then it fails to start naming the service, the topic and the fix', async () => {
    const err = await refusal(start(['orders.events', 'payments.events']));
    expect(err).to.be.instanceOf(TopicNotInCatalogueError);
    expect(err).to.include({ service: 'orders', topic: 'payments.events', list: 'publishes' });
    expect((err as Error).message).to.include(
      `add it to the catalogue entry's publishes ${FIX} (entries.orders.publishes)`,
    );
  });

  it('when it declares only topics of its entry, then it starts', async () => {
    for (const closer of await start(['orders.events'])) await closer.close();
  });

  it('when the bus is not limited by a catalogue entry, then any topic may be declared', () => {
    expect(() => declarePublishes(host, ['payments.events', 'catalog.events'])).not.to.throw();
  });
});
