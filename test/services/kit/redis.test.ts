import { expect } from 'chai';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { AppError } from '../../../services/kit/src/errors.ts';
import { createLogger } from '../../../services/kit/src/logger.ts';
import { closeRedis, connectRedis, redisCheck } from '../../../services/kit/src/redis.ts';
import { refusedPort } from '../../support/ports.ts';
import { testenv } from '../../support/testenv.ts';

const logger = createLogger({ service: 'test', level: 'silent' });

/** Nothing listens there: connections are refused. */
function closedPort(): number {
  return refusedPort().port;
}

describe('redis', function () {
  it('when connected to the real server, then the check is ok and close ends the connection', async function () {
    const client = await connectRedis(testenv('REDIS_URL'), { logger, name: 'kit-redis-test' });
    expect(client.status).to.equal('ready');
    expect(await redisCheck(client)).to.deep.equal({ ok: true });
    expect(await client.client('GETNAME')).to.equal('kit-redis-test');
    await closeRedis(client);
    expect(client.status).to.equal('end');
    await closeRedis(client);
    const after = await redisCheck(client);
    expect(after.ok).to.equal(false);
  });

  it("when a registry is given, then every command is counted, pipelined ones and a duplicate client's too", async function () {
    const registry = new Registry();
    const client = await connectRedis(testenv('REDIS_URL'), { logger, name: 'kit-redis-test', registry });
    const copy = client.duplicate();
    try {
      const key = `kit-redis-test:${process.pid}`;
      await client.set(key, '1');
      await client.pipeline().get(key).get(key).exec();
      await copy.get(key);
      await client.del(key);
      const text = await registry.metrics();
      expect(text).to.contain('redis_commands_total{command="set"} 1');
      expect(text).to.contain('redis_commands_total{command="get"} 3');
      expect(text).to.contain('redis_commands_total{command="del"} 1');
    } finally {
      copy.disconnect();
      await closeRedis(client);
    }
  });

  it('when the port is closed, then connectRedis rejects with a 503 AppError naming the address', async function () {
    const port = closedPort();
    let failure: unknown;
    await connectRedis(`redis://user:secret@127.0.0.1:${port}`, { logger, name: 'x' }).catch(
      (err: unknown) => (failure = err),
    );
    expect(failure).to.be.instanceOf(AppError);
    expect((failure as AppError).status).to.equal(503);
    expect((failure as AppError).message)
      .to.include(`127.0.0.1:${port}`)
      .and.not.include('secret');
  });

  it('when the server cannot be reached, then the check returns ok:false with a detail instead of throwing', async function () {
    const port = closedPort();
    const client = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    });
    client.on('error', () => undefined);
    const result = await redisCheck(client, 300);
    expect(result.ok).to.equal(false);
    expect(result.detail).to.be.a('string').and.match(/redis/);
    await closeRedis(client);
  });
});
