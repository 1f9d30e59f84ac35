import { InMemorySagaRepository } from '../../../../services/checkout/src/adapters/in-memory-saga-repository.ts';
import { MongoSagaRepository } from '../../../../services/checkout/src/adapters/mongo-saga-repository.ts';
import { testMongo } from '../../../support/stores.ts';
import { sagaRepositoryContract } from './saga-repository.contract.ts';

sagaRepositoryContract('in-memory twin', () =>
  Promise.resolve({
    repository: new InMemorySagaRepository<{ n: number }>(),
    close: () => Promise.resolve(),
  }),
);

sagaRepositoryContract('MongoDB (FerretDB)', async () => {
  const mongo = await testMongo('checkout');
  return { repository: new MongoSagaRepository<{ n: number }>(mongo.db), close: () => mongo.close() };
});
