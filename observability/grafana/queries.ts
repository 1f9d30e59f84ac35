/** PromQL fragments the dashboards share. `sel` is a label matcher list without braces, e.g. `service="cart"`. */
const RI = '$__rate_interval';

const braces = (sel: string) => (sel ? `{${sel}}` : '');
const and = (sel: string, extra: string) => [sel, extra].filter(Boolean).join(',');

export const REQUESTS = 'http_request_duration_seconds';

export function rate(metric: string, sel: string, by: string, window = RI): string {
  return `sum by (${by}) (rate(${metric}${braces(sel)}[${window}]))`;
}

/** Requests per second. */
export function requestRate(sel: string, by: string): string {
  return rate(`${REQUESTS}_count`, sel, by);
}

/**
 * 5xx share of requests. A group with traffic and no 5xx series yet reads 0 (the `or ... * 0`), not "no data": a
 * service that never failed has an error ratio, and it is zero.
 */
export function errorRatio(sel: string, by: string, window = RI): string {
  const total = rate(`${REQUESTS}_count`, sel, by, window);
  const bad = rate(`${REQUESTS}_count`, and(sel, 'status_class="5xx"'), by, window);
  return `(${bad} or ${total} * 0) / ${total}`;
}

export function quantile(q: number, metric: string, sel: string, by: string): string {
  const groups = by ? `${by}, le` : 'le';
  return `histogram_quantile(${q}, sum by (${groups}) (rate(${metric}_bucket${braces(sel)}[${RI}])))`;
}

/** Share of a counter's increase whose label matches `good` (e.g. cache hits). */
export function share(metric: string, sel: string, good: string, by: string): string {
  return `${rate(metric, and(sel, good), by)} / ${rate(metric, sel, by)}`;
}
