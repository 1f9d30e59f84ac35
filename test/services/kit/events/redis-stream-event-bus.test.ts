import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { RedisStreamEventBus } from '../../../../services/kit/src/events/index.ts';
import { createLogger } from '../../../../services/kit/src/logger.ts';
import { closeRedis, connectRedis } from '../../../../services/kit/src/redis.ts';
import { sample } from '../../../support/exposition.ts';
import { testenv } from '../../../support/testenv.ts';
import { eventually } from '../../../support/wait.ts';
import { deleteKeys, eventBusContract } from './event-bus.contract.ts';

const logger = createLogger({ service: 'test', level: 'silent' });

describe('RedisStreamEventBus', function () {
  const prefix = `test:events:${randomUUID().slice(0, 8)}:`;
  let client: Redis;
  let buses: RedisStreamEventBus[] = [];

  const newBus = (props: Partial<ConstructorParameters<typeof RedisStreamEventBus>[0]> = {}) => {
    const bus = new RedisStreamEventBus({
      client,
      source: 'contract',
      keyPrefix: prefix,
      blockMs: 500,
      ...props,
    });
    buses.push(bus);
    return bus;
  };

  before(async function () {
    client = await connectRedis(testenv('REDIS_URL'), { logger, name: 'kit-events-test' });
  });

  afterEach(async function () {
    await Promise.all(buses.map((b) => b.close()));
    buses = [];
  });

  after(async function () {
    if (!client) return;
    await deleteKeys(client, prefix);
    await closeRedis(client);
  });

  eventBusContract('RedisStreamEventBus', ({ registry }) => Promise.resolve(newBus({ registry })));

  it('when an event is published, then the stream entry has the documented fields', async function () {
    const bus = newBus();
    const sent = await bus.publish('layout', {
      type: 'x.happened',
      data: { a: [1, 2] },
      headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    });
    const [[, fields]] = (await client.xrange(bus.streamKey('layout'), '-', '+')) as [string, string[]][];
    const record = Object.fromEntries(
      fields.reduce<[string, string][]>((acc, v, i, all) => (i % 2 ? acc : [...acc, [v, all[i + 1]]]), []),
    );
    expect(record).to.include({
      id: sent.id,
      type: 'x.happened',
      version: '1',
      source: 'contract',
      data: '{"a":[1,2]}',
    });
    expect(record.occurredAt).to.equal(sent.occurredAt);
    expect(record.traceparent).to.match(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-0[01]$/);
  });

  it('when a stream entry is malformed, then it is dead-lettered rather than dropped', async function () {
    const bus = newBus();
    let calls = 0;
    await bus.subscribe({ topic: 'bad', group: 'g', retryDelayMs: 50, handler: () => void calls++ });
    await client.xadd(bus.streamKey('bad'), '*', 'id', 'x1', 'data', '{not json');
    await eventually(async () => (await bus.deadLetters('bad')).length === 1, 'a dead letter');
    const [letter] = await bus.deadLetters('bad');
    expect(letter.reason).to.match(/^malformed event/);
    expect(letter.envelope.data).to.deep.include({ id: 'x1', data: '{not json' });
    expect(calls).to.equal(0);
    expect(await client.xpending(bus.streamKey('bad'), 'g')).to.deep.equal([0, null, null, null]);
  });

  it('when maxLen is set, then the stream is trimmed approximately', async function () {
    const bus = newBus({ maxLen: 10 });
    const pipeline = [];
    for (let i = 0; i < 300; i++) pipeline.push(bus.publish('trimmed', { type: 't', data: i }));
    await Promise.all(pipeline);
    expect(await client.xlen(bus.streamKey('trimmed'))).to.be.below(300);
  });

  it('when a subscription blocked in XREADGROUP is closed, then close returns promptly and forgets the consumer', async function () {
    const bus = newBus({ blockMs: 5000 });
    const sub = await bus.subscribe({
      topic: 'prompt',
      group: 'g',
      consumer: 'c-prompt',
      // The loop also wakes up to reclaim every min(retryDelayMs, reclaimIdleMs) / 2: make that longer than the block.
      retryDelayMs: 10_000,
      handler: () => undefined,
    });
    // Redis lists a client blocked in a command with flag b (earlier tests' subscriptions are closed by now).
    await eventually(async () => {
      const clients = (await client.call('CLIENT', 'LIST')) as string;
      return clients
        .split('\n')
        .some(
          (c) => /\bname=kit-events-test\b/.test(c) && /\bflags=\w*b/.test(c) && /\bcmd=xreadgroup\b/.test(c),
        );
    }, 'the subscription to block in XREADGROUP');
    const started = Date.now();
    await sub.close();
    // Well below the 5 s block, with room for a loaded machine.
    expect(Date.now() - started).to.be.below(2500);
    const consumers = (await client.call('XINFO', 'CONSUMERS', bus.streamKey('prompt'), 'g')) as unknown[];
    expect(consumers).to.deep.equal([]);
  });

  describe('round trips', function () {
    let counting: Redis;
    let registry: Registry;
    const sent = async (command: string): Promise<number> =>
      sample(await registry.metrics(), 'redis_commands_total', { command }) ?? 0;

    beforeEach(async function () {
      registry = new Registry();
      counting = await connectRedis(testenv('REDIS_URL'), { logger, name: 'kit-events-counted', registry });
    });
    afterEach(async function () {
      await Promise.all(buses.map((b) => b.close()));
      buses = [];
      await closeRedis(counting);
    });

    it('when handlers finish together, then one XACK acknowledges all their deliveries', async function () {
      const bus = newBus({ client: counting });
      for (let n = 0; n < 5; n++) await bus.publish('acked', { type: 't', data: n });
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const started: unknown[] = [];
      await bus.subscribe({
        topic: 'acked',
        group: 'g',
        concurrency: 10,
        handler: async (e) => {
          started.push(e.data);
          await gate;
        },
      });
      await eventually(() => started.length === 5, 'the five deliveries to start');
      const before = await sent('xack');
      release();
      await eventually(
        async () => ((await client.xpending(bus.streamKey('acked'), 'g')) as [number])[0] === 0,
        'the five deliveries to be acknowledged',
      );
      expect((await sent('xack')) - before).to.equal(1);
    });

    it('when a subscription lingers after a read, then what is published meanwhile waits and comes in one read', async function () {
      const bus = newBus({ client: counting, blockMs: 200 });
      const seen: { data: unknown; at: number }[] = [];
      await bus.subscribe({
        topic: 'lingering',
        group: 'g',
        concurrency: 10,
        readLingerMs: 2_000,
        handler: (e) => void seen.push({ data: e.data, at: performance.now() }),
      });
      await bus.publish('lingering', { type: 't', data: 'first' });
      await eventually(() => seen.length === 1, 'the first event');
      const reads = await sent('xreadgroup');
      for (const data of ['a', 'b', 'c', 'd']) await bus.publish('lingering', { type: 't', data });
      await eventually(() => seen.length === 5, 'the four events published during the linger');
      expect(seen.map((s) => s.data)).to.deep.equal(['first', 'a', 'b', 'c', 'd']);
      // Not read before the linger after the first read ran out (a lower bound: a slow machine only adds to it) …
      expect(seen[1].at - seen[0].at).to.be.at.least(1_500);
      // … and then in one read (the reclaim loop's wake-ups are XPENDING, not reads).
      expect((await sent('xreadgroup')) - reads).to.equal(1);
    });
  });

  it('when a group is created, then it starts at the beginning of the stream', async function () {
    const bus = newBus();
    await bus.publish('early', { type: 't', data: 'before anyone listened' });
    const seen: unknown[] = [];
    await bus.subscribe({ topic: 'early', group: 'late-service', handler: (e) => void seen.push(e.data) });
    await eventually(() => seen.length === 1, 'the early event');
    expect(seen).to.deep.equal(['before anyone listened']);
  });
});
