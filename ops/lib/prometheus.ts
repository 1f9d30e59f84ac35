import { kitMetrics } from '@meshmart/kit/metric-declarations';

/** One number from a Prometheus instant query; undefined for an empty result or NaN (no requests in the window). */
export async function queryNumber(
  baseUrl: string,
  query: string,
  signal?: AbortSignal,
): Promise<number | undefined> {
  const url = `${baseUrl.replace(/\/$/, '')}/api/v1/query?${new URLSearchParams({ query }).toString()}`;
  const res = await fetch(url, { ...(signal ? { signal } : {}), headers: { accept: 'application/json' } });
  const body = (await res.json().catch(() => undefined)) as
    { status: string; error?: string; data?: { resultType: string; result: unknown } } | undefined;
  if (!res.ok || body?.status !== 'success')
    throw new Error(
      `Prometheus ${baseUrl} answered ${res.status} to ${query}: ${body?.error ?? 'no JSON body'}`,
    );
  const { resultType, result } = body.data!;
  let text: string | undefined;
  if (resultType === 'scalar') text = (result as [number, string])[1];
  else if (resultType === 'vector') {
    const samples = result as { value: [number, string] }[];
    if (samples.length > 1)
      throw new Error(`Prometheus query returned ${samples.length} series, expected one: ${query}`);
    text = samples[0]?.value[1];
  } else throw new Error(`Prometheus query returned a ${resultType}, expected a vector: ${query}`);
  if (text === undefined) return undefined;
  const n = Number(text);
  return Number.isNaN(n) ? undefined : n;
}

export interface CanaryQueryOptions {
  readonly service: string;
  readonly version: string;
  /** Range of rate(): long enough to hold two scrapes. @default '1m' */
  readonly window?: string;
  /** The kit's request histogram. @default kitMetrics.httpRequestDuration.name */
  readonly metric?: string;
  /** Label the kit's registry sets on every series. @default 'service' */
  readonly serviceLabel?: string;
  /** Label the scrape config copies from the pod label app.kubernetes.io/version. @default 'version' */
  readonly versionLabel?: string;
  /** Extra label matchers, e.g. `namespace="meshmart"`. */
  readonly selector?: string;
}

function quote(value: string): string {
  return JSON.stringify(value);
}

/** PromQL for the gates, over the kit's request histogram of one version of one service. */
export function canaryQueries(o: CanaryQueryOptions): {
  successRate: string;
  p99Seconds: string;
  requestRate: string;
} {
  const metric = o.metric ?? kitMetrics.httpRequestDuration.name;
  const window = o.window ?? '1m';
  const matchers = [
    `${o.serviceLabel ?? 'service'}=${quote(o.service)}`,
    `${o.versionLabel ?? 'version'}=${quote(o.version)}`,
    ...(o.selector ? [o.selector] : []),
  ].join(',');
  const rate = (extra = ''): string => `sum(rate(${metric}_count{${matchers}${extra}}[${window}]))`;
  return {
    // Like Flagger's request-success-rate: everything but 5xx counts as a success.
    // `or vector(0)` keeps a version that only fails at 0% instead of "no data".
    successRate: `100 * (${rate(',status_class!="5xx"')} or vector(0)) / ${rate()}`,
    p99Seconds: `histogram_quantile(0.99, sum by (le) (rate(${metric}_bucket{${matchers}}[${window}])))`,
    requestRate: rate(),
  };
}
