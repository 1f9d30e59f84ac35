import { InMemoryPaymentRepository } from '../../../../services/payments/src/adapters/in-memory-payment-repository.ts';
import { MongoPaymentRepository } from '../../../../services/payments/src/adapters/mongo-payment-repository.ts';
import { testMongo } from '../../../support/stores.ts';
import { paymentRepositoryContract } from './payment-repository.contract.ts';

describe('payment repository [memory]', () => {
  paymentRepositoryContract(() =>
    Promise.resolve({ repo: new InMemoryPaymentRepository(), close: () => Promise.resolve() }),
  );
});

describe('payment repository [real]', () => {
  paymentRepositoryContract(async () => {
    const mongo = await testMongo('payments_repo');
    const repo = new MongoPaymentRepository(mongo.db);
    await repo.ensureIndexes();
    return { repo, close: () => mongo.close() };
  });
});
