import { expect } from 'chai';
import { AppError } from '@meshmart/kit';
import { InMemoryIdempotencyStore } from '../../../../services/payments/src/adapters/in-memory-idempotency-store.ts';
import { Idempotency, requestHash } from '../../../../services/payments/src/domain/idempotency.ts';

const request = {
  key: 'k',
  operation: 'capture /payments/p1',
  body: { amountCents: 5 },
  instance: '/payments/p1',
};

describe('idempotency (domain)', () => {
  describe('when a request body differs only in key order', () => {
    it('then its hash is the same', () => {
      expect(requestHash('op', { a: 1, b: { c: 2, d: 3 } })).to.equal(
        requestHash('op', { b: { d: 3, c: 2 }, a: 1 }),
      );
      expect(requestHash('op', { a: 1 })).not.to.equal(requestHash('op', { a: 2 }));
      expect(requestHash('op', { a: 1 })).not.to.equal(requestHash('other', { a: 1 }));
    });
  });

  describe('when the request fails with a client error', () => {
    it('then the problem is kept and replayed without running again', async () => {
      const idem = new Idempotency({ store: new InMemoryIdempotencyStore() });
      let runs = 0;
      const fail = () => {
        runs++;
        return Promise.reject(new AppError(409, 'invalid-transition', 'no'));
      };
      const first = await idem.run(request, fail);
      const again = await idem.run(request, fail);
      expect(runs).to.equal(1);
      expect(first.response.status).to.equal(409);
      expect(again).to.deep.equal({ response: first.response, replayed: true });
      expect(first.response.body).to.include({
        type: '/problems/invalid-transition',
        instance: '/payments/p1',
      });
    });
  });

  for (const [what, error] of [
    ['a server error', new AppError(503, 'provider-unavailable', 'down')],
    ['a version conflict', new AppError(409, 'version-conflict', 'busy')],
    ['an unexpected error', new Error('boom')],
  ] as const) {
    describe(`when the request fails with ${what}`, () => {
      it('then nothing is kept and a retry with the same key runs again', async () => {
        const store = new InMemoryIdempotencyStore();
        const idem = new Idempotency({ store });
        let failed: unknown;
        await idem.run(request, () => Promise.reject(error)).catch((err: unknown) => (failed = err));
        expect(failed).to.equal(error);
        expect(store.size).to.equal(0);
        const retry = await idem.run(request, () => Promise.resolve({ status: 200, body: { ok: true } }));
        expect(retry).to.deep.equal({ response: { status: 200, body: { ok: true } }, replayed: false });
      });
    });
  }
});
