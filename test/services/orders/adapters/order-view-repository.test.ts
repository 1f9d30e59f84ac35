import { InMemoryOrderViewRepository } from '../../../../services/orders/src/adapters/in-memory-order-view-repository.ts';
import { MongoOrderViewRepository } from '../../../../services/orders/src/adapters/mongo-order-view-repository.ts';
import { testMongo } from '../../../support/stores.ts';
import { orderViewRepositoryContract } from './order-view-repository.contract.ts';

orderViewRepositoryContract('in-memory', () =>
  Promise.resolve({ views: new InMemoryOrderViewRepository(), close: () => Promise.resolve() }),
);

orderViewRepositoryContract('MongoDB (FerretDB)', async () => {
  const mongo = await testMongo('orders');
  const views = new MongoOrderViewRepository(mongo.db);
  await views.ensureIndexes();
  return { views, close: () => mongo.close() };
});
