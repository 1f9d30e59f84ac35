import { expect } from 'chai';
import { SERVICE_NAMES } from '@meshmart/catalogue';
import { staleFiles } from '@meshmart/observability/files.ts';
import { dashboards } from '@meshmart/observability/grafana/dashboards.ts';
import { testenv } from '../support/testenv.ts';
import { panelQueries, substitute } from './support/dashboard-queries.ts';

describe('Grafana dashboards as code', function () {
  this.timeout(60000);
  const all = dashboards();

  it('when the dashboards are generated again, then observability/grafana/dashboards is current', async () => {
    expect(await staleFiles(), 'run `npx tsx observability/generate.ts`').to.deep.equal([]);
  });

  it('when the dashboards are listed, then there is an overview, one per service, business, events, SLOs and mesh', () => {
    expect(all.map((d) => d.uid)).to.have.members([
      'meshmart-overview',
      ...SERVICE_NAMES.map((s) => `meshmart-service-${s}`),
      'meshmart-business',
      'meshmart-events',
      'meshmart-slos',
      'meshmart-mesh',
    ]);
    for (const d of all) expect(d.fileName).to.equal(`${d.uid}.json`);
  });

  it('when a dashboard is read, then every panel has a query through the Prometheus data source variable and its own place', () => {
    for (const d of all) {
      const panels = (d.json.panels as any[]).filter((p) => p.type !== 'row');
      expect(panels.length, d.uid).to.be.greaterThan(0);
      const templating = (d.json.templating as any).list as any[];
      expect(templating.find((v) => v.type === 'datasource')?.query, d.uid).to.equal('prometheus');
      const places = new Set<string>();
      for (const p of panels) {
        expect(p.datasource, `${d.uid}/${p.title}`).to.deep.equal({
          type: 'prometheus',
          uid: '${datasource}',
        });
        expect(p.targets.length, `${d.uid}/${p.title}`).to.be.greaterThan(0);
        for (const t of p.targets) expect(t.expr, `${d.uid}/${p.title}`).to.be.a('string').and.not.equal('');
        const at = `${p.gridPos.x},${p.gridPos.y}`;
        expect(places.has(at), `${d.uid}/${p.title} overlaps`).to.equal(false);
        places.add(at);
        expect(p.gridPos.x + p.gridPos.w, `${d.uid}/${p.title}`).to.be.at.most(24);
      }
    }
  });

  it('when the business dashboard is read, then it shows checkouts per minute, cancellations by reason and saga duration', () => {
    const business = all.find((d) => d.uid === 'meshmart-business')!;
    const exprs = panelQueries([business]).map((q) => `${q.panel}: ${q.expr}`);
    expect(
      exprs.some((e) => e.startsWith('Checkouts per minute') && e.includes('checkout_sagas_total')),
    ).to.equal(true);
    expect(exprs.some((e) => e.startsWith('Cancellations') && e.includes('outcome="business"'))).to.equal(
      true,
    );
    expect(
      exprs.some((e) => e.startsWith('Saga duration') && e.includes('checkout_saga_duration_seconds_bucket')),
    ).to.equal(true);
  });

  it('when the SLO dashboard is read, then every SLO has an error-budget-left stat', () => {
    const slo = all.find((d) => d.uid === 'meshmart-slos')!;
    const stats = (slo.json.panels as any[]).filter((p) => p.type === 'stat').map((p) => p.title);
    for (const s of SERVICE_NAMES) expect(stats).to.include.members([`${s} availability`, `${s} latency`]);
  });

  it('when every panel query is sent to the real Prometheus, then each parses and executes without error', async () => {
    const base = testenv('PROMETHEUS_URL');
    const failures: string[] = [];
    const queries = panelQueries(all);
    expect(queries.length).to.be.greaterThan(100);
    for (const q of queries) {
      const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(substitute(q.expr))}`);
      const body = (await res.json()) as { status: string; error?: string };
      if (body.status !== 'success') failures.push(`${q.dashboard}/${q.panel}: ${body.error ?? res.status}`);
    }
    expect(failures).to.deep.equal([]);
  });
});
