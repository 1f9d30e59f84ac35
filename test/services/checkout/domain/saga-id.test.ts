import { expect } from 'chai';
import { sagaIdFor } from '../../../../services/checkout/src/domain/checkout-service.ts';

describe('sagaIdFor', () => {
  it('when given an idempotency key, then the same key always names the same saga and another key another one', () => {
    const id = sagaIdFor('alice:7c1b');
    expect(id).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(sagaIdFor('alice:7c1b')).to.equal(id);
    expect(sagaIdFor('bob:7c1b')).to.not.equal(id);
  });
});
