import { InMemoryOutboxStore } from '@meshmart/kit/events';
import { InMemoryStockRepository } from '../../../../services/inventory/src/adapters/in-memory-stock-repository.ts';
import { MongoStockRepository } from '../../../../services/inventory/src/adapters/mongo-stock-repository.ts';
import { testMongo } from '../../../support/stores.ts';
import { stockRepositoryContract } from './stock-repository.contract.ts';

stockRepositoryContract('in-memory twin', () =>
  Promise.resolve({
    repo: new InMemoryStockRepository(new InMemoryOutboxStore()),
    close: () => Promise.resolve(),
  }),
);

stockRepositoryContract('MongoDB (FerretDB)', async () => {
  const mongo = await testMongo('inventory_stock');
  const repo = new MongoStockRepository(mongo.db);
  await repo.ensureIndexes();
  return { repo, close: () => mongo.close() };
});
