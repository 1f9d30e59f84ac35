import { catalogMetrics } from '@meshmart/catalog/metrics';
import { checkoutMetrics } from '@meshmart/checkout/metrics';
import { bucketOf, countOf, kitMetrics } from '@meshmart/kit/metric-declarations';
import { serviceSlos, type Slo } from '../slo/objectives.ts';
import { burnAlertName, leLabel, type Severity } from '../slo/rules.ts';
import { ruleFiles } from './rules.ts';
import { isAlert, type AlertingRule, type RuleFile } from './types.ts';

/** One input series in promtool's expanding notation ('0+10x30' = 0, 10, 20 … 300). */
export interface InputSeries {
  readonly series: string;
  readonly values: string;
}

/** One situation: the series, when to look, and the alerts expected then (their expression labels; none = quiet). */
export interface AlertCase {
  readonly name: string;
  readonly interval?: string;
  readonly series: readonly InputSeries[];
  readonly evalTime: string;
  readonly fires: readonly Readonly<Record<string, string>>[];
}

/** Every alert gets one case where it fires and one where it stays quiet. */
export interface AlertCases {
  readonly alert: string;
  readonly fires: AlertCase;
  readonly quiet: AlertCase;
}

const series = (name: string, labels: Record<string, string>, values: string): InputSeries => ({
  series: `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`,
  values,
});

const COUNT = countOf(kitMetrics.httpRequestDuration);
const BUCKET = bucketOf(kitMetrics.httpRequestDuration);

/** Requests per step, good and bad, for one SLO's histogram. */
function sloSeries(slo: Slo, perStep: number, bad: string, steps: number): InputSeries[] {
  const route = { service: slo.service, method: 'GET', route: '/things/:id' };
  if (slo.kind === 'availability') {
    return [
      series(COUNT, { ...route, status_class: '2xx' }, `0+${perStep}x${steps}`),
      series(COUNT, { ...route, status_class: '5xx' }, bad),
    ];
  }
  // Latency: `bad` is the count of slow requests; the bucket holds the fast ones.
  const le = leLabel(slo.thresholdSeconds ?? 0);
  return [
    series(COUNT, { ...route, status_class: '2xx' }, `0+${perStep}x${steps}`),
    series(BUCKET, { ...route, status_class: '2xx', le }, subtract(perStep, bad, steps)),
  ];
}

/** The fast-request bucket: per step `perStep` minus the slow ones, written as one expanding series per segment. */
function subtract(perStep: number, bad: string, steps: number): string {
  const m = /^0\+(\d+)x(\d+)$/.exec(bad);
  if (m && Number(m[2]) === steps) return `0+${perStep - Number(m[1])}x${steps}`;
  // Slow requests for `k` steps, then none: fast = (perStep - slow) for k steps, then perStep.
  const seg = /^0\+(\d+)x(\d+) (\d+)\+0x(\d+)$/.exec(bad);
  if (!seg) throw new Error(`rule-tests: cannot derive a bucket series from '${bad}'`);
  const [slow, k] = [Number(seg[1]), Number(seg[2])];
  const fastAtK = (perStep - slow) * k;
  return `0+${perStep - slow}x${k} ${fastAtK + perStep}+${perStep}x${steps - k - 1}`;
}

/**
 * The SLO burn-rate cases. Availability objective 99.9% (budget 0.1%), latency 99% (budget 1%); the fast alert
 * fires at 14.4x (1h and 5m) or 6x (6h and 30m), the slow one at 3x (1d and 2h) or 1x (3d and 6h).
 */
export function sloCases(slo: Slo, severity: Severity): AlertCases {
  const alert = burnAlertName(slo, severity);
  const labels = { service: slo.service, slo: slo.kind };
  const budgetPer1000 = Math.round((1 - slo.objective) * 1000 * 1000) / 1000;
  if (severity === 'page') {
    // 1000 requests a minute; 30x the budget is bad for 80 minutes.
    const burning = Math.round(budgetPer1000 * 30);
    const fast = {
      name: `when ${burning} of every 1000 ${slo.service} requests are bad for 80 minutes, then ${alert} fires`,
      interval: '1m',
      series: sloSeries(slo, 1000 - (slo.kind === 'availability' ? burning : 0), `0+${burning}x80`, 80),
      evalTime: '80m',
      fires: [labels],
    };
    // The same burn, stopped 40 minutes ago: the long windows are still above, the short ones say it is over.
    const stopped = {
      name: `when the bad ${slo.service} requests stopped 40 minutes ago, then ${alert} stays quiet though the 6h window is above`,
      interval: '1m',
      series: sloSeries(
        slo,
        1000 - (slo.kind === 'availability' ? burning : 0),
        `0+${burning}x40 ${burning * 40}+0x39`,
        80,
      ),
      evalTime: '80m',
      fires: [],
    };
    return { alert, fires: fast, quiet: stopped };
  }
  // 10000 requests per 5 minutes for 4 hours (the 1d window reads what there is): 5x the budget fires, half does not.
  const per = 10000;
  const five = Math.round(budgetPer1000 * 10 * 5);
  const half = Math.max(1, Math.round(budgetPer1000 * 10 * 0.5));
  const steps = 48;
  return {
    alert,
    fires: {
      name: `when ${slo.service} burns 5x its ${slo.kind} budget for 4 hours, then ${alert} fires`,
      interval: '5m',
      series: sloSeries(slo, per, `0+${five}x${steps}`, steps),
      evalTime: '4h',
      fires: [labels],
    },
    quiet: {
      name: `when ${slo.service} spends half its ${slo.kind} budget for 4 hours, then ${alert} stays quiet`,
      interval: '5m',
      series: sloSeries(slo, per, `0+${half}x${steps}`, steps),
      evalTime: '4h',
      fires: [],
    },
  };
}

const checkout = (outcome: string, values: string) =>
  series(checkoutMetrics.sagas.name, { service: 'checkout', outcome }, values);
const consumed = (outcome: string, values: string) =>
  series(
    kitMetrics.eventsConsumed.name,
    { service: 'audit', topic: 'orders.events', group: 'audit', outcome },
    values,
  );
const published = (values: string) =>
  series(kitMetrics.eventsPublished.name, { service: 'orders', topic: 'orders.events' }, values);
const cache = (result: string, values: string) =>
  series(catalogMetrics.cacheRequests.name, { service: 'catalog', kind: 'product', result }, values);
const up = (values: string, labels: Record<string, string> = {}) =>
  series(
    'up',
    {
      job: 'meshmart',
      instance: '10.0.0.7:8081',
      app: 'catalog',
      version: 'v2',
      namespace: 'meshmart',
      ...labels,
    },
    values,
  );
const circuit = (values: string) =>
  series(kitMetrics.httpClientCircuitState.name, { service: 'gateway', upstream: 'catalog' }, values);

/** The cases of the alerts written by hand in alerts.ts. */
export function meshmartCases(): AlertCases[] {
  return [
    {
      alert: 'CheckoutSagaFailureRateHigh',
      fires: {
        name: 'when one saga in eleven ends failed, then CheckoutSagaFailureRateHigh fires',
        series: [checkout('completed', '0+10x30'), checkout('failed', '0+1x30')],
        evalTime: '30m',
        fires: [{ service: 'checkout' }],
      },
      quiet: {
        name: 'when sagas end completed or compensated (declines), then CheckoutSagaFailureRateHigh stays quiet',
        series: [
          checkout('completed', '0+10x30'),
          checkout('compensated', '0+5x30'),
          checkout('failed', '0+0x30'),
        ],
        evalTime: '30m',
        fires: [],
      },
    },
    {
      alert: 'CheckoutSagaCompensationsHigh',
      fires: {
        name: 'when four checkouts in five are compensated for an hour, then CheckoutSagaCompensationsHigh fires',
        series: [checkout('completed', '0+2x60'), checkout('compensated', '0+8x60')],
        evalTime: '60m',
        fires: [{ service: 'checkout' }],
      },
      quiet: {
        name: 'when one checkout in five is compensated, then CheckoutSagaCompensationsHigh stays quiet',
        series: [checkout('completed', '0+8x60'), checkout('compensated', '0+2x60')],
        evalTime: '60m',
        fires: [],
      },
    },
    {
      alert: 'EventDeadLettersGrowing',
      fires: {
        name: 'when an event was dead-lettered three minutes ago, then EventDeadLettersGrowing fires',
        series: [
          series(
            kitMetrics.eventsDeadLettered.name,
            { service: 'audit', topic: 'orders.events', group: 'audit' },
            '0 0 0 1 1 1 1',
          ),
        ],
        evalTime: '6m',
        fires: [{ topic: 'orders.events', group: 'audit' }],
      },
      quiet: {
        name: 'when the last dead letter is older than 10 minutes, then EventDeadLettersGrowing stays quiet',
        series: [
          series(
            kitMetrics.eventsDeadLettered.name,
            { service: 'audit', topic: 'orders.events', group: 'audit' },
            '0 1 1+0x30',
          ),
        ],
        evalTime: '25m',
        fires: [],
      },
    },
    {
      alert: 'EventConsumerLagGrowing',
      fires: {
        name: 'when audit finishes 80 of every 100 events published for 40 minutes, then EventConsumerLagGrowing fires',
        series: [published('0+100x40'), consumed('ok', '0+80x40')],
        evalTime: '40m',
        fires: [{ topic: 'orders.events', group: 'audit' }],
      },
      quiet: {
        name: 'when audit keeps up (dead letters count as finished), then EventConsumerLagGrowing stays quiet',
        series: [published('0+100x40'), consumed('ok', '0+95x40'), consumed('dead_letter', '0+5x40')],
        evalTime: '40m',
        fires: [],
      },
    },
    {
      alert: 'EventRetriesHigh',
      fires: {
        name: 'when a third of deliveries are retried, then EventRetriesHigh fires',
        series: [consumed('ok', '0+10x40'), consumed('retry', '0+5x40')],
        evalTime: '40m',
        fires: [{ topic: 'orders.events', group: 'audit' }],
      },
      quiet: {
        name: 'when one delivery in a hundred is retried, then EventRetriesHigh stays quiet',
        series: [consumed('ok', '0+99x40'), consumed('retry', '0+1x40')],
        evalTime: '40m',
        fires: [],
      },
    },
    {
      alert: 'CatalogCacheHitRatioCollapsed',
      fires: {
        name: 'when the hit ratio drops from 90% to 10%, then CatalogCacheHitRatioCollapsed fires',
        series: [cache('hit', '0+90x60 5410+10x40'), cache('miss', '0+10x60 690+90x40')],
        evalTime: '100m',
        fires: [{ service: 'catalog', kind: 'product' }],
      },
      quiet: {
        name: 'when the hit ratio is a steady 30% (low, not collapsed), then CatalogCacheHitRatioCollapsed stays quiet',
        series: [cache('hit', '0+30x100'), cache('miss', '0+70x100')],
        evalTime: '100m',
        fires: [],
      },
    },
    {
      alert: 'MeshmartTargetDown',
      fires: {
        name: 'when a catalog pod stops answering scrapes for 4 minutes, then MeshmartTargetDown fires',
        series: [up('1 1 1 0 0 0 0 0')],
        evalTime: '7m',
        fires: [
          {
            job: 'meshmart',
            instance: '10.0.0.7:8081',
            app: 'catalog',
            version: 'v2',
            namespace: 'meshmart',
          },
        ],
      },
      quiet: {
        name: 'when one scrape fails, or a target outside MeshMart is down, then MeshmartTargetDown stays quiet',
        series: [up('1 1 1 0 1 1 1 1'), series('up', { job: 'node', instance: '10.0.0.9:9100' }, '0+0x7')],
        evalTime: '7m',
        fires: [],
      },
    },
    {
      alert: 'UpstreamCircuitOpen',
      fires: {
        name: "when the gateway's circuit to catalog stays open, then UpstreamCircuitOpen fires",
        series: [circuit('0 0 2 2 2 2 2')],
        evalTime: '6m',
        fires: [{ service: 'gateway', upstream: 'catalog' }],
      },
      quiet: {
        name: 'when the circuit opens and closes again, then UpstreamCircuitOpen stays quiet',
        series: [circuit('0 1 2 1 0 0 0')],
        evalTime: '6m',
        fires: [],
      },
    },
  ];
}

/** Expands `{{ $labels.x }}` the way Prometheus does for these annotations (the rules use no other template). */
function expand(text: string, labels: Readonly<Record<string, string>>): string {
  return text.replace(/\{\{\s*\$labels\.(\w+)\s*\}\}/g, (_m, name: string) => labels[name] ?? '');
}

function testCase(rule: AlertingRule, c: AlertCase): Record<string, unknown> {
  if (/\{\{(?!\s*\$labels\.\w+\s*\}\})/.test(Object.values(rule.annotations).join(' ')))
    throw new Error(`rule-tests: ${rule.alert} uses a template the test generator cannot expand`);
  return {
    name: c.name,
    interval: c.interval ?? '1m',
    input_series: c.series.map((s) => ({ series: s.series, values: s.values })),
    alert_rule_test: [
      {
        eval_time: c.evalTime,
        alertname: rule.alert,
        exp_alerts: c.fires.map((labels) => ({
          exp_labels: { ...labels, ...rule.labels },
          exp_annotations: Object.fromEntries(
            Object.entries(rule.annotations).map(([k, v]) => [k, expand(v, labels)]),
          ),
        })),
      },
    ],
  };
}

/** Which rule file each test file loads besides its own (the recordings its alerts read). */
const NEEDS: Readonly<Record<string, readonly string[]>> = {
  saga: ['meshmart'],
  events: ['meshmart'],
  cache: ['meshmart'],
};

/** promtool unit-test documents, one per rule file that holds alerts: `<name>.test.yaml` beside `<name>.rules.yaml`. */
export function ruleTestFiles(
  files: readonly RuleFile[] = ruleFiles(),
): { name: string; doc: Record<string, unknown> }[] {
  const slos = serviceSlos();
  const cases = new Map<string, AlertCases>();
  for (const c of meshmartCases()) cases.set(c.alert, c);
  for (const slo of slos)
    for (const sev of ['page', 'ticket'] as const) {
      const c = sloCases(slo, sev);
      cases.set(c.alert, c);
    }
  const out: { name: string; doc: Record<string, unknown> }[] = [];
  for (const file of files) {
    const alerts = file.groups.flatMap((g) => g.rules).filter(isAlert);
    if (alerts.length === 0) continue;
    const tests = alerts.flatMap((rule) => {
      const c = cases.get(rule.alert);
      if (!c) throw new Error(`rule-tests: alert ${rule.alert} has no cases; add them to meshmartCases()`);
      return [testCase(rule, c.fires), testCase(rule, c.quiet)];
    });
    out.push({
      name: file.name,
      doc: {
        rule_files: [...(NEEDS[file.name] ?? []), file.name].map((n) => `${n}.rules.yaml`),
        // SLO files: the slow-burn cases span a day, and 5m steps keep promtool to seconds.
        evaluation_interval: file.name.startsWith('slo-') ? '5m' : '1m',
        tests,
      },
    });
  }
  return out;
}
