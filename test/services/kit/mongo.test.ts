import { expect } from 'chai';
import { MongoClient } from 'mongodb';
import { Registry } from 'prom-client';
import { AppError } from '../../../services/kit/src/errors.ts';
import { createLogger } from '../../../services/kit/src/logger.ts';
import { closeMongo, connectMongo, mongoCheck } from '../../../services/kit/src/mongo.ts';
import { refusedPort } from '../../support/ports.ts';
import { testenv } from '../../support/testenv.ts';

const logger = createLogger({ service: 'test', level: 'silent' });

/** Nothing listens there: connections are refused. */
function closedPort(): number {
  return refusedPort().port;
}

describe('mongo', function () {
  it('when connected to the real server, then the check is ok and the named database is used', async function () {
    const { client, db } = await connectMongo(testenv('MONGO_URL'), {
      logger,
      appName: 'kit-mongo-test',
      dbName: 'kit_mongo_test',
    });
    try {
      expect(db.databaseName).to.equal('kit_mongo_test');
      expect(await mongoCheck(db)).to.deep.equal({ ok: true });
    } finally {
      await closeMongo(client);
    }
    const after = await mongoCheck(db, 300);
    expect(after.ok).to.equal(false);
  });

  it('when a registry is given, then every command is counted by command and collection', async function () {
    const registry = new Registry();
    const { client, db } = await connectMongo(testenv('MONGO_URL'), {
      logger,
      appName: 'kit-mongo-test',
      dbName: 'kit_mongo_counts',
      registry,
    });
    try {
      await db.collection('things').insertOne({ _id: 'a' } as never);
      await db.collection('things').findOne({ _id: 'a' } as never);
      await db.collection('things').updateOne({ _id: 'a' } as never, { $set: { n: 1 } });
      const text = await registry.metrics();
      for (const command of ['insert', 'find', 'update'])
        expect(text).to.contain(`mongodb_commands_total{command="${command}",collection="things"} 1`);
    } finally {
      await db.dropDatabase();
      await closeMongo(client);
    }
  });

  it('when the port is closed, then connectMongo rejects with a 503 AppError within the selection timeout', async function () {
    const port = closedPort();
    const started = Date.now();
    let failure: unknown;
    await connectMongo(`mongodb://127.0.0.1:${port}/x`, {
      logger,
      appName: 'x',
      serverSelectionTimeoutMS: 200,
    }).catch((err: unknown) => (failure = err));
    expect(failure).to.be.instanceOf(AppError);
    expect((failure as AppError).status).to.equal(503);
    expect((failure as AppError).message).to.include(`127.0.0.1:${port}`);
    // The 200 ms selection timeout, not the driver's 30 s default, with room for a loaded machine.
    expect(Date.now() - started).to.be.below(5000);
  });

  it('when the server cannot be reached, then the check returns ok:false with a detail instead of throwing', async function () {
    const port = closedPort();
    const client = new MongoClient(`mongodb://127.0.0.1:${port}/x`, { serverSelectionTimeoutMS: 5000 });
    try {
      const result = await mongoCheck(client.db(), 300);
      expect(result).to.deep.equal({ ok: false, detail: 'mongodb: mongodb ping timed out after 300 ms' });
    } finally {
      await client.close();
    }
  });
});
