import { expect } from 'chai';
import request from 'supertest';
import { Health } from '@meshmart/kit';
import { sampleApp } from '../../support/sample-app.ts';

describe('health', () => {
  describe('when every dependency check passes', () => {
    it('then /healthz/ready is 200 with each check listed', async () => {
      const { app } = sampleApp({ checks: { db: () => Promise.resolve({ ok: true }) } });
      const res = await request(app).get('/healthz/ready').expect(200);
      expect(res.body).to.deep.equal({ status: 'ok', checks: { db: { ok: true } } });
    });
  });

  describe('when a dependency check fails, throws or hangs', () => {
    it('then /healthz/ready is 503 naming each failure and /healthz/live stays 200', async () => {
      const { app } = sampleApp({
        checks: {
          down: () => Promise.resolve({ ok: false, detail: 'connection refused' }),
          throws: () => Promise.reject(new Error('boom')),
          hangs: () => new Promise(() => {}),
          fine: () => Promise.resolve({ ok: true }),
        },
      });
      const res = await request(app).get('/healthz/ready').expect(503);
      expect(res.body.status).to.equal('unavailable');
      expect(res.body.checks.down).to.deep.equal({ ok: false, detail: 'connection refused' });
      expect(res.body.checks.throws).to.deep.equal({ ok: false, detail: 'boom' });
      expect(res.body.checks.hangs.detail).to.match(/timed out/);
      expect(res.body.checks.fine.ok).to.equal(true);
      await request(app).get('/healthz/live').expect(200);
    });
  });

  describe('when shutdown has begun', () => {
    it('then readiness is false even with healthy dependencies', async () => {
      const health = new Health({ checks: { db: () => Promise.resolve({ ok: true }) } });
      expect((await health.ready()).ok).to.equal(true);
      health.markShuttingDown();
      expect((await health.ready()).ok).to.equal(false);
      expect(health.isShuttingDown).to.equal(true);
    });
  });
});
