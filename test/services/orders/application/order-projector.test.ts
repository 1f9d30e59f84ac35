import { expect } from 'chai';
import { createEnvelope, type EventEnvelope } from '@meshmart/kit/events';
import { events as contracts } from '@meshmart/contracts';
import { OrderProjector } from '../../../../services/orders/src/application/order-projector.ts';
import { OrderService } from '../../../../services/orders/src/application/order-service.ts';
import { eachBackend } from '../../../support/stores.ts';
import { openHarness, settled, type Harness } from '../harness.ts';

const items = [{ productId: 'p-1', name: 'Lamp', unitPriceCents: 1500, quantity: 2 }];

eachBackend('order projector', (backend) => {
  let h: Harness;
  let service: OrderService;
  afterEach(async function () {
    await h.close();
  });

  async function placeAndConfirm(orderId: string, userId = 'alice'): Promise<void> {
    await service.execute(orderId, { kind: 'place', orderId, userId, items, currency: 'USD' });
    await service.execute(orderId, { kind: 'reserve-stock', reservationId: `r-${orderId}` });
    await service.execute(orderId, { kind: 'confirm' });
  }

  const viewVersion = async (orderId: string) => (await h.views.get(orderId))?.version ?? 0;

  describe('when commands append events', () => {
    beforeEach(async function () {
      h = await openHarness(backend);
      service = new OrderService({ store: h.store, views: h.views, onAppended: () => h.relay.nudge() });
    });

    it('then the events reach the read model through the outbox and the bus', async function () {
      await placeAndConfirm('o-1');
      await settled(async () => (await viewVersion('o-1')) === 3, 'the read model at version 3');
      const view = await h.views.get('o-1');
      const folded = (await service.execute('o-1', { kind: 'confirm' })).order;
      expect(view).to.deep.equal(folded);
      expect(view).to.deep.include({ status: 'CONFIRMED', reservationId: 'r-o-1' });
      await settled(async () => (await h.store.outbox.pending(10)).length === 0, 'an empty outbox');
    });

    it('then each stored event is published once on orders.events, valid against its contract, with the stored id', async function () {
      const seen: EventEnvelope[] = [];
      const observer = await h.bus.subscribe({
        topic: 'orders.events',
        group: 'test-observer',
        handler: (e) => void seen.push(e),
      });
      try {
        await placeAndConfirm('o-1');
        await settled(() => seen.length >= 3, 'three published events');
        const stored = await h.store.load('o-1');
        // The relay keeps order within a document, not across an order's event documents: compare as sets.
        expect(seen.map((e) => e.id)).to.have.members(stored.map((e) => e.id));
        expect(seen.map((e) => e.type)).to.deep.equal([
          'OrderPlaced',
          'OrderStockReserved',
          'OrderConfirmed',
        ]);
        for (const e of seen) {
          expect(contracts.problem(e.topic, e)).to.equal(undefined);
          expect(e.source).to.equal('orders');
        }
        expect(seen.map((e) => (e.data as { orderVersion: number }).orderVersion)).to.have.members([1, 2, 3]);
      } finally {
        await observer.close();
      }
    });
  });

  describe('when events are delivered twice or out of order', () => {
    let envelopes: EventEnvelope[];
    beforeEach(async function () {
      h = await openHarness(backend, { project: false, relay: false });
      service = new OrderService({ store: h.store, views: h.views });
      await placeAndConfirm('o-1');
      const stored = await h.store.load('o-1');
      envelopes = stored.map((e) =>
        createEnvelope(
          'orders.events',
          { id: e.id, type: e.type, occurredAt: e.occurredAt, data: e.data },
          'orders',
        ),
      );
    });

    it('then a duplicate is applied once and an older event is skipped', async function () {
      expect(await h.projector.handle(envelopes[0])).to.equal('applied');
      expect(await h.projector.handle(envelopes[0])).to.equal('skipped');
      expect(await h.projector.handle(envelopes[1])).to.equal('applied');
      expect(await h.projector.handle(envelopes[0])).to.equal('skipped');
      const view = await h.views.get('o-1');
      expect(view?.version).to.equal(2);
      expect(view?.history.map((e) => e.version)).to.deep.equal([1, 2]);
    });

    it('then events applied one after another from the first never read the read model, and another writer’s newer view is never overwritten', async function () {
      let reads = 0;
      const views = Object.assign(Object.create(h.views) as typeof h.views, {
        get: (id: string) => {
          reads++;
          return h.views.get(id);
        },
      });
      const projector = new OrderProjector({ store: h.store, views });
      for (const e of envelopes.slice(0, 2)) expect(await projector.handle(e)).to.equal('applied');
      expect(reads).to.equal(0);
      // A projector that starts mid-order (a restart) reads the view once.
      const restarted = new OrderProjector({ store: h.store, views });
      expect(await restarted.handle(envelopes[1])).to.equal('skipped');
      expect(reads).to.equal(1);
      // Another replica wrote a later view; this projector still remembers version 2 and applies event 3 to it.
      const newer = { ...(await h.views.get('o-1'))!, version: 9, status: 'CANCELLED' as const };
      await h.views.put(newer);
      expect(await projector.handle(envelopes[2])).to.equal('skipped');
      expect(await h.views.get('o-1')).to.deep.include({ version: 9, status: 'CANCELLED' });
    });

    it('then an event ahead of the read model makes the projector refold the order from the store', async function () {
      expect(await h.projector.handle(envelopes[2])).to.equal('refolded');
      expect(await h.projector.handle(envelopes[0])).to.equal('skipped');
      expect(await h.projector.handle(envelopes[1])).to.equal('skipped');
      expect(await h.views.get('o-1')).to.deep.include({ version: 3, status: 'CONFIRMED' });
    });

    it('then the same event published twice on the bus reaches the read model once', async function () {
      await h.startProjector();
      await h.bus.publish('orders.events', envelopes[0]);
      await h.bus.publish('orders.events', envelopes[0]);
      await h.bus.publish('orders.events', envelopes[1]);
      await settled(async () => (await viewVersion('o-1')) === 2, 'the read model at version 2');
      // A last event through the same stream: once it is in, every earlier delivery has been handled.
      await h.bus.publish('orders.events', envelopes[2]);
      await settled(async () => (await viewVersion('o-1')) === 3, 'the read model at version 3');
      const view = await h.views.get('o-1');
      expect(view?.history.map((e) => e.type)).to.deep.equal([
        'OrderPlaced',
        'OrderStockReserved',
        'OrderConfirmed',
      ]);
    });
  });

  describe('when the read model is corrupted or deleted and then rebuilt', () => {
    beforeEach(async function () {
      h = await openHarness(backend);
      service = new OrderService({ store: h.store, views: h.views, onAppended: () => h.relay.nudge() });
    });

    it('then the list equals what it was before', async function () {
      await placeAndConfirm('o-1', 'alice');
      await service.execute('o-2', { kind: 'place', orderId: 'o-2', userId: 'bob', items, currency: 'USD' });
      await service.execute('o-2', { kind: 'cancel', reason: 'changed my mind' });
      await settled(
        async () => (await viewVersion('o-1')) === 3 && (await viewVersion('o-2')) === 2,
        'both orders projected',
      );
      const before = await h.views.list({ page: 1, limit: 10 });
      const o1 = (await h.views.get('o-1'))!;
      await h.views.clear();
      await h.views.put({ ...o1, version: 99, status: 'CANCELLED', totalCents: 1 });
      expect(await h.projector.rebuild()).to.deep.equal({ orders: 2, events: 5 });
      expect(await h.views.list({ page: 1, limit: 10 })).to.deep.equal(before);
    });
  });
});
