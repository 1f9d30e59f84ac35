import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { stringify } from 'yaml';
import { Dashboards } from '@meshmart/cdk8s/constructs/observability/dashboards.ts';
import { Monitoring } from '@meshmart/cdk8s/constructs/observability/monitoring.ts';
import { chartObjects } from '@meshmart/cdk8s/synth.ts';
import { validateManifests } from '@meshmart/cdk8s/validation/index.ts';
import { dashboards } from '@meshmart/observability/grafana/dashboards.ts';
import { prometheusScrapeConfig, ruleFiles } from '@meshmart/observability/index.ts';
import { metricsPortRelabeling } from '@meshmart/observability/prometheus/scrape.ts';
import { prometheusRuleGroups } from '@meshmart/observability/prometheus/rules.ts';
import { synthesized, testChart } from '../cdk8s/support.ts';
import { testenv } from '../support/testenv.ts';

const run = promisify(execFile);

describe('scraping and monitoring objects', function () {
  this.timeout(60000);

  describe('the plain scrape configuration', () => {
    it('when built for a cluster, then it discovers pods and carries the pod version label as `version`', () => {
      const c = prometheusScrapeConfig({ namespaces: ['shop'] });
      expect(c.kubernetes_sd_configs).to.deep.equal([{ role: 'pod', namespaces: { names: ['shop'] } }]);
      expect(c.relabel_configs).to.deep.include({
        source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_version'],
        target_label: 'version',
        action: 'replace',
      });
      expect(c.relabel_configs).to.deep.include({
        source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_component'],
        regex: 'service',
        action: 'keep',
      });
      expect(c.relabel_configs).to.deep.include({
        source_labels: ['__meta_kubernetes_pod_container_port_name'],
        regex: 'http',
        action: 'keep',
      });
    });

    it('when a pod names its metrics port in prometheus.io/port, then its target moves there; otherwise it stays on http', () => {
      const rule = metricsPortRelabeling();
      // Prometheus joins the source labels with ';' and matches the whole value (RE2, anchored).
      const apply = (address: string, annotation: string) => {
        const value = `${address};${annotation}`;
        const m = new RegExp(`^(?:${rule.regex})$`).exec(value);
        return m ? rule.replacement!.replace(/\$(\d)/g, (_, i: string) => m[Number(i)] ?? '') : address;
      };
      expect(rule.source_labels).to.deep.equal([
        '__address__',
        '__meta_kubernetes_pod_annotation_prometheus_io_port',
      ]);
      expect(rule.target_label).to.equal('__address__');
      expect(apply('10.0.3.7:8080', '9080')).to.equal('10.0.3.7:9080');
      expect(apply('10.0.3.8:8082', '8082')).to.equal('10.0.3.8:8082');
      expect(apply('10.0.3.9:8082', '')).to.equal('10.0.3.9:8082');
      expect(prometheusScrapeConfig().relabel_configs).to.deep.include(rule);
    });

    it('when built for local targets, then each target carries its version and app', () => {
      const c = prometheusScrapeConfig({
        targets: [{ address: '127.0.0.1:9999', service: 'cart', version: 'v2' }],
      });
      expect(c.static_configs).to.deep.equal([
        { targets: ['127.0.0.1:9999'], labels: { version: 'v2', app: 'cart' } },
      ]);
    });

    // Debian's promtool is built without Kubernetes discovery, so the file_sd and static variants are checked here.
    it('when promtool checks a Prometheus config with the local variants and the rule files, then it is valid', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'meshmart-prom-'));
      try {
        for (const f of ruleFiles())
          writeFileSync(join(dir, `${f.name}.rules.yaml`), stringify({ groups: f.groups }));
        const config = {
          global: { scrape_interval: '15s' },
          rule_files: [join(dir, '*.rules.yaml')],
          scrape_configs: [
            prometheusScrapeConfig({
              jobName: 'local',
              targets: [{ address: '127.0.0.1:8081', service: 'catalog' }],
            }),
            prometheusScrapeConfig({ jobName: 'files', files: [join(dir, 'targets', '*.json')] }),
            // The port rule of the cluster variant, which this promtool cannot load (no Kubernetes discovery).
            {
              job_name: 'relabel',
              file_sd_configs: [{ files: [join(dir, 'targets', '*.json')] }],
              relabel_configs: [metricsPortRelabeling()],
            },
          ],
        };
        writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
        const { stdout } = await run(testenv('PROMTOOL'), ['check', 'config', join(dir, 'prometheus.yml')]);
        const found = [...stdout.matchAll(/SUCCESS: (\d+) rules found/g)].reduce(
          (n, m) => n + Number(m[1]),
          0,
        );
        expect(found, stdout).to.equal(prometheusRuleGroups().reduce((n, g) => n + g.rules.length, 0));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('Monitoring (PodMonitors and PrometheusRule)', () => {
    it('when synthesized, then the services PodMonitor scrapes port http /metrics with the version relabeling', () => {
      const chart = testChart();
      new Monitoring(chart, 'M', { namespace: 'shop' });
      const objects = chartObjects(chart);
      expect(objects.map((o) => o.kind)).to.deep.equal(['PodMonitor', 'PrometheusRule']);
      const pm = objects[0] as any;
      expect(pm.spec.selector.matchLabels).to.deep.equal({
        'app.kubernetes.io/part-of': 'meshmart',
        'app.kubernetes.io/component': 'service',
      });
      expect(pm.spec.namespaceSelector).to.deep.equal({ matchNames: ['shop'] });
      const [endpoint] = pm.spec.podMetricsEndpoints;
      expect(endpoint).to.include({ port: 'http', path: '/metrics', interval: '15s' });
      expect(endpoint.relabelings).to.deep.include({
        sourceLabels: ['__meta_kubernetes_pod_label_app_kubernetes_io_version'],
        targetLabel: 'version',
        action: 'replace',
      });
      // The gateway's target moves to its metrics port, as in the plain scrape config.
      expect(endpoint.relabelings[0]).to.include({ targetLabel: '__address__', replacement: '$1:$2' });
      expect(validateManifests(objects)).to.deep.equal([]);
    });

    it('when synthesized, then the PrometheusRule carries every recording and alerting rule group', () => {
      const chart = testChart();
      new Monitoring(chart, 'M', { namespace: 'shop' });
      const rule = chartObjects(chart).find((o) => o.kind === 'PrometheusRule') as any;
      const groups = prometheusRuleGroups();
      expect(rule.spec.groups.map((g: any) => g.name)).to.deep.equal(groups.map((g) => g.name));
      expect(
        rule.spec.groups.flatMap((g: any) => g.rules.map((r: any) => r.alert ?? r.record)),
      ).to.deep.equal(groups.flatMap((g) => g.rules.map((r) => ('alert' in r ? r.alert : r.record))));
      expect(rule.spec.groups[0].rules[0].expr).to.be.a('string');
    });

    it('when Envoy is on, then a second PodMonitor scrapes /stats/prometheus on the admin port', () => {
      const chart = testChart();
      new Monitoring(chart, 'M', { namespace: 'shop', envoy: true });
      const envoy = chartObjects(chart).find((o) => o.metadata.name === 'meshmart-envoy') as any;
      expect(envoy.spec.podMetricsEndpoints[0]).to.include({ portNumber: 9901, path: '/stats/prometheus' });
      expect(validateManifests(chartObjects(chart))).to.deep.equal([]);
    });

    it('when the interval is not a duration or there are no rules, then construction fails saying what to fix', () => {
      expect(() => new Monitoring(testChart(), 'M', { namespace: 'shop', interval: 'often' })).to.throw(
        /interval 'often' is not a Prometheus duration/,
      );
      expect(() => new Monitoring(testChart(), 'M', { namespace: 'shop', ruleGroups: [] })).to.throw(
        /no rule groups/,
      );
    });
  });

  describe('Dashboards (ConfigMaps)', () => {
    it('when synthesized, then each dashboard is one ConfigMap labelled grafana_dashboard=1 holding its JSON', () => {
      const chart = testChart();
      new Dashboards(chart, 'D', { namespace: 'shop' });
      const maps = chartObjects(chart) as any[];
      const list = dashboards();
      expect(maps).to.have.length(list.length);
      for (const d of list) {
        const map = maps.find((m) => m.metadata.name === `dashboard-${d.uid}`);
        expect(map?.metadata.labels.grafana_dashboard, d.uid).to.equal('1');
        expect(JSON.parse(map.data[d.fileName])).to.deep.equal(JSON.parse(JSON.stringify(d.json)));
      }
      expect(validateManifests(maps)).to.deep.equal([]);
    });

    it('when two dashboards share a uid, then construction fails naming it', () => {
      const [one] = dashboards();
      expect(() => new Dashboards(testChart(), 'D', { namespace: 'shop', dashboards: [one, one] })).to.throw(
        new RegExp(`uid '${one.uid}' appears twice`),
      );
    });
  });

  describe('in the profiles', () => {
    for (const profile of ['eks-appmesh', 'eks-lattice', 'migration'] as const) {
      it(`when ${profile} is synthesized, then it has the PodMonitors, the PrometheusRule and the dashboards, all valid`, () => {
        const { objects } = synthesized(profile);
        const mine = objects.filter(
          (o) =>
            ['PodMonitor', 'PrometheusRule'].includes(o.kind) ||
            (o.kind === 'ConfigMap' && (o.metadata as any).labels?.grafana_dashboard === '1'),
        );
        const kinds = mine.map((o) => o.kind);
        expect(kinds.filter((k) => k === 'PrometheusRule')).to.have.length(1);
        expect(kinds.filter((k) => k === 'ConfigMap')).to.have.length(dashboards().length);
        const envoy = mine.some((o) => o.metadata.name === 'meshmart-envoy');
        expect(envoy).to.equal(profile !== 'eks-lattice');
        expect(validateManifests(mine)).to.deep.equal([]);
      });
    }
  });
});
