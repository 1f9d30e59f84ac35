import { SpanKind, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { kitMetrics } from '../metric-declarations.ts';
import { DeclaredMetrics } from '../metrics.ts';
import type { CircuitState } from './circuit-breaker.ts';

/** Why an attempt failed, the `reason` label of `http_client_failures_total`. */
export type FailureReason = 'timeout' | 'connection' | 'server_error' | 'circuit_open' | 'signing';

const STATE_VALUE: Readonly<Record<CircuitState, number>> = { closed: 0, 'half-open': 1, open: 2 };

interface ClientMetrics {
  readonly duration: Histogram<'upstream' | 'method' | 'status_class'>;
  readonly retries: Counter<'upstream'>;
  readonly circuitState: Gauge<'upstream'>;
  readonly failures: Counter<'upstream' | 'reason'>;
}

/** The same declarations in the same registry give the same metrics, so several clients share them. */
function clientMetrics(registry: Registry): ClientMetrics {
  const declared = DeclaredMetrics.of(registry);
  return {
    duration: declared.histogram(kitMetrics.httpClientRequestDuration),
    retries: declared.counter(kitMetrics.httpClientRetries),
    circuitState: declared.gauge(kitMetrics.httpClientCircuitState),
    failures: declared.counter(kitMetrics.httpClientFailures),
  };
}

/**
 * The metrics of one client, labelled with its upstream. Without a registry nothing is created and every method does
 * nothing, so the call path never has to ask whether metrics are on.
 */
export class ClientMetricsRecorder {
  private readonly metrics: ClientMetrics | undefined;

  constructor(
    private readonly upstream: string,
    registry: Registry | undefined,
  ) {
    this.metrics = registry ? clientMetrics(registry) : undefined;
  }

  circuitState(state: CircuitState): void {
    this.metrics?.circuitState.set({ upstream: this.upstream }, STATE_VALUE[state]);
  }

  failure(reason: FailureReason): void {
    this.metrics?.failures.inc({ upstream: this.upstream, reason });
  }

  retry(): void {
    this.metrics?.retries.inc({ upstream: this.upstream });
  }

  /** One attempt's duration from `started` (a `performance.now()` reading) until now. */
  attemptDuration(method: string, statusClass: string, started: number): void {
    this.metrics?.duration.observe(
      { upstream: this.upstream, method, status_class: statusClass },
      (performance.now() - started) / 1e3,
    );
  }
}

/**
 * The CLIENT span of one attempt, or undefined when the parent is not recording: the unsampled path stays
 * allocation-light.
 */
export function startAttemptSpan(
  parent: Context,
  serverAttributes: Attributes,
  method: string,
  path: string,
  resendCount: number,
): Span | undefined {
  if (!trace.getSpan(parent)?.isRecording()) return undefined;
  return trace.getTracer('@meshmart/kit').startSpan(
    `HTTP ${method}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        ...serverAttributes,
        'http.request.method': method,
        'url.path': path.split('?', 1)[0],
        ...(resendCount > 0 ? { 'http.request.resend_count': resendCount } : {}),
      },
    },
    parent,
  );
}

/** The `error.type` of a span for a transport error: its code (`ECONNREFUSED`) or its name. */
export function errorType(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : err instanceof Error ? err.name : 'error';
}
