import { createServer, type AddressInfo } from 'node:net';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { AppError } from '../../../services/kit/src/errors.ts';
import { createLogger } from '../../../services/kit/src/logger.ts';
import { closeRedis, connectRedis, redisCheck } from '../../../services/kit/src/redis.ts';
import { testenv } from '../../support/testenv.ts';

const logger = createLogger({ service: 'test', level: 'silent' });

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
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

  it('when the port is closed, then connectRedis rejects with a 503 AppError naming the address', async function () {
    const port = await closedPort();
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
    const port = await closedPort();
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
