import type { GeneratedDashboard } from '@meshmart/observability/grafana/dashboards.ts';

export interface PanelQuery {
  readonly dashboard: string;
  readonly panel: string;
  readonly refId: string;
  readonly expr: string;
}

/** Every query of every panel, in dashboard order. */
export function panelQueries(list: readonly GeneratedDashboard[]): PanelQuery[] {
  const out: PanelQuery[] = [];
  for (const d of list) {
    for (const p of d.json.panels as {
      type: string;
      title: string;
      targets?: { expr: string; refId: string }[];
    }[]) {
      for (const t of p.targets ?? [])
        out.push({ dashboard: d.uid, panel: p.title, refId: t.refId, expr: t.expr });
    }
  }
  return out;
}

/** What Grafana would put in for the variables: every version, a rate window of at least four scrapes, the range. */
export function substitute(expr: string, vars: { rateInterval?: string; range?: string } = {}): string {
  return expr
    .replaceAll('$__rate_interval', vars.rateInterval ?? '1m')
    .replaceAll('$__range', vars.range ?? '5m')
    .replaceAll('$version', '.*');
}

const KEYWORDS = new Set([
  ...[
    'by',
    'without',
    'on',
    'ignoring',
    'group_left',
    'group_right',
    'and',
    'or',
    'unless',
    'offset',
    'bool',
  ],
  ...[
    'sum',
    'min',
    'max',
    'avg',
    'count',
    'group',
    'stddev',
    'stdvar',
    'topk',
    'bottomk',
    'quantile',
    'count_values',
  ],
]);
const LIST_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

/**
 * Adds a label matcher to every series selector of a PromQL expression (`rate(x{a="b"}[1m])` ->
 * `rate(x{run="r",a="b"}[1m])`), so the live test reads only its own run's targets even when other suites' exporters
 * are scraped by the same Prometheus. Handles what the generated dashboards use: functions, aggregations with
 * by/on lists, binary operators, ranges, strings.
 */
export function scoped(expr: string, matcher: string): string {
  let out = '';
  let i = 0;
  const n = expr.length;
  while (i < n) {
    const c = expr[i];
    if (c === '"') {
      const end = expr.indexOf('"', i + 1);
      out += expr.slice(i, end + 1);
      i = end + 1;
    } else if (c === '[') {
      const end = expr.indexOf(']', i);
      out += expr.slice(i, end + 1);
      i = end + 1;
    } else if (c === '{') {
      // A selector without a metric name: `{a="b"}`.
      out += `{${matcher},`;
      i++;
      const end = expr.indexOf('}', i);
      out += expr.slice(i, end + 1);
      i = end + 1;
    } else if (/[a-zA-Z_:]/.test(c)) {
      let j = i;
      while (j < n && /[a-zA-Z0-9_:]/.test(expr[j])) j++;
      const word = expr.slice(i, j);
      let k = j;
      while (k < n && expr[k] === ' ') k++;
      out += word;
      if (LIST_KEYWORDS.has(word) && expr[k] === '(') {
        const end = expr.indexOf(')', k);
        out += expr.slice(j, end + 1);
        i = end + 1;
        continue;
      }
      if (KEYWORDS.has(word) || expr[k] === '(') {
        i = j;
        continue;
      }
      if (expr[j] === '{') {
        const end = expr.indexOf('}', j);
        const inner = expr.slice(j + 1, end);
        out += `{${matcher}${inner ? `,${inner}` : ''}}`;
        i = end + 1;
      } else {
        out += `{${matcher}}`;
        i = j;
      }
    } else if (/[0-9]/.test(c)) {
      let j = i;
      // Numbers and durations (`0.99`, `1h`, `1e3`).
      while (j < n && /[0-9a-zA-Z.]/.test(expr[j])) j++;
      out += expr.slice(i, j);
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Every metric name a PromQL expression reads (recording rules included: they contain ':'). */
export function metricNames(expr: string): string[] {
  const names = new Set<string>();
  const marked = scoped(expr, '__mark__="1"');
  for (const m of marked.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{__mark__="1"/g)) names.add(m[1]);
  return [...names];
}
