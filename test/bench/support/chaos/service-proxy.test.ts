import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { Agent, request } from 'undici';
import { ServiceProxy } from '../../../../bench/support/chaos/service-proxy.ts';

async function backend(name: string): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => res.end(name));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

describe('ServiceProxy (a Service address in front of a process)', () => {
  it('when the backend is switched, then new connections reach the new process while an open one stays on the old', async () => {
    const old = await backend('old');
    const next = await backend('new');
    const proxy = await ServiceProxy.start(0, old.port);
    const kept = new Agent({ connections: 1, keepAliveTimeout: 10_000 });
    const fresh = new Agent({ connections: 1 });
    const get = async (agent: Agent) =>
      (await request(`http://127.0.0.1:${proxy.port}/`, { dispatcher: agent })).body.text();
    try {
      expect(await get(kept)).to.equal('old');
      proxy.switchTo(next.port);
      expect(await get(fresh)).to.equal('new');
      expect(await get(kept)).to.equal('old');
      expect(proxy.connections.get(old.port)).to.equal(1);
      expect(proxy.connections.get(next.port)).to.equal(1);
    } finally {
      await kept.close();
      await fresh.close();
      await proxy.close();
      old.server.close();
      next.server.close();
    }
  });

  it('when nothing listens behind it, then the client sees its connection reset and it is counted', async () => {
    const gone = await backend('gone');
    gone.server.close();
    const proxy = await ServiceProxy.start(0, gone.port);
    try {
      const err = await request(`http://127.0.0.1:${proxy.port}/`).then(
        () => undefined,
        (e: unknown) => e as { code?: string },
      );
      expect(err?.code).to.be.oneOf(['ECONNRESET', 'UND_ERR_SOCKET']);
      expect(proxy.failedConnects).to.equal(1);
    } finally {
      await proxy.close();
    }
  });
});
