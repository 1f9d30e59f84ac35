import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import {
  PoisonMessageError,
  type Delivery,
  type EventBus,
  type EventEnvelope,
  type SubscribeOptions,
} from '../../../../services/kit/src/events/index.ts';
import { eventually } from '../../../support/wait.ts';

export interface BusFactoryOptions {
  readonly registry: Registry;
}

/** Builds a bus for one test; the contract closes it afterwards. */
export type MakeBus = (options: BusFactoryOptions) => Promise<EventBus>;

const FAST = { retryDelayMs: 50, reclaimIdleMs: 250, drainTimeoutMs: 50 } as const;

/** How long a test lets pass before asserting that something did NOT happen (no redelivery, nothing more). */
const QUIET_MS = 150;

/** Deletes every key under a prefix (the test's own keys only). */
export async function deleteKeys(client: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    if (keys.length > 0) await client.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/** Registers a real tracer provider, W3C propagator and async context for the enclosing suite, then removes them. */
export function useTestTracing(): { readonly exporter: InMemorySpanExporter } {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const reset = () => {
    trace.disable();
    propagation.disable();
    context.disable();
  };
  before(function () {
    reset();
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
  });
  after(async function () {
    await provider.shutdown();
    reset();
  });
  return { exporter };
}

interface Received {
  readonly event: EventEnvelope;
  readonly delivery: Delivery;
  readonly at: number;
}

/** The behaviour every EventBus implementation must have. */
export function eventBusContract(name: string, makeBus: MakeBus): void {
  describe(`EventBus contract: ${name}`, function () {
    let buses: EventBus[] = [];
    let registry: Registry;
    let bus: EventBus;
    let topic: string;

    const newBus = async (): Promise<EventBus> => {
      const b = await makeBus({ registry });
      buses.push(b);
      return b;
    };

    const collect = async (
      options: Partial<SubscribeOptions> & { group: string },
      on?: (r: Received) => Promise<void> | void,
    ): Promise<Received[]> => {
      const received: Received[] = [];
      await bus.subscribe({
        topic,
        ...FAST,
        ...options,
        handler: async (event, delivery) => {
          const r = { event, delivery, at: Date.now() };
          received.push(r);
          await on?.(r);
        },
      });
      return received;
    };

    beforeEach(async function () {
      registry = new Registry();
      topic = `contract.${randomUUID().slice(0, 8)}`;
      bus = await newBus();
    });

    afterEach(async function () {
      await Promise.all(buses.map((b) => b.close()));
      buses = [];
    });

    it('when an event is published, then a subscriber receives its payload and envelope intact', async function () {
      const data = { orderId: 'o-1', items: [{ sku: 'sku-1', quantity: 2 }], note: 'ünïcødé', total: 12.5 };
      const sent = await bus.publish(topic, { type: 'order.created', version: 2, data });
      const received = await collect({ group: 'g1' });
      await eventually(() => received.length === 1, 'delivery');

      expect(sent.id).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const { event, delivery } = received[0];
      expect(event).to.include({ id: sent.id, topic, type: 'order.created', version: 2, source: 'contract' });
      expect(event.occurredAt).to.equal(sent.occurredAt);
      expect(new Date(event.occurredAt).toISOString()).to.equal(event.occurredAt);
      expect(event.data).to.deep.equal(data);
      expect(delivery).to.include({ group: 'g1', attempt: 1 });
    });

    it('when a publisher supplies id, occurredAt and source, then the bus keeps them', async function () {
      const id = randomUUID();
      await bus.publish(topic, {
        id,
        type: 't',
        data: null,
        occurredAt: '2024-01-02T03:04:05.000Z',
        source: 'orders',
      });
      const received = await collect({ group: 'g1' });
      await eventually(() => received.length === 1, 'delivery');
      expect(received[0].event).to.include({
        id,
        occurredAt: '2024-01-02T03:04:05.000Z',
        source: 'orders',
        version: 1,
      });
    });

    it('when two groups subscribe, then each gets every message, in order', async function () {
      const a = await collect({ group: 'ga' });
      const b = await collect({ group: 'gb' });
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await bus.publish(topic, { type: 't', data: { i } })).id);
      await eventually(() => a.length === 5 && b.length === 5, 'both groups');
      expect(a.map((r) => r.event.id)).to.deep.equal(ids);
      expect(b.map((r) => r.event.id)).to.deep.equal(ids);
    });

    it('when one group has two consumers, then each message is processed once', async function () {
      const handled: string[] = [];
      const consumers = new Set<string>();
      for (const consumer of ['c1', 'c2']) {
        await collect({ group: 'shared', consumer }, async (r) => {
          handled.push(r.event.id);
          consumers.add(r.delivery.consumer);
          await sleep(2); // a handler that takes a moment, so both consumers get work
        });
      }
      for (let i = 0; i < 20; i++) await bus.publish(topic, { type: 't', data: { i } });
      await eventually(() => handled.length >= 20, '20 messages');
      await sleep(QUIET_MS); // then no duplicate deliveries: a fixed wait only weakens this on a slow machine

      expect(handled).to.have.length(20);
      expect(new Set(handled).size).to.equal(20);
      expect([...consumers].every((c) => c === 'c1' || c === 'c2')).to.equal(true);
    });

    it('when a handler throws, then the message is retried after the delay and then succeeds', async function () {
      const received = await collect({ group: 'g1', maxDeliveries: 5 }, (r) => {
        if (r.delivery.attempt < 3) throw new Error(`flaky ${r.delivery.attempt}`);
      });
      await bus.publish(topic, { type: 't', data: 1 });
      await eventually(() => received.length === 3, 'three deliveries');
      // The outcome is counted after the handler returns (and, on Redis, after the XACK).
      await eventually(
        async () => /outcome="ok"} 1/.test(await registry.getSingleMetricAsString('events_consumed_total')),
        'the ok outcome counted',
      );
      await sleep(QUIET_MS); // then no fourth delivery: a fixed wait only weakens this on a slow machine

      expect(received.map((r) => r.delivery.attempt)).to.deep.equal([1, 2, 3]);
      expect(received[1].at - received[0].at).to.be.at.least(40);
      expect(await bus.deadLetters(topic)).to.deep.equal([]);
      const ok = await registry.getSingleMetricAsString('events_consumed_total');
      expect(ok)
        .to.match(/outcome="retry"} 2/)
        .and.match(/outcome="ok"} 1/);
    });

    it('when every delivery fails, then after maxDeliveries the message is dead-lettered with reason and attempts', async function () {
      const received = await collect({ group: 'g1', maxDeliveries: 3 }, (r) => {
        throw new Error(`boom on attempt ${r.delivery.attempt}`);
      });
      const sent = await bus.publish(topic, { type: 'payment.authorized', version: 1, data: { cents: 100 } });
      await eventually(async () => (await bus.deadLetters(topic)).length === 1, 'a dead letter');
      // The dead letter is counted after it is written.
      await eventually(
        async () =>
          /group="g1"} 1/.test(await registry.getSingleMetricAsString('events_dead_lettered_total')),
        'the dead letter counted',
      );
      await sleep(QUIET_MS); // then no fourth delivery: a fixed wait only weakens this on a slow machine

      expect(received).to.have.length(3);
      const [letter] = await bus.deadLetters(topic, { limit: 10 });
      expect(letter).to.include({ reason: 'boom on attempt 3', attempts: 3, group: 'g1' });
      expect(letter.envelope).to.include({ id: sent.id, type: 'payment.authorized', version: 1, topic });
      expect(letter.envelope.data).to.deep.equal({ cents: 100 });
      expect(Number.isNaN(Date.parse(letter.deadLetteredAt))).to.equal(false);
      expect(await registry.getSingleMetricAsString('events_dead_lettered_total')).to.match(/group="g1"} 1/);
    });

    it('when a handler throws PoisonMessageError, then the message is dead-lettered at once', async function () {
      const received = await collect({ group: 'g1', maxDeliveries: 5 }, () => {
        throw new PoisonMessageError('unknown schema version 9');
      });
      await bus.publish(topic, { type: 't', version: 9, data: {} });
      await eventually(async () => (await bus.deadLetters(topic)).length === 1, 'a dead letter');
      await sleep(QUIET_MS); // then no retry: a fixed wait only weakens this on a slow machine

      expect(received).to.have.length(1);
      expect((await bus.deadLetters(topic))[0]).to.include({
        reason: 'unknown schema version 9',
        attempts: 1,
      });
    });

    it('when dead letters are redriven, then a fixed handler processes them and the DLQ empties', async function () {
      let fixed = false;
      const processed: string[] = [];
      await collect({ group: 'g1' }, (r) => {
        if (!fixed) throw new PoisonMessageError('bug');
        processed.push(r.event.id);
      });
      const first = await bus.publish(topic, { type: 't', data: 1 });
      const second = await bus.publish(topic, { type: 't', data: 2 });
      await eventually(async () => (await bus.deadLetters(topic)).length === 2, 'two dead letters');
      fixed = true;

      const letters = await bus.deadLetters(topic);
      const one = letters.find((l) => l.envelope.id === first.id)!;
      expect(await bus.redrive(topic, { ids: [one.id] })).to.equal(1);
      await eventually(() => processed.length === 1, 'the redriven message');
      expect(processed).to.deep.equal([first.id]);
      expect((await bus.deadLetters(topic)).map((l) => l.envelope.id)).to.deep.equal([second.id]);

      expect(await bus.redrive(topic)).to.equal(1);
      await eventually(() => processed.length === 2, 'the rest');
      expect(processed).to.deep.equal([first.id, second.id]);
      expect(await bus.deadLetters(topic)).to.deep.equal([]);
      expect(await bus.redrive(topic)).to.equal(0);
      expect(await registry.getSingleMetricAsString('events_redriven_total')).to.match(/} 2/);
    });

    it('when a consumer dies while handling, then another consumer of the group reclaims the message', async function () {
      const stuck: Received[] = [];
      const dying = await bus.subscribe({
        topic,
        group: 'g1',
        consumer: 'dying',
        ...FAST,
        handler: (event, delivery) => {
          stuck.push({ event, delivery, at: Date.now() });
          return new Promise<void>(() => undefined);
        },
      });
      const sent = await bus.publish(topic, { type: 't', data: 'x' });
      await eventually(() => stuck.length === 1, 'the first delivery');
      await dying.close();

      const rescued = await collect({ group: 'g1', consumer: 'rescuer' });
      await eventually(() => rescued.length === 1, 'the reclaimed delivery');
      expect(rescued[0].event.id).to.equal(sent.id);
      expect(rescued[0].delivery).to.include({ consumer: 'rescuer', attempt: 2 });
      await sleep(QUIET_MS); // then no second reclaim: a fixed wait only weakens this on a slow machine
      expect(rescued).to.have.length(1);
    });

    describe('trace context', function () {
      const tracing = useTestTracing();

      it('when an event is published inside a span, then the consumer span continues that trace', async function () {
        const activeTraceIds: (string | undefined)[] = [];
        await collect({ group: 'g1' }, () => {
          activeTraceIds.push(trace.getActiveSpan()?.spanContext().traceId);
        });
        const traceId = await trace.getTracer('test').startActiveSpan('request', async (span) => {
          await bus.publish(topic, { type: 't', data: 1 });
          span.end();
          return span.spanContext().traceId;
        });
        await eventually(() => activeTraceIds.length === 1, 'delivery');
        const { exporter } = tracing;
        await eventually(
          () => exporter.getFinishedSpans().some((s) => s.name === `${topic} process`),
          'the consumer span',
        );

        expect(activeTraceIds).to.deep.equal([traceId]);
        const consumerSpan = exporter.getFinishedSpans().find((s) => s.name === `${topic} process`)!;
        expect(consumerSpan.kind).to.equal(SpanKind.CONSUMER);
        expect(consumerSpan.spanContext().traceId).to.equal(traceId);
        const producerSpan = exporter.getFinishedSpans().find((s) => s.name === `${topic} publish`)!;
        expect(producerSpan.kind).to.equal(SpanKind.PRODUCER);
        expect(consumerSpan.parentSpanContext?.spanId).to.equal(producerSpan.spanContext().spanId);
      });
    });

    it('when a subscription is closed, then it receives nothing more', async function () {
      const received: string[] = [];
      const sub = await bus.subscribe({
        topic,
        group: 'g1',
        ...FAST,
        handler: (e) => void received.push(e.id),
      });
      await bus.publish(topic, { type: 't', data: 1 });
      await eventually(() => received.length === 1, 'first delivery');
      await sub.close();
      await bus.publish(topic, { type: 't', data: 2 });
      await sleep(QUIET_MS); // nothing may arrive: a fixed wait only weakens this on a slow machine
      expect(received).to.have.length(1);
    });

    it('when the bus is closed, then its subscriptions stop and publishing fails', async function () {
      const received = await collect({ group: 'g1' });
      await bus.close();
      const other = await newBus();
      await other.publish(topic, { type: 't', data: 1 });
      await sleep(QUIET_MS); // nothing may arrive: a fixed wait only weakens this on a slow machine
      expect(received).to.have.length(0);
      let failure: unknown;
      await bus.publish(topic, { type: 't', data: 2 }).catch((err: unknown) => (failure = err));
      expect(failure).to.be.instanceOf(Error);
    });

    it('when subscribe options are invalid, then subscribe rejects naming the option', async function () {
      let failure: unknown;
      await bus
        .subscribe({ topic, group: 'g1', maxDeliveries: 0, handler: () => undefined })
        .catch((err: unknown) => (failure = err));
      expect(failure).to.be.instanceOf(TypeError);
      expect((failure as Error).message).to.include('maxDeliveries');
    });

    it('when two buses share a registry, then both count into the same metrics', async function () {
      const other = await newBus();
      await bus.publish(topic, { type: 't', data: 1 });
      await other.publish(topic, { type: 't', data: 2 });
      expect(await registry.getSingleMetricAsString('events_published_total')).to.include(
        `topic="${topic}"} 2`,
      );
    });
  });
}
