import { InMemoryOutboxStore, MongoOutboxStore } from '@meshmart/kit/events';
import { InMemoryReservationRepository } from '../../../../services/inventory/src/adapters/in-memory-reservation-repository.ts';
import { MongoReservationRepository } from '../../../../services/inventory/src/adapters/mongo-reservation-repository.ts';
import { testMongo } from '../../../support/stores.ts';
import { reservationRepositoryContract } from './reservation-repository.contract.ts';

reservationRepositoryContract('in-memory twin', () => {
  const outbox = new InMemoryOutboxStore();
  return Promise.resolve({
    repo: new InMemoryReservationRepository(outbox),
    pendingEvents: async () => (await outbox.pending(100)).map((e) => e.envelope.type),
    close: () => Promise.resolve(),
  });
});

reservationRepositoryContract('MongoDB (FerretDB)', async () => {
  const mongo = await testMongo('inventory_res');
  const repo = new MongoReservationRepository(mongo.db);
  await repo.ensureIndexes();
  const outbox = new MongoOutboxStore(mongo.db.collection(repo.collection.collectionName));
  return {
    repo,
    pendingEvents: async () => (await outbox.pending(100)).map((e) => e.envelope.type),
    close: () => mongo.close(),
  };
});
