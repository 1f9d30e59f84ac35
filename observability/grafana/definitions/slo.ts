import { bucketOf, countOf } from '@meshmart/kit/metric-declarations';
import { errorBudget, serviceSlos, type Slo } from '../../slo/objectives.ts';
import { BUDGET_RECORD, BUDGET_REMAINING_RECORD, leLabel, SLI_RECORD } from '../../slo/rules.ts';
import { TAGS, type DashboardDef, type PanelDef } from '../model.ts';
import { REQUESTS } from '../queries.ts';

/** Error budget left over the dashboard's range: 1 - (bad share / budget). Inline, so it works without the rules. */
function budgetLeft(slo: Slo): string {
  const sel = `service="${slo.service}"`;
  const total = `sum(rate(${countOf(REQUESTS)}{${sel}}[$__range]))`;
  const bad =
    slo.kind === 'availability'
      ? `(sum(rate(${countOf(REQUESTS)}{${sel},status_class="5xx"}[$__range])) or vector(0)) / ${total}`
      : `1 - sum(rate(${bucketOf(REQUESTS)}{${sel},le="${leLabel(slo.thresholdSeconds ?? 0)}"}[$__range])) / ${total}`;
  return `1 - (${bad}) / ${errorBudget(slo)}`;
}

function burnRate(slo: Slo, window: string): string {
  const sel = `service="${slo.service}"`;
  const total = `sum(rate(${countOf(REQUESTS)}{${sel}}[${window}]))`;
  const bad =
    slo.kind === 'availability'
      ? `(sum(rate(${countOf(REQUESTS)}{${sel},status_class="5xx"}[${window}])) or vector(0)) / ${total}`
      : `(1 - sum(rate(${bucketOf(REQUESTS)}{${sel},le="${leLabel(slo.thresholdSeconds ?? 0)}"}[${window}])) / ${total})`;
  return `(${bad}) / ${errorBudget(slo)}`;
}

export function sloDashboard(): DashboardDef {
  const slos = serviceSlos();
  const byKind = (kind: Slo['kind']) => slos.filter((s) => s.kind === kind);
  return {
    uid: 'meshmart-slos',
    title: 'MeshMart / SLOs',
    description:
      'Availability (99.9% not 5xx) and latency (99% within the threshold) per service. Budget left is over the ' +
      "dashboard's range: set it to 30 days for the SLO period.",
    tags: [...TAGS, 'slo'],
    from: 'now-30d',
    rows: [
      ...(['availability', 'latency'] as const).map((kind) => ({
        title: `Error budget left: ${kind}`,
        panels: byKind(kind).map((slo): PanelDef => ({
          title: `${slo.service} ${kind}`,
          description: slo.description,
          viz: 'stat',
          unit: 'percentunit',
          width: 3,
          queries: [{ expr: budgetLeft(slo) }],
        })),
      })),
      {
        title: 'Burn rate (1 = spending exactly the budget over 30 days)',
        panels: (['availability', 'latency'] as const).map((kind): PanelDef => ({
          title: `Burn rate, ${kind}, 1h`,
          viz: 'timeseries',
          unit: 'short',
          width: 12,
          queries: byKind(kind).map((slo) => ({ expr: burnRate(slo, '1h'), legend: slo.service })),
        })),
      },
      {
        title: 'From the recording rules',
        panels: [
          {
            title: 'Error budget left (30d, recorded)',
            viz: 'timeseries',
            unit: 'percentunit',
            width: 12,
            queries: [{ expr: BUDGET_REMAINING_RECORD, legend: '{{service}} {{slo}}' }],
          },
          {
            title: 'Burn rate 1h (recorded)',
            viz: 'timeseries',
            unit: 'short',
            width: 12,
            queries: [
              { expr: `${SLI_RECORD}1h / on (service, slo) ${BUDGET_RECORD}`, legend: '{{service}} {{slo}}' },
            ],
          },
        ],
      },
    ],
  };
}
