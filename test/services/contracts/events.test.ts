import { expect } from 'chai';
import { catalogue, TOPICS } from '@meshmart/catalogue';
import { InMemoryEventBus, type DeadLetter } from '@meshmart/kit/events';
import { events, OrderPlaced, UserAction } from '@meshmart/contracts';
import { eventually } from '../../support/stores.ts';

const placed = {
  orderId: 'o-1',
  userId: 'alice',
  orderVersion: 1,
  items: [{ productId: 'p-1', name: 'Lamp', unitPriceCents: 1999, quantity: 2 }],
  totalCents: 3998,
  currency: 'USD',
};

describe('event contracts', () => {
  it('when the schemas are listed, then every topic they use is in the catalogue and has a publisher', () => {
    for (const schema of events.schemas) {
      expect(TOPICS).to.include(schema.topic);
      const publishers = catalogue.filter((s) => (s.publishes as readonly string[]).includes(schema.topic));
      expect(publishers, `${schema.type} on ${schema.topic}`).to.not.be.empty;
    }
  });

  it('when every topic is checked, then each has at least one schema (no topic without a contract)', () => {
    for (const topic of TOPICS)
      expect(
        events.schemas.some((s) => s.topic === topic),
        topic,
      ).to.equal(true);
  });

  it('when a valid event is checked, then it passes; with a wrong field type, the reason names the field', () => {
    expect(events.problem(OrderPlaced.topic, { type: 'OrderPlaced', data: placed })).to.equal(undefined);
    const problem = events.problem('orders.events', {
      type: 'OrderPlaced',
      data: { ...placed, totalCents: 'lots' },
    });
    expect(problem).to.match(/OrderPlaced v1 failed validation: \/totalCents/);
  });

  it('when a publisher writes an invalid event, then assertValid refuses it', () => {
    expect(() =>
      events.assertValid(UserAction.topic, { type: 'UserAction', data: { actor: 'alice' } }),
    ).to.throw(/refusing to publish: UserAction v1 failed validation/);
  });

  it('when a time field is not an ISO instant, then the event is invalid', () => {
    const data = {
      actor: 'alice',
      action: 'checkout',
      resource: 'order/o-1',
      method: 'POST',
      path: '/api/v1/checkout',
      status: 202,
      at: 'yesterday',
    };
    expect(events.problem(UserAction.topic, { type: 'UserAction', data })).to.match(/\/at/);
    expect(
      events.problem(UserAction.topic, {
        type: 'UserAction',
        data: { ...data, at: new Date().toISOString() },
      }),
    ).to.be.undefined;
  });

  describe('a validated consumer', () => {
    let bus: InMemoryEventBus;
    beforeEach(() => (bus = new InMemoryEventBus({ source: 'orders' })));
    afterEach(() => bus.close());

    const deadLetters = async (n: number): Promise<DeadLetter[]> => {
      let found: DeadLetter[] = [];
      await eventually(
        async () => (found = await bus.deadLetters('orders.events')).length >= n,
        `${n} dead letters`,
      );
      return found;
    };

    it('when a message has an unknown version, then it is dead-lettered at once with the reason and not handled', async () => {
      const handled: unknown[] = [];
      await bus.subscribe({
        topic: 'orders.events',
        group: 'audit',
        handler: events.validated((e) => void handled.push(e)),
        retryDelayMs: 10,
      });
      await bus.publish('orders.events', { type: 'OrderPlaced', version: 9, data: placed });
      const [letter] = await deadLetters(1);
      expect(letter.reason).to.equal('unknown version 9 of OrderPlaced on orders.events (known: v1)');
      expect(letter.attempts).to.equal(1);
      expect(handled).to.have.length(0);
    });

    it('when a message fails validation or has an unknown type, then both are dead-lettered and valid ones handled', async () => {
      const handled: string[] = [];
      await bus.subscribe({
        topic: 'orders.events',
        group: 'audit',
        handler: events.validated((e) => void handled.push(e.type)),
        retryDelayMs: 10,
      });
      await bus.publish('orders.events', { type: 'OrderPlaced', data: { ...placed, items: [] } });
      await bus.publish('orders.events', { type: 'OrderShipped', data: {} });
      await bus.publish('orders.events', { type: 'OrderPlaced', data: placed });
      const letters = await deadLetters(2);
      expect(letters.map((l) => l.reason)).to.have.members([
        'OrderPlaced v1 failed validation: /items Expected array length to be greater or equal to 1',
        'unknown event type OrderShipped on orders.events',
      ]);
      await eventually(() => handled.length === 1, 'the valid event to be handled');
    });
  });
});
