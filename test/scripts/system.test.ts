import { createServer, type Server } from 'node:net';
import { expect } from 'chai';
import { assignPort, startProcesses, type ProcessSystem } from '../../scripts/system.ts';

describe('scripts/system: services in processes of their own', function () {
  this.timeout(240_000);
  let system: ProcessSystem | undefined;
  let squatter: Server | undefined;
  afterEach(async () => {
    await system?.stop();
    system = undefined;
    squatter?.close();
    squatter = undefined;
  });

  it('when an assigned port is taken by another program, then the system starts again on other ports and every URL answers as its service', async () => {
    squatter = createServer();
    const taken = assignPort();
    await new Promise<void>((resolve) => squatter!.listen(taken, '127.0.0.1', resolve));
    let calls = 0;
    system = await startProcesses({
      services: ['catalog', 'cart'],
      env: { LOG_LEVEL: 'warn', TRACING: 'off', PROCESS_METRICS: 'false' },
      // The first port handed out is the squatter's: catalog (started first) cannot bind it.
      assignPort: () => (calls++ === 0 ? taken : assignPort()),
    });
    expect(calls).to.be.greaterThan(2, 'ports were assigned a second time');
    expect(system.url('catalog')).to.not.equal(`http://127.0.0.1:${taken}`);
    for (const service of ['catalog', 'cart'] as const) {
      const metrics = await (await fetch(`${system.url(service)}/metrics`)).text();
      expect(metrics, `${service} answers on its own URL`).to.contain(`service="${service}"`);
    }
  });

  it('when a service is killed and started again, then it answers on the same URL', async () => {
    system = await startProcesses({
      services: ['catalog'],
      env: { LOG_LEVEL: 'warn', TRACING: 'off', PROCESS_METRICS: 'false' },
    });
    const url = system.url('catalog');
    await system.kill('catalog');
    await system.start('catalog');
    expect(system.url('catalog')).to.equal(url);
    expect((await fetch(`${url}/healthz/ready`)).status).to.equal(200);
  });
});
