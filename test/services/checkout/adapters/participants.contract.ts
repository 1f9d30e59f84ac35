import { expect } from 'chai';
import {
  ParticipantError,
  type CallOptions,
  type Participants,
} from '../../../../services/checkout/src/adapters/participants.ts';
import type { InMemoryParticipants } from '../../../../services/checkout/src/adapters/in-memory-participants.ts';
import { rejectionOf } from '../../../support/rejection.ts';

export interface ParticipantsHarness {
  /** The port under test. */
  readonly participants: Participants;
  /** The simulated state behind it (the twin itself, or the one the fake upstream servers serve). */
  readonly sim: InMemoryParticipants;
  close(): Promise<void>;
}

const o = (key = 'k-1'): CallOptions => ({ idempotencyKey: key });
const lines = [{ productId: 'p1', name: 'Lamp', unitPriceCents: 1500, quantity: 2 }];

/** The Participants port: what the saga relies on, for the twin and for the HTTP adapter alike. */
export function participantsContract(name: string, make: () => Promise<ParticipantsHarness>): void {
  describe(`Participants contract: ${name}`, () => {
    let h: ParticipantsHarness;
    let p: Participants;
    beforeEach(async () => {
      h = await make();
      p = h.participants;
      h.sim.setStock('p1', 3);
      h.sim.setStock('p2', 0);
    });
    afterEach(async () => h.close());

    it('when an order is placed twice with the same id, then one PENDING order exists', async () => {
      const input = { orderId: 'o-1', userId: 'u', items: lines, currency: 'USD' };
      const first = await p.orders.place(input, o());
      const again = await p.orders.place(input, o());
      expect(first).to.include({ id: 'o-1', status: 'PENDING' });
      expect(again.id).to.equal('o-1');
      expect(h.sim.orderStore.size).to.equal(1);
    });

    it('when an order is confirmed before stock and payment, then the refusal is a business failure', async () => {
      await p.orders.place({ orderId: 'o-1', userId: 'u', items: lines, currency: 'USD' }, o());
      const err = await rejectionOf(p.orders.confirm({ orderId: 'o-1' }, o()), ParticipantError);
      expect(err).to.include({ kind: 'business', code: 'invalid-transition' });
    });

    it('when an order is cancelled with a reason, then it is CANCELLED with that reason, and again is fine', async () => {
      await p.orders.place({ orderId: 'o-1', userId: 'u', items: lines, currency: 'USD' }, o());
      await p.orders.cancel({ orderId: 'o-1', reason: 'out of stock: p2' }, o());
      const again = await p.orders.cancel({ orderId: 'o-1', reason: 'out of stock: p2' }, o());
      expect(again.status).to.equal('CANCELLED');
      expect(h.sim.orderStore.get('o-1')?.reason).to.equal('out of stock: p2');
    });

    it('when an unknown order is cancelled, then the failure is business not-found', async () => {
      const err = await rejectionOf(p.orders.cancel({ orderId: 'nope', reason: 'x' }, o()), ParticipantError);
      expect(err).to.include({ kind: 'business', code: 'not-found' });
    });

    it('when stock is reserved twice with one reservation id, then it is held once', async () => {
      const input = { reservationId: 'r-1', orderId: 'o-1', items: [{ productId: 'p1', quantity: 2 }] };
      expect(await p.inventory.reserve(input, o())).to.include({ id: 'r-1', status: 'HELD' });
      await p.inventory.reserve(input, o());
      expect(h.sim.stock.get('p1')).to.deep.equal({ available: 1, reserved: 2 });
    });

    it('when an item is short, then the failure is business out-of-stock naming the product, and nothing is held', async () => {
      const err = await rejectionOf(
        p.inventory.reserve(
          {
            reservationId: 'r-1',
            orderId: 'o-1',
            items: [
              { productId: 'p1', quantity: 1 },
              { productId: 'p2', quantity: 1 },
            ],
          },
          o(),
        ),
        ParticipantError,
      );
      expect(err).to.include({ kind: 'business', code: 'out-of-stock', message: 'out of stock: p2' });
      expect(h.sim.stock.get('p1')).to.deep.equal({ available: 3, reserved: 0 });
    });

    it('when a reservation is released or committed, then stock follows, and an unknown one is not-found', async () => {
      await p.inventory.reserve(
        { reservationId: 'r-1', orderId: 'o', items: [{ productId: 'p1', quantity: 1 }] },
        o(),
      );
      await p.inventory.reserve(
        { reservationId: 'r-2', orderId: 'o', items: [{ productId: 'p1', quantity: 1 }] },
        o(),
      );
      expect(await p.inventory.release({ reservationId: 'r-1' }, o())).to.include({ status: 'RELEASED' });
      expect(await p.inventory.commit({ reservationId: 'r-2' }, o())).to.include({ status: 'COMMITTED' });
      expect(h.sim.stock.get('p1')).to.deep.equal({ available: 2, reserved: 0 });
      const err = await rejectionOf(p.inventory.release({ reservationId: 'r-9' }, o()), ParticipantError);
      expect(err).to.include({ kind: 'business', code: 'not-found' });
      const committed = await rejectionOf(
        p.inventory.release({ reservationId: 'r-2' }, o()),
        ParticipantError,
      );
      expect(committed).to.include({ kind: 'business', code: 'reservation-committed' });
    });

    it('when a good card is authorized twice with one key, then one payment exists, and it can be captured', async () => {
      const input = { orderId: 'o-1', amountCents: 3000, currency: 'USD', paymentToken: 'tok_visa' };
      const first = await p.payments.authorize(input, o('pay-key'));
      const again = await p.payments.authorize(input, o('pay-key'));
      expect(again.id).to.equal(first.id);
      expect(first.status).to.equal('AUTHORIZED');
      expect(h.sim.calls.at(-1)?.key).to.equal('pay-key');
      expect(await p.payments.capture({ paymentId: first.id }, o('cap'))).to.include({ status: 'CAPTURED' });
    });

    it('when the card is declined, then the failure is business with the provider reason', async () => {
      const input = { orderId: 'o-1', amountCents: 3000, currency: 'USD', paymentToken: 'tok_decline' };
      const err = await rejectionOf(p.payments.authorize(input, o()), ParticipantError);
      expect(err).to.include({
        kind: 'business',
        code: 'payment-declined',
        message: 'payment declined: card_declined',
      });
    });

    it('when the token is unknown, then the failure is business invalid-payment-token', async () => {
      const input = { orderId: 'o-1', amountCents: 3000, currency: 'USD', paymentToken: 'tok_nope' };
      const err = await rejectionOf(p.payments.authorize(input, o()), ParticipantError);
      expect(err).to.include({ kind: 'business', code: 'invalid-payment-token' });
    });

    it('when an authorization is voided without its id, then the order’s authorized payments are voided', async () => {
      const input = { orderId: 'o-1', amountCents: 3000, currency: 'USD', paymentToken: 'tok_visa' };
      const payment = await p.payments.authorize(input, o('a'));
      const result = await p.payments.voidAuthorization({ orderId: 'o-1' }, o('v'));
      expect(result.voided).to.deep.equal([payment.id]);
      expect(h.sim.paymentsOf('o-1').map((x) => x.status)).to.deep.equal(['VOIDED']);
      const again = await p.payments.voidAuthorization({ orderId: 'o-1', paymentId: payment.id }, o('v2'));
      expect(again.voided).to.deep.equal([payment.id]);
    });

    it('when a participant is unavailable, then the failure is transient', async () => {
      h.sim.failNext('orders.place', 1);
      const err = await rejectionOf(
        p.orders.place({ orderId: 'o-1', userId: 'u', items: lines, currency: 'USD' }, o()),
        ParticipantError,
      );
      expect(err.kind).to.equal('transient');
      expect(h.sim.orderStore.size).to.equal(0);
    });

    it('when a cart is read and what the order bought is taken out, then its lines come back as order lines and then it is empty', async () => {
      h.sim.setCart('u', lines);
      const cart = await p.cart.get({ userId: 'u' }, o());
      expect(cart.items).to.deep.equal(lines);
      expect(cart.totalCents).to.equal(3000);
      const bought = { userId: 'u', orderId: 'o-1', items: cart.items };
      expect(await p.cart.removeBought(bought, o())).to.deep.equal({ removed: true });
      expect((await p.cart.get({ userId: 'u' }, o())).items).to.deep.equal([]);
      // Lines put after the order stay when the call is repeated (a retry).
      h.sim.setCart('u', lines);
      expect(await p.cart.removeBought(bought, o())).to.deep.equal({ removed: false });
      expect((await p.cart.get({ userId: 'u' }, o())).items).to.deep.equal(lines);
    });
  });
}
