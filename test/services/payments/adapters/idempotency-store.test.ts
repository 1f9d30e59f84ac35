import { InMemoryIdempotencyStore } from '../../../../services/payments/src/adapters/in-memory-idempotency-store.ts';
import { MongoIdempotencyStore } from '../../../../services/payments/src/adapters/mongo-idempotency-store.ts';
import { testMongo } from '../../../support/stores.ts';
import { idempotencyStoreContract } from './idempotency-store.contract.ts';

describe('idempotency store [memory]', () => {
  idempotencyStoreContract(() =>
    Promise.resolve({ store: new InMemoryIdempotencyStore(), close: () => Promise.resolve() }),
  );
});

describe('idempotency store [real]', () => {
  idempotencyStoreContract(async () => {
    const mongo = await testMongo('payments_idem');
    const store = new MongoIdempotencyStore(mongo.db);
    await store.ensureIndexes();
    return { store, close: () => mongo.close() };
  });
});
