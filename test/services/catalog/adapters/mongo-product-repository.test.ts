import { expect } from 'chai';
import { MongoClient } from 'mongodb';
import { MongoProductRepository } from '../../../../services/catalog/src/adapters/mongo-product-repository.ts';
import { testMongo, type TestMongo } from '../../../support/stores.ts';
import { testenv } from '../../../support/testenv.ts';
import { productRepositoryContract } from './product-repository.contract.ts';

productRepositoryContract('mongodb (FerretDB)', async () => {
  const mongo = await testMongo('catalog');
  const products = new MongoProductRepository(mongo.db);
  await products.ensureIndexes();
  // Another client on the same database: a second replica of the service.
  const client = new MongoClient(testenv('MONGO_URL'), { serverSelectionTimeoutMS: 5000 });
  await client.connect();
  const replica = new MongoProductRepository(client.db(mongo.db.databaseName));
  return {
    products,
    replica,
    async close() {
      await client.close();
      await mongo.close();
    },
  };
});

describe('MongoProductRepository', function () {
  let mongo: TestMongo;
  beforeEach(async function () {
    mongo = await testMongo('catalog');
  });
  afterEach(async function () {
    await mongo.close();
  });

  it('when indexes are ensured twice, then the second call is a no-op', async function () {
    const products = new MongoProductRepository(mongo.db);
    await products.ensureIndexes();
    await products.ensureIndexes();
    const names = (await mongo.db.collection('products').indexes()).map((i) => i.name);
    expect(names).to.include.members(['name_id', 'category_name_id', 'outbox_id']);
  });
});
