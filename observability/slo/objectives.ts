import { SERVICE_NAMES, type ServiceName } from '@meshmart/catalogue';
import { kitMetrics } from '@meshmart/kit/metric-declarations';

/** An SLO's latency threshold is one of the request histogram's buckets, so its SLI is one `le` series. */
const DURATION_BUCKETS = kitMetrics.httpRequestDuration.buckets;

/** What one SLO measures over the kit's request histogram (http_request_duration_seconds, label `service`). */
export type SliKind = 'availability' | 'latency';

export interface Slo {
  readonly service: ServiceName;
  readonly kind: SliKind;
  /** Fraction of good requests over the window, e.g. 0.999. */
  readonly objective: number;
  /** Latency SLOs: a request is good when it took at most this long; must be a bucket bound of the histogram. */
  readonly thresholdSeconds?: number;
  readonly description: string;
}

/** The compliance window every objective is measured over. */
export const SLO_PERIOD = '30d';

/** A service's latency threshold unless listed below: a new catalogue entry needs no edit here. */
const DEFAULT_LATENCY_THRESHOLD = 0.25;

/** The gateway fans out to several services per request, so its latency threshold is looser. */
const LATENCY_THRESHOLD: Readonly<Partial<Record<ServiceName, number>>> = { gateway: 0.5 };

export interface SloOptions {
  /** @default 0.999 */
  readonly availability?: number;
  /** @default 0.99 */
  readonly latency?: number;
  /** Latency thresholds in seconds per service. @default 0.25, the gateway 0.5 */
  readonly thresholds?: Partial<Record<ServiceName, number>>;
}

/** Per service: 99.9% of requests not 5xx, and 99% of requests within the service's latency threshold, over 30 days. */
export function serviceSlos(options: SloOptions = {}): Slo[] {
  const availability = options.availability ?? 0.999;
  const latency = options.latency ?? 0.99;
  return SERVICE_NAMES.flatMap((service): Slo[] => {
    const threshold =
      options.thresholds?.[service] ?? LATENCY_THRESHOLD[service] ?? DEFAULT_LATENCY_THRESHOLD;
    if (!DURATION_BUCKETS.includes(threshold))
      throw new Error(
        `serviceSlos: ${service}'s latency threshold ${threshold}s is not a bucket of the kit's histogram; ` +
          `choose one of ${DURATION_BUCKETS.join(', ')}`,
      );
    return [
      {
        service,
        kind: 'availability',
        objective: availability,
        description: `${pct(availability)} of ${service} requests answer without a 5xx`,
      },
      {
        service,
        kind: 'latency',
        objective: latency,
        thresholdSeconds: threshold,
        description: `${pct(latency)} of ${service} requests answer within ${threshold * 1000} ms`,
      },
    ];
  });
}

function pct(ratio: number): string {
  return `${Number((ratio * 100).toFixed(3))}%`;
}

/** The error budget: the fraction of requests allowed to be bad. */
export function errorBudget(slo: Slo): number {
  return Number((1 - slo.objective).toPrecision(6));
}
