import { expect } from 'chai';
import { AppError } from '@meshmart/kit';
import {
  authorized,
  capture,
  declined,
  refund,
  voidAuthorization,
  type Payment,
} from '../../../../services/payments/src/domain/payment.ts';

const AT = '2026-01-01T00:00:00.000Z';
const LATER = '2026-01-01T00:01:00.000Z';
const input = { id: 'p1', orderId: 'o1', amountCents: 1000, currency: 'USD', at: AT };

function expectError(fn: () => unknown, status: number, code: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(AppError);
    expect((err as AppError).status).to.equal(status);
    expect((err as AppError).code).to.equal(code);
    return;
  }
  expect.fail(`expected ${code}`);
}

describe('payment (domain)', () => {
  const auth: Payment = authorized(input).next;

  describe('when an authorization is approved', () => {
    it('then the payment is AUTHORIZED at version 1 with a PaymentAuthorized event', () => {
      const { next, event } = authorized(input);
      expect(next).to.include({ status: 'AUTHORIZED', capturedCents: 0, refundedCents: 0, version: 1 });
      expect(event).to.deep.equal({
        type: 'PaymentAuthorized',
        data: { paymentId: 'p1', orderId: 'o1', amountCents: 1000, currency: 'USD' },
      });
    });
  });

  describe('when an authorization is declined', () => {
    it('then the payment is DECLINED with the reason, and nothing can follow', () => {
      const { next, event } = declined(input, 'card_declined');
      expect(next).to.include({ status: 'DECLINED', declineReason: 'card_declined' });
      expect(event.type).to.equal('PaymentDeclined');
      expect(event.data.reason).to.equal('card_declined');
      expectError(() => capture(next, LATER), 409, 'invalid-transition');
      expectError(() => voidAuthorization(next, LATER), 409, 'invalid-transition');
      expectError(() => refund(next, LATER), 409, 'invalid-transition');
    });
  });

  describe('when an authorized payment is captured', () => {
    it('then by default all of it is captured', () => {
      const { next, event } = capture(auth, LATER);
      expect(next).to.include({ status: 'CAPTURED', capturedCents: 1000, version: 2, updatedAt: LATER });
      expect(next.history.map((h) => h.status)).to.deep.equal(['AUTHORIZED', 'CAPTURED']);
      expect(event).to.deep.include({ type: 'PaymentCaptured' });
      expect(event.data.amountCents).to.equal(1000);
    });

    it('then a smaller amount captures only that', () => {
      expect(capture(auth, LATER, 400).next.capturedCents).to.equal(400);
    });

    it('then more than authorized is refused', () => {
      expectError(() => capture(auth, LATER, 1001), 409, 'amount-exceeds-authorized');
    });
  });

  describe('when an authorized payment is voided', () => {
    it('then it is VOIDED and can be neither captured nor refunded', () => {
      const { next, event } = voidAuthorization(auth, LATER);
      expect(next.status).to.equal('VOIDED');
      expect(event.type).to.equal('PaymentVoided');
      expectError(() => capture(next, LATER), 409, 'invalid-transition');
      expectError(() => refund(next, LATER), 409, 'invalid-transition');
      expectError(() => voidAuthorization(next, LATER), 409, 'invalid-transition');
    });
  });

  describe('when a captured payment is refunded', () => {
    const captured = capture(auth, LATER, 800).next;

    it('then part of it makes PARTIALLY_REFUNDED and the rest makes REFUNDED', () => {
      const part = refund(captured, LATER, 300);
      expect(part.next).to.include({ status: 'PARTIALLY_REFUNDED', refundedCents: 300 });
      expect(part.event.data.amountCents).to.equal(300);
      const rest = refund(part.next, LATER);
      expect(rest.next).to.include({ status: 'REFUNDED', refundedCents: 800 });
      expect(rest.event.data.amountCents).to.equal(500);
      expectError(() => refund(rest.next, LATER, 1), 409, 'invalid-transition');
    });

    it('then more than captured is refused', () => {
      expectError(() => refund(captured, LATER, 801), 409, 'amount-exceeds-captured');
    });

    it('then it can no longer be voided or captured again', () => {
      expectError(() => voidAuthorization(captured, LATER), 409, 'invalid-transition');
      expectError(() => capture(captured, LATER), 409, 'invalid-transition');
    });
  });
});
