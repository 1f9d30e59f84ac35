import { expect } from 'chai';
import { parse } from 'yaml';
import { auditMetrics } from '@meshmart/audit/metrics';
import { catalogMetrics } from '@meshmart/catalog/metrics';
import { checkoutMetrics } from '@meshmart/checkout/metrics';
import { gatewayMetrics } from '@meshmart/gateway/metrics';
import { inventoryMetrics } from '@meshmart/inventory/metrics';
import {
  kitMetrics,
  RUNTIME_METRIC_PREFIXES,
  SERVICE_LABEL,
  type MetricDeclaration,
} from '@meshmart/kit/metric-declarations';
import { ordersMetrics } from '@meshmart/orders/metrics';
import { paymentsMetrics } from '@meshmart/payments/metrics';
import { generatedFiles } from '@meshmart/observability/files.ts';
import { podRelabelings } from '@meshmart/observability/prometheus/scrape.ts';
import { canaryMetrics } from '@meshmart/ops/lib/canary-metrics.ts';
import { canaryQueries } from '@meshmart/ops/lib/prometheus.ts';

/** Every declaration a service, the kit or the canary exposes. */
const DECLARED: readonly MetricDeclaration[] = [
  kitMetrics,
  auditMetrics,
  catalogMetrics,
  checkoutMetrics,
  gatewayMetrics,
  inventoryMetrics,
  ordersMetrics,
  paymentsMetrics,
  canaryMetrics,
].flatMap((m) => Object.values(m) as MetricDeclaration[]);

/** Series nobody in this repository declares: Prometheus's own, and the App Mesh Envoy sidecars' (`envoy_*`). */
const EXTERNAL_NAMES = new Set(['up', 'ALERTS', 'ALERTS_FOR_STATE']);
const EXTERNAL_PREFIXES = [...RUNTIME_METRIC_PREFIXES, 'envoy_'];

/** Labels every scraped series carries besides its declared ones: the kit's `service` and the scrape's targets. */
const TARGET_LABELS = new Set([
  SERVICE_LABEL,
  'instance',
  'job',
  ...podRelabelings().flatMap((r) =>
    r.target_label && !r.target_label.startsWith('__') ? [r.target_label] : [],
  ),
]);

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool']);
const KEYWORDS_OPERATORS = new Set(['and', 'or', 'unless', 'inf', 'nan', 'Inf', 'NaN']);

interface Use {
  readonly name: string;
  /** Labels matched in the selector right after the name (`name{a="x"}`). */
  readonly labels: readonly string[];
}

/** The metric names a PromQL expression reads, each with the labels its own selector matches on. */
function metricsIn(expr: string): Use[] {
  const uses: Use[] = [];
  let rest = expr
    .replace(/\$\{?\w+\}?/g, '') // Grafana variables: $__rate_interval, $version
    .replace(/label_values\(([^,]+),\s*\w+\)/g, '$1');
  rest = rest.replace(
    /([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^}]*)\}/g,
    (_, name: string | undefined, body: string) => {
      const labels = [...body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"/g)].map(
        (m) => m[1],
      );
      if (name && !KEYWORDS.has(name) && !KEYWORDS_OPERATORS.has(name)) uses.push({ name, labels });
      return ' ';
    },
  );
  rest = rest
    .replace(/"(?:[^"\\]|\\.)*"/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  for (const m of rest.matchAll(/(?<![\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:]|\s*\()/g)) {
    if (KEYWORDS.has(m[1]) || KEYWORDS_OPERATORS.has(m[1])) continue;
    uses.push({ name: m[1], labels: [] });
  }
  return uses;
}

/** What is wrong with one use, or undefined: a name no declaration has, or a label its declaration lacks. */
function problemOf(
  use: Use,
  where: string,
  recorded: ReadonlySet<string> = new Set(),
  declared: readonly MetricDeclaration[] = DECLARED,
): string | undefined {
  if (recorded.has(use.name) || EXTERNAL_NAMES.has(use.name)) return undefined;
  if (EXTERNAL_PREFIXES.some((p) => use.name.startsWith(p))) return undefined;
  if (use.name.includes(':'))
    return `${where}: ${use.name} looks like a recording rule, but no rule records it`;
  const exact = declared.find((d) => d.name === use.name);
  const series = /^(.*)_(bucket|sum|count)$/.exec(use.name);
  const histogram = series ? declared.find((d) => d.type === 'histogram' && d.name === series[1]) : undefined;
  const declaration = exact ?? histogram;
  if (!declaration) return `${where}: ${use.name} is no declared metric`;
  const allowed = new Set([...declaration.labelNames, ...TARGET_LABELS]);
  if (histogram && series?.[2] === 'bucket') allowed.add('le');
  const unknown = use.labels.filter((l) => !allowed.has(l));
  return unknown.length > 0
    ? `${where}: ${use.name} has no label ${unknown.join(', ')} (${declaration.name} declares ${declaration.labelNames.join(', ') || 'none'})`
    : undefined;
}

interface Query {
  readonly where: string;
  readonly expr: string;
}

/** Every `expr` string of a dashboard, and the `query` of its query variables (a datasource variable's is a type). */
function dashboardQueries(json: unknown, where: string): Query[] {
  if (Array.isArray(json)) return json.flatMap((j) => dashboardQueries(j, where));
  if (json === null || typeof json !== 'object') return [];
  const promql = (json as { type?: unknown }).type === 'datasource' ? ['expr'] : ['expr', 'query'];
  return Object.entries(json).flatMap(([key, value]) =>
    promql.includes(key) && typeof value === 'string'
      ? [{ where, expr: value }]
      : dashboardQueries(value, where),
  );
}

interface RuleDoc {
  groups?: { rules: { record?: string; alert?: string; expr: string }[] }[];
  tests?: {
    input_series?: { series: string }[];
    promql_expr_test?: { expr: string }[];
  }[];
}

/** The PromQL of the generated dashboards, rule files and rule tests, the names the rules record, and the canary's. */
async function everyQuery(): Promise<{ queries: Query[]; recorded: Set<string> }> {
  const queries: Query[] = [];
  const recorded = new Set<string>();
  for (const [path, text] of await generatedFiles()) {
    const file = path.slice(path.indexOf('observability/'));
    if (path.endsWith('.json')) {
      queries.push(...dashboardQueries(JSON.parse(text), file));
      continue;
    }
    const doc = parse(text) as RuleDoc;
    for (const rule of doc.groups?.flatMap((g) => g.rules) ?? []) {
      if (rule.record) recorded.add(rule.record);
      queries.push({ where: `${file} ${rule.record ?? rule.alert}`, expr: rule.expr });
    }
    for (const test of doc.tests ?? []) {
      for (const s of test.input_series ?? []) queries.push({ where: `${file} input`, expr: s.series });
      for (const e of test.promql_expr_test ?? []) queries.push({ where: `${file} test`, expr: e.expr });
    }
  }
  const canary = canaryQueries({ service: 'catalog', version: 'v2', selector: 'namespace="meshmart"' });
  for (const [name, expr] of Object.entries(canary)) queries.push({ where: `ops canary ${name}`, expr });
  return { queries, recorded };
}

describe('observability: metric names come from the declarations', () => {
  it('when the PromQL parser reads an expression, then it finds the names and their own labels only', () => {
    expect(
      metricsIn(
        'histogram_quantile(0.99, sum by (le, route) (rate(x_seconds_bucket{service="a",le="0.5"}[5m]))) / on (service) group_left () y_total offset 1h > bool 0.5 and up',
      ),
    ).to.deep.equal([
      { name: 'x_seconds_bucket', labels: ['service', 'le'] },
      { name: 'y_total', labels: [] },
      { name: 'up', labels: [] },
    ]);
    expect(metricsIn('label_values(x_count{service="cart"}, version)')).to.deep.equal([
      { name: 'x_count', labels: ['service'] },
    ]);
    expect(metricsIn('sum(rate(a_total{b=~"$version"}[$__rate_interval])) or vector(0) * 60')).to.deep.equal([
      { name: 'a_total', labels: ['b'] },
    ]);
  });

  it('when every generated dashboard, rule and rule test and the canary are read, then each metric is declared and each selector label is its own', async () => {
    const { queries, recorded } = await everyQuery();
    expect(queries.length).to.be.greaterThan(100);
    const problems = queries.flatMap((q) =>
      metricsIn(q.expr).flatMap((use) => problemOf(use, q.where, recorded) ?? []),
    );
    expect([...new Set(problems)]).to.deep.equal([]);
    const used = new Set(queries.flatMap((q) => metricsIn(q.expr).map((u) => u.name)));
    for (const name of [
      'http_request_duration_seconds_bucket',
      checkoutMetrics.sagas.name,
      kitMetrics.eventsConsumed.name,
    ])
      expect(used, name).to.include(name);
  });

  it('when a declaration is renamed and the PromQL is not, then the check names the stale name', () => {
    const use = { name: 'checkout_sagas_total', labels: ['outcome'] };
    expect(problemOf(use, 'alert')).to.equal(undefined);
    const renamed = DECLARED.map((d) =>
      d === checkoutMetrics.sagas ? { ...d, name: 'checkout_sagas_ended_total' } : d,
    );
    expect(problemOf(use, 'alert', new Set(), renamed)).to.equal(
      'alert: checkout_sagas_total is no declared metric',
    );
    const bucket = { name: 'checkout_saga_duration_seconds_bucket', labels: ['le', 'outcome', 'version'] };
    expect(problemOf(bucket, 'dashboard')).to.equal(undefined);
    const histograms = DECLARED.map((d) =>
      d === checkoutMetrics.sagaDuration ? { ...d, name: 'checkout_duration_seconds' } : d,
    );
    expect(problemOf(bucket, 'dashboard', new Set(), histograms)).to.equal(
      'dashboard: checkout_saga_duration_seconds_bucket is no declared metric',
    );
    expect(problemOf({ name: 'checkout_sagas_total', labels: ['result'] }, 'alert')).to.equal(
      'alert: checkout_sagas_total has no label result (checkout_sagas_total declares outcome)',
    );
    expect(problemOf({ name: 'slo:made_up:ratio', labels: [] }, 'alert')).to.equal(
      'alert: slo:made_up:ratio looks like a recording rule, but no rule records it',
    );
  });
});
