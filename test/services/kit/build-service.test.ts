import { expect } from 'chai';
import request from 'supertest';
import {
  ApiRouter,
  buildService,
  ConfigError,
  createServiceApp,
  defineService,
  hostServices,
  int,
  startService,
  Type,
  type Closer,
} from '@meshmart/kit';
import { testKit } from '../../support/stores.ts';

/** A throw-away service whose build records what it was given and in which order its closers ran. */
function sample(closed: string[]) {
  return defineService({
    service: 'sample',
    defaultPort: 0,
    settings: { greeting: int({ env: 'SAMPLE_GREETING', default: 1, min: 0, doc: 'a number it answers' }) },
    build: (kit, overrides: { readonly suffix?: string } = {}) => {
      const api = new ApiRouter('').route({
        method: 'get',
        path: '/greeting',
        operationId: 'greet',
        summary: 'Greet',
        responses: {
          200: {
            description: 'the setting and the override',
            schema: Type.Object({
              greeting: Type.Integer(),
              suffix: Type.Union([Type.String(), Type.Null()]),
            }),
          },
        },
        handler: () =>
          Promise.resolve({
            status: 200 as const,
            body: { greeting: kit.config.greeting, suffix: overrides.suffix ?? null },
          }),
      });
      const app = createServiceApp({ service: 'sample', ...kit, routers: [api] });
      const closers: Closer[] = ['first', 'second'].map((name) => ({
        name,
        close: () => {
          closed.push(name);
          return Promise.resolve();
        },
      }));
      return Promise.resolve({ app, closers, parts: { greeting: kit.config.greeting } });
    },
  });
}

describe('buildService and startService (the composition root of tests and embedders)', function () {
  it('when built, then the settings come from env, overrides reach build, parts are returned and close runs closers in order', async function () {
    const closed: string[] = [];
    const built = await buildService(sample(closed), {
      env: { SAMPLE_GREETING: '7' },
      overrides: { suffix: '!' },
      logger: testKit('sample').logger,
    });
    expect(built.parts.greeting).to.equal(7);
    expect(built.config.greeting).to.equal(7);
    const res = await request(built.app).get('/greeting').expect(200);
    expect(res.body).to.deep.equal({ greeting: 7, suffix: '!' });
    await built.close();
    await built.close();
    expect(closed).to.deep.equal(['first', 'second']);
  });

  it('when a setting is invalid, then building fails with ConfigError naming it', async function () {
    const err = await buildService(sample([]), { env: { SAMPLE_GREETING: '-1' } }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ConfigError);
    expect((err as ConfigError).problems.join('\n')).to.include('SAMPLE_GREETING');
  });

  it('when started, then it listens on a free port, serves the app and its health, and close drains then closes', async function () {
    const closed: string[] = [];
    const started = await startService(sample(closed), { logger: testKit('sample').logger });
    expect(started.running.port).to.be.greaterThan(0);
    const res = await fetch(`${started.url}/greeting`);
    expect(await res.json()).to.deep.equal({ greeting: 1, suffix: null });
    expect((await fetch(`${started.url}/healthz/ready`)).status).to.equal(200);
    await started.close();
    expect(closed).to.deep.equal(['first', 'second']);
  });

  it('when hosted by hostServices, then the same build runs with the same settings and no overrides', async function () {
    const closed: string[] = [];
    const system = await hostServices([sample(closed)], {
      env: { SAMPLE_PORT: '0', SAMPLE_GREETING: '3', LOG_LEVEL: 'silent', TRACING: 'off' },
    });
    try {
      const [hosted] = system.services;
      const res = await fetch(`${hosted.running.url}/greeting`);
      expect(await res.json()).to.deep.equal({ greeting: 3, suffix: null });
    } finally {
      await system.shutdown('test over');
    }
    expect(closed).to.deep.equal(['first', 'second']);
  });
});
