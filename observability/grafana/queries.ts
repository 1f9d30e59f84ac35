import {
  bucketOf,
  countOf,
  kitMetrics,
  type CounterDeclaration,
  type HistogramDeclaration,
} from '@meshmart/kit/metric-declarations';

/**
 * PromQL fragments the dashboards share, over declared metrics (a renamed metric follows, a removed one fails the
 * build). `sel` is a label matcher list without braces, e.g. `service="cart"`.
 */
const RI = '$__rate_interval';

const braces = (sel: string) => (sel ? `{${sel}}` : '');
const and = (sel: string, extra: string) => [sel, extra].filter(Boolean).join(',');

export const REQUESTS = kitMetrics.httpRequestDuration;

/** `series`: a counter's name (`decl.name`) or a histogram's `countOf(decl)`. */
export function rate(series: string, sel: string, by: string, window = RI): string {
  return `sum by (${by}) (rate(${series}${braces(sel)}[${window}]))`;
}

/** Requests per second. */
export function requestRate(sel: string, by: string): string {
  return rate(countOf(REQUESTS), sel, by);
}

/**
 * 5xx share of requests. A group with traffic and no 5xx series yet reads 0 (the `or ... * 0`), not "no data": a
 * service that never failed has an error ratio, and it is zero.
 */
export function errorRatio(sel: string, by: string, window = RI): string {
  const total = rate(countOf(REQUESTS), sel, by, window);
  const bad = rate(countOf(REQUESTS), and(sel, 'status_class="5xx"'), by, window);
  return `(${bad} or ${total} * 0) / ${total}`;
}

export function quantile(q: number, histogram: HistogramDeclaration, sel: string, by: string): string {
  const groups = by ? `${by}, le` : 'le';
  return `histogram_quantile(${q}, sum by (${groups}) (rate(${bucketOf(histogram)}${braces(sel)}[${RI}])))`;
}

/** Share of a counter's increase whose label matches `good` (e.g. cache hits). */
export function share(counter: CounterDeclaration, sel: string, good: string, by: string): string {
  return `${rate(counter.name, and(sel, good), by)} / ${rate(counter.name, sel, by)}`;
}
