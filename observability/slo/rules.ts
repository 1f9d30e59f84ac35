import { kitMetrics } from '@meshmart/kit/metric-declarations';
import type { AlertingRule, RecordingRule, RuleGroup } from '../prometheus/types.ts';
import { errorBudget, SLO_PERIOD, type Slo } from './objectives.ts';

/** The windows the burn-rate alerts read, shortest first. */
export const SLI_WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d'] as const;
export type SliWindow = (typeof SLI_WINDOWS)[number];

/**
 * Multi-window, multi-burn-rate alerts from the Google SRE workbook (ch. 5, table 5-8), as Sloth and Pyrra generate
 * them: a long window says the budget is really burning, a short one says it still is (so the alert resets fast).
 */
export interface BurnRateWindow {
  readonly long: SliWindow;
  readonly short: SliWindow;
  /** How many times faster than "exactly the budget over the period" the errors arrive. */
  readonly factor: number;
}

export const PAGE_WINDOWS: readonly BurnRateWindow[] = [
  { long: '1h', short: '5m', factor: 14.4 },
  { long: '6h', short: '30m', factor: 6 },
];
export const TICKET_WINDOWS: readonly BurnRateWindow[] = [
  { long: '1d', short: '2h', factor: 3 },
  { long: '3d', short: '6h', factor: 1 },
];

export const SLI_RECORD = 'slo:sli_error:ratio_rate';
export const OBJECTIVE_RECORD = 'slo:objective:ratio';
export const BUDGET_RECORD = 'slo:error_budget:ratio';
export const PERIOD_ERROR_RECORD = `slo:sli_error:ratio_rate${SLO_PERIOD}`;
export const BUDGET_REMAINING_RECORD = 'slo:error_budget_remaining:ratio';

const HISTOGRAM = kitMetrics.httpRequestDuration.name;

/** The labels every SLO series carries, which is also how alerts and dashboards pick one. */
export function sloLabels(slo: Slo): { service: string; slo: string } {
  return { service: slo.service, slo: slo.kind };
}

function selector(slo: Slo, extra = ''): string {
  return `{service="${slo.service}"${extra}}`;
}

/** The fraction of bad requests over one window. `le` is written as Prometheus 3 normalises it. */
export function sliErrorExpr(slo: Slo, window: string): string {
  const total = `sum(rate(${HISTOGRAM}_count${selector(slo)}[${window}]))`;
  if (slo.kind === 'availability')
    return `sum(rate(${HISTOGRAM}_count${selector(slo, ',status_class="5xx"')}[${window}])) / ${total}`;
  const le = leLabel(slo.thresholdSeconds ?? 0);
  return `1 - (sum(rate(${HISTOGRAM}_bucket${selector(slo, `,le="${le}"`)}[${window}])) / ${total})`;
}

/** Prometheus 3 normalises classic-histogram `le` values to floats ("1" -> "1.0"); 0.25 stays "0.25". */
export function leLabel(seconds: number): string {
  return Number.isInteger(seconds) ? seconds.toFixed(1) : String(seconds);
}

/** Recording rules of one SLO: the error ratio per window, the objective, and the 30-day budget left. */
export function sloRecordingRules(slo: Slo): RecordingRule[] {
  const labels = sloLabels(slo);
  const match = `{service="${slo.service}",slo="${slo.kind}"}`;
  return [
    ...SLI_WINDOWS.map((w) => ({ record: `${SLI_RECORD}${w}`, expr: sliErrorExpr(slo, w), labels })),
    { record: OBJECTIVE_RECORD, expr: `vector(${slo.objective})`, labels },
    { record: BUDGET_RECORD, expr: `vector(${errorBudget(slo)})`, labels },
    // The 30-day ratio from the 5m one (as Sloth does): a 30d range over raw counters would be too heavy to evaluate.
    {
      record: PERIOD_ERROR_RECORD,
      expr: `avg_over_time(${SLI_RECORD}5m${match}[${SLO_PERIOD}])`,
      labels,
    },
    {
      record: BUDGET_REMAINING_RECORD,
      expr: `1 - (${PERIOD_ERROR_RECORD}${match} / ${errorBudget(slo)})`,
      labels,
    },
  ];
}

export type Severity = 'page' | 'ticket';

export function burnAlertName(slo: Slo, severity: Severity): string {
  const pascal = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
  return `${pascal(slo.service)}${pascal(slo.kind)}BudgetBurn${severity === 'page' ? 'Fast' : 'Slow'}`;
}

/** `(long > f*budget and short > f*budget) or (...)`: every pair must agree before the alert fires. */
export function burnRateExpr(slo: Slo, windows: readonly BurnRateWindow[]): string {
  const match = `{service="${slo.service}",slo="${slo.kind}"}`;
  const budget = errorBudget(slo);
  return windows
    .map((w) => {
      const threshold = Number((w.factor * budget).toPrecision(6));
      return `(${SLI_RECORD}${w.long}${match} > ${threshold} and ${SLI_RECORD}${w.short}${match} > ${threshold})`;
    })
    .join(' or ');
}

export function sloAlertRule(slo: Slo, severity: Severity): AlertingRule {
  const windows = severity === 'page' ? PAGE_WINDOWS : TICKET_WINDOWS;
  const pairs = windows.map((w) => `${w.long}/${w.short} at ${w.factor}x`).join(', ');
  return {
    alert: burnAlertName(slo, severity),
    expr: burnRateExpr(slo, windows),
    for: severity === 'page' ? '2m' : '15m',
    labels: { severity, ...sloLabels(slo) },
    annotations: {
      summary: `${slo.service} is burning its ${slo.kind} error budget ${severity === 'page' ? 'fast' : 'steadily'}`,
      description:
        `SLO: ${slo.description} over ${SLO_PERIOD}. The error ratio is above the burn-rate threshold over ` +
        `both windows of ${pairs}.`,
      runbook_url: 'docs/observability.md#slo-alerts',
    },
  };
}

/**
 * Per service (as Sloth does per SLO): a recording group, and an alert group reading it. One file per service keeps
 * each promtool test evaluating only that service's rules.
 */
export function sloRuleGroups(
  slos: readonly Slo[],
): { service: string; recordings: RuleGroup; alerts: RuleGroup }[] {
  const services = [...new Set(slos.map((s) => s.service))];
  return services.map((service) => {
    const own = slos.filter((s) => s.service === service);
    return {
      service,
      recordings: { name: `slo-sli-${service}`, rules: own.flatMap(sloRecordingRules) },
      alerts: {
        name: `slo-alerts-${service}`,
        rules: own.flatMap((s) => [sloAlertRule(s, 'page'), sloAlertRule(s, 'ticket')]),
      },
    };
  });
}
