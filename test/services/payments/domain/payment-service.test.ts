import { expect } from 'chai';
import { AppError } from '@meshmart/kit';
import { InMemoryPaymentRepository } from '../../../../services/payments/src/adapters/in-memory-payment-repository.ts';
import { MongoPaymentRepository } from '../../../../services/payments/src/adapters/mongo-payment-repository.ts';
import type { PaymentRepository } from '../../../../services/payments/src/adapters/payment-repository.ts';
import type {
  AuthorizationRequest,
  AuthorizationResult,
  PaymentProvider,
} from '../../../../services/payments/src/adapters/payment-provider.ts';
import { SimulatedPaymentProvider } from '../../../../services/payments/src/adapters/simulated-payment-provider.ts';
import { PaymentService, paymentIdFor } from '../../../../services/payments/src/domain/payment-service.ts';
import { eachBackend, testMongo, type TestMongo } from '../../../support/stores.ts';
import { rejectionOf } from '../../../support/rejection.ts';

/** The simulated provider, counting the authorizations it was asked for. */
class CountingProvider implements PaymentProvider {
  authorizations = 0;
  private readonly inner = new SimulatedPaymentProvider();
  authorize(request: AuthorizationRequest): Promise<AuthorizationResult> {
    this.authorizations++;
    return this.inner.authorize(request);
  }
  capture(): Promise<void> {
    return this.inner.capture();
  }
  void(): Promise<void> {
    return this.inner.void();
  }
  refund(): Promise<void> {
    return this.inner.refund();
  }
}

const ORDER = { orderId: 'order-7', amountCents: 4200, currency: 'USD', paymentToken: 'tok_visa' };

eachBackend('payments: an authorization run again for the same request', (backend) => {
  let mongo: TestMongo | undefined;
  let repository: PaymentRepository;
  let provider: CountingProvider;
  let payments: PaymentService;

  beforeEach(async () => {
    if (backend === 'real') {
      mongo = await testMongo('payment_service');
      const repo = new MongoPaymentRepository(mongo.db);
      await repo.ensureIndexes();
      repository = repo;
    } else {
      repository = new InMemoryPaymentRepository();
    }
    provider = new CountingProvider();
    payments = new PaymentService({ repository, provider });
  });
  afterEach(async () => {
    await mongo?.close();
    mongo = undefined;
  });

  it('when the same request (order and Idempotency-Key) runs twice, then the second answers with the first payment and the card is authorized once', async () => {
    const first = await payments.authorize(ORDER, undefined, 'key-a');
    const again = await payments.authorize(ORDER, undefined, 'key-a');
    expect(again.id).to.equal(first.id);
    expect(first.id).to.equal(paymentIdFor(ORDER.orderId, 'key-a'));
    expect(provider.authorizations).to.equal(1);
    expect(await repository.findByOrder(ORDER.orderId)).to.have.length(1);
  });

  it('when two runs of one request write at once, then one payment is stored and both answer with it', async () => {
    const [a, b] = await Promise.all([
      payments.authorize(ORDER, undefined, 'key-b'),
      payments.authorize(ORDER, undefined, 'key-b'),
    ]);
    expect(a.id).to.equal(b.id);
    expect(await repository.findByOrder(ORDER.orderId)).to.have.length(1);
  });

  it('when a declined request runs again, then it is declined again with the same payment and the card is not asked twice', async () => {
    const declined = { ...ORDER, paymentToken: 'tok_decline' };
    const first = await rejectionOf(payments.authorize(declined, undefined, 'key-c'), AppError);
    const again = await rejectionOf(payments.authorize(declined, undefined, 'key-c'), AppError);
    expect(first.status).to.equal(402);
    expect(again.status).to.equal(402);
    expect(again.extensions?.paymentId).to.equal(first.extensions?.paymentId);
    expect(provider.authorizations).to.equal(1);
  });

  it('when the key comes back with another amount, then 422 idempotency-key-reused and nothing new is stored', async () => {
    await payments.authorize(ORDER, undefined, 'key-d');
    const err = await rejectionOf(
      payments.authorize({ ...ORDER, amountCents: 1 }, undefined, 'key-d'),
      AppError,
    );
    expect(err.status).to.equal(422);
    expect(err.code).to.equal('idempotency-key-reused');
    expect(await repository.findByOrder(ORDER.orderId)).to.have.length(1);
  });

  it("when the key's first run authorizes, then no payment is read first; and one stored before (its key forgotten) still answers the run", async () => {
    let reads = 0;
    const get = repository.get.bind(repository);
    repository.get = (id) => {
      reads++;
      return get(id);
    };
    const first = await payments.authorize(ORDER, undefined, 'key-g', { firstRun: true });
    expect(reads, 'reads before the first run').to.equal(0);
    expect(provider.authorizations).to.equal(1);
    // The key forgotten (purged after the retention) and the request sent again: a first run as far as the key knows.
    const again = await payments.authorize(ORDER, undefined, 'key-g', { firstRun: true });
    expect(again.id).to.equal(first.id);
    expect(again.status).to.equal('AUTHORIZED');
    expect(await repository.findByOrder(ORDER.orderId)).to.have.length(1);
  });

  it('when different keys (different requests) authorize one order, then each is a payment of its own', async () => {
    const a = await payments.authorize(ORDER, undefined, 'key-e');
    const b = await payments.authorize(ORDER, undefined, 'key-f');
    expect(a.id).to.not.equal(b.id);
    expect(await repository.findByOrder(ORDER.orderId)).to.have.length(2);
  });
});
