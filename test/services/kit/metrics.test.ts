import { spawnSync } from 'node:child_process';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import request from 'supertest';
import {
  DeclaredMetrics,
  defineCounter,
  defineGauge,
  defineHistogram,
  describeDeclaration,
  kitMetrics,
  Metrics,
  type RunningServer,
} from '@meshmart/kit';
import { sample } from '../../support/exposition.ts';
import { sampleApp, serveSample } from '../../support/sample-app.ts';
import { testenv } from '../../support/testenv.ts';
import { until } from '../../support/wait.ts';

describe('metrics', () => {
  const checkouts = defineCounter({ name: 'checkouts_total', help: 'checkouts', labelNames: ['outcome'] });

  describe('when a declaration is asked for twice', () => {
    it('then the same metric is returned and it lives only in the app registry', async () => {
      const metrics = new Metrics({ service: 'svc', processMetrics: false });
      const a = metrics.counter(checkouts);
      const b = metrics.counter(checkouts);
      expect(a).to.equal(b);
      a.inc({ outcome: 'confirmed' });
      expect(
        sample(await metrics.registry.metrics(), 'checkouts_total', { service: 'svc', outcome: 'confirmed' }),
      ).to.equal(1);
      const other = new Metrics({ service: 'other', processMetrics: false });
      expect(await other.registry.metrics()).not.to.contain('checkouts_total');
    });

    it('then an equal declaration written again, or asked for through the registry, gives that metric too', () => {
      const metrics = new Metrics({ service: 'svc', processMetrics: false });
      const a = metrics.counter(checkouts);
      const again = defineCounter({ name: 'checkouts_total', help: 'checkouts', labelNames: ['outcome'] });
      expect(metrics.counter(again)).to.equal(a);
      expect(DeclaredMetrics.of(metrics.registry).counter(checkouts)).to.equal(a);
      expect(DeclaredMetrics.of(metrics.registry).counter(kitMetrics.eventsPublished)).to.equal(
        metrics.counter(kitMetrics.eventsPublished),
      );
    });
  });

  describe('when another declaration of a registered name is asked for', () => {
    const conflicting = {
      'other labels': defineCounter({ name: 'checkouts_total', help: 'checkouts', labelNames: ['result'] }),
      'other help': defineCounter({ name: 'checkouts_total', help: 'sagas', labelNames: ['outcome'] }),
      'other type': defineGauge({ name: 'checkouts_total', help: 'checkouts', labelNames: ['outcome'] }),
    };
    for (const [what, declaration] of Object.entries(conflicting)) {
      it(`(${what}) then it throws naming the metric and both declarations`, () => {
        const metrics = new Metrics({ service: 'svc', processMetrics: false });
        metrics.counter(checkouts);
        const ask = () =>
          declaration.type === 'gauge' ? metrics.gauge(declaration) : metrics.counter(declaration);
        expect(ask).to.throw(
          `metric checkouts_total is declared twice, differently: ${describeDeclaration(checkouts)} was registered, ` +
            `then ${describeDeclaration(declaration)} asked for`,
        );
      });
    }

    it('(other buckets) then it throws too', () => {
      const metrics = new Metrics({ service: 'svc', processMetrics: false });
      metrics.histogram(defineHistogram({ name: 'wait_seconds', help: 'wait', buckets: [1, 2] }));
      expect(() =>
        metrics.histogram(defineHistogram({ name: 'wait_seconds', help: 'wait', buckets: [1, 3] })),
      ).to.throw(
        /metric wait_seconds is declared twice, differently: histogram wait_seconds\{\} "wait" buckets \[1, 2\]/,
      );
    });

    it("(a kit metric's name) then it throws, before any series could mix", () => {
      const metrics = new Metrics({ service: 'svc', processMetrics: false });
      expect(() => metrics.gauge(defineGauge({ name: 'http_requests_in_flight', help: 'mine' }))).to.throw(
        'metric http_requests_in_flight is declared twice',
      );
      expect(() =>
        metrics.histogram(
          defineHistogram({ name: kitMetrics.httpRequestDuration.name, help: 'mine', labelNames: ['route'] }),
        ),
      ).to.throw('metric http_request_duration_seconds is declared twice');
    });
  });

  describe('when a metric is declared', () => {
    it('then the exposition shows its declared type, help and labels', async () => {
      const metrics = new Metrics({ service: 'svc', processMetrics: false });
      metrics.counter(checkouts).inc({ outcome: 'completed' });
      const text = await metrics.registry.metrics();
      expect(text).to.contain('# HELP checkouts_total checkouts\n# TYPE checkouts_total counter\n');
      expect(text).to.contain('checkouts_total{outcome="completed",service="svc"} 1');
      expect(text).to.contain('# TYPE http_request_duration_seconds histogram');
      expect(text).to.contain('# TYPE http_requests_in_flight gauge');
    });

    it('then its labels are typed: a label it does not declare is a type error', () => {
      const metrics = new Metrics({ service: 'svc', processMetrics: false });
      const counter = metrics.counter(checkouts);
      // @ts-expect-error: 'result' is not a label of checkouts_total
      expect(() => counter.inc({ result: 'completed' })).to.throw('Added label "result" is not included');
      const unlabelled = metrics.counter(defineCounter({ name: 'plain_total', help: 'plain' }));
      expect(() => unlabelled.inc({ outcome: 'x' })).to.throw('Added label "outcome" is not included');
    });

    it('then a name Prometheus would refuse, or a label given twice, fails at the declaration', () => {
      expect(() => defineCounter({ name: 'checkout-sagas', help: 'x' })).to.throw(
        'metric "checkout-sagas": not a Prometheus metric name',
      );
      expect(() => defineCounter({ name: 'a_total', help: 'x', labelNames: ['b', 'b'] })).to.throw(
        'metric a_total: a label is declared twice (b, b)',
      );
    });
  });

  describe('when an operation is timed', () => {
    it('then its outcome is a label, for successes and failures alike', async () => {
      const metrics = new Metrics({ service: 'svc', processMetrics: false });
      const h = metrics.histogram(
        defineHistogram({ name: 'saga_duration_seconds', help: 'saga', labelNames: ['saga', 'outcome'] }),
      );
      expect(await metrics.time(h, { saga: 'checkout' }, () => Promise.resolve(7))).to.equal(7);
      let thrown: unknown;
      await metrics
        .time(h, { saga: 'checkout' }, () => Promise.reject(new Error('x')))
        .catch((e: unknown) => (thrown = e));
      expect(thrown).to.be.instanceOf(Error);
      const text = await metrics.registry.metrics();
      expect(
        sample(text, 'saga_duration_seconds_count', { service: 'svc', saga: 'checkout', outcome: 'ok' }),
      ).to.equal(1);
      expect(
        sample(text, 'saga_duration_seconds_count', { service: 'svc', saga: 'checkout', outcome: 'error' }),
      ).to.equal(1);
    });
  });

  describe('when promtool lints the exposition of a busy app', () => {
    it('then it finds no problem', async () => {
      const { app } = sampleApp();
      await request(app).get('/v1/items').expect(200);
      await request(app).get('/v1/items/none').expect(404);
      const text = (await request(app).get('/metrics').expect(200)).text;
      const lint = spawnSync(testenv('PROMTOOL'), ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(lint.status, lint.stdout + lint.stderr).to.equal(0);
      expect((lint.stdout + lint.stderr).trim()).to.equal('');
    });
  });

  describe('when a real Prometheus scrapes a running service', () => {
    let running: RunningServer | undefined;
    let targetsFile: string | undefined;
    after(async () => {
      if (targetsFile) rmSync(targetsFile, { force: true });
      await running?.shutdown('test done');
    });

    it('then RED series arrive labelled by route template and PromQL over them runs', async function () {
      this.timeout(60_000);
      const kit = sampleApp();
      running = await serveSample(kit);
      const instance = `127.0.0.1:${running.port}`;
      // The requests come before the target is registered, so the first scrape already counts them all.
      for (let i = 0; i < 5; i++) await request(running.url).get('/v1/items').expect(200);
      await request(running.url).get('/v1/items/nope').expect(404);
      targetsFile = join(testenv('PROMETHEUS_TARGETS_DIR'), `kit-metrics-${running.port}.json`);
      // Written then renamed, so Prometheus never reads half a file.
      writeFileSync(
        `${targetsFile}.tmp`,
        JSON.stringify([{ targets: [instance], labels: { suite: 'kit-metrics' } }]),
      );
      renameSync(`${targetsFile}.tmp`, targetsFile);

      const prom = testenv('PROMETHEUS_URL');
      const query = async (q: string) => {
        const res = await fetch(`${prom}/api/v1/query?query=${encodeURIComponent(q)}`);
        const body = (await res.json()) as {
          status: string;
          data: { result: { metric: Record<string, string>; value: [number, string] }[] };
        };
        expect(body.status, q).to.equal('success');
        return body.data.result;
      };
      const selector = `http_request_duration_seconds_count{instance="${instance}",route="/v1/items"}`;
      const series = await until(
        async () => {
          const found = await query(selector);
          return found.length > 0 ? found : undefined;
        },
        'Prometheus to scrape the app',
        40_000,
        200,
      );
      expect(series).to.have.length(1);
      expect(series[0].metric).to.include({ service: 'sample', method: 'GET', status_class: '2xx' });
      expect(Number(series[0].value[1])).to.equal(5);
      const errors = await query(
        `http_request_duration_seconds_count{instance="${instance}",status_class="4xx"}`,
      );
      expect(errors[0]?.metric.route).to.equal('/v1/items/:id');
      await query(
        `histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket{instance="${instance}"}[1m])))`,
      );
      const up = await query(`up{instance="${instance}"}`);
      expect(up[0]?.value[1]).to.equal('1');
    });
  });
});
