import type { Context } from '@opentelemetry/api';
import { dependenciesOf, type DependencyOf } from '@meshmart/catalogue';
import { AppError, type Logger, type Metrics } from '@meshmart/kit';
import {
  createHttpClient,
  type HttpClient,
  type HttpMethod,
  type HttpResponse,
  type QueryValue,
  type UpstreamPolicy,
} from '@meshmart/kit/http';

/** The services the gateway routes to: the catalogue's `dependsOn` of the gateway. */
export const UPSTREAMS = dependenciesOf('gateway');
export type Upstream = DependencyOf<'gateway'>;

export interface UpstreamsProps {
  readonly urls: Readonly<Record<Upstream, string>>;
  /** Deadline of one call, retries included, unless the upstream's policy sets one. @default 2000 */
  readonly timeoutMs?: number;
  readonly policies?: Partial<Record<Upstream, UpstreamPolicy>>;
  readonly registry?: Metrics['registry'];
  readonly logger?: Logger;
}

export interface CallOptions {
  readonly query?: Readonly<Record<string, QueryValue>>;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  readonly idempotencyKey?: string;
  /** The request's trace context, carried to the upstream as traceparent. */
  readonly trace?: Context;
  readonly requestId?: string;
  /** Overrides the deadline, e.g. for a call that asked the upstream to wait (`Prefer: wait`). */
  readonly timeoutMs?: number;
  /** The client went away: the upstream call is cancelled. */
  readonly signal?: AbortSignal;
}

/**
 * One kit HTTP client per upstream (deadline, retries on idempotent calls only, circuit breaker). `call` resolves
 * the 2xx/3xx answers and turns everything else into the AppError the gateway answers with: an upstream problem
 * keeps its status, type and detail; an unreachable upstream or an open breaker is a 503 with Retry-After.
 */
export class Upstreams {
  private readonly clients: Record<Upstream, HttpClient>;

  constructor(props: UpstreamsProps) {
    const make = (upstream: Upstream): HttpClient =>
      createHttpClient({
        upstream,
        baseUrl: props.urls[upstream],
        timeoutMs: props.timeoutMs ?? 2000,
        ...props.policies?.[upstream],
        ...(props.registry ? { registry: props.registry } : {}),
        ...(props.logger ? { logger: props.logger } : {}),
      });
    this.clients = Object.fromEntries(UPSTREAMS.map((u) => [u, make(u)])) as Record<Upstream, HttpClient>;
  }

  async call<T = unknown>(
    upstream: Upstream,
    method: HttpMethod,
    path: string,
    options: CallOptions = {},
  ): Promise<HttpResponse<T>> {
    let res: HttpResponse<T>;
    try {
      res = await this.clients[upstream].request<T>({
        method,
        path,
        ...(options.query ? { query: options.query } : {}),
        ...(options.body !== undefined ? { body: options.body } : {}),
        ...(options.headers ? { headers: options.headers } : {}),
        ...(options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : {}),
        ...(options.trace ? { context: options.trace } : {}),
        ...(options.requestId ? { requestId: options.requestId } : {}),
        ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (err) {
      throw fromUpstreamFailure(upstream, err);
    }
    if (res.status >= 400) throw fromUpstreamProblem(upstream, res);
    return res;
  }

  async close(): Promise<void> {
    await Promise.all(Object.values(this.clients).map((c) => c.close()));
  }
}

interface UpstreamProblem {
  type?: unknown;
  detail?: unknown;
  errors?: unknown;
}

/** Problem members the gateway sets itself; every other member of an upstream problem is passed on. */
const STANDARD = new Set(['type', 'title', 'status', 'detail', 'instance', 'errors']);

/**
 * An upstream 4xx: its problem goes to the client as the gateway's own (same status, type and detail), with its
 * extension members (e.g. totalCents and limitCents of amount-over-limit); `instance` is the upstream's own path.
 */
function fromUpstreamProblem(upstream: Upstream, res: HttpResponse): AppError {
  const problem = (typeof res.body === 'object' && res.body !== null ? res.body : {}) as UpstreamProblem;
  const extensions = Object.fromEntries(
    Object.entries(problem).filter(([key]) => !STANDARD.has(key) && !key.startsWith('_')),
  );
  const code =
    typeof problem.type === 'string' && problem.type.startsWith('/problems/')
      ? problem.type.slice('/problems/'.length)
      : 'upstream-rejected';
  const detail = typeof problem.detail === 'string' ? problem.detail : `${upstream} answered ${res.status}`;
  const retryAfter = res.headers['retry-after'];
  return new AppError(res.status, code, detail, {
    ...(Object.keys(extensions).length > 0 ? { extensions } : {}),
    ...(Array.isArray(problem.errors)
      ? { errors: problem.errors as { field: string; message: string }[] }
      : {}),
    ...(typeof retryAfter === 'string' ? { headers: { 'Retry-After': retryAfter } } : {}),
  });
}

/**
 * What the kit's client throws: 503 (unreachable, breaker open), 504 (deadline) or 502 (an upstream 5xx, the
 * response as cause). An upstream 503 problem (e.g. cart's catalog-unavailable) keeps its type and detail.
 */
function fromUpstreamFailure(upstream: Upstream, err: unknown): AppError {
  if (!(err instanceof AppError)) {
    return new AppError(503, 'upstream-unavailable', `${upstream} cannot be reached`, {
      cause: err,
      headers: { 'Retry-After': '1' },
    });
  }
  const cause = err.cause as Partial<HttpResponse> | undefined;
  if (err.code === 'upstream-error' && cause?.status === 503) {
    const passed = fromUpstreamProblem(upstream, cause as HttpResponse);
    return new AppError(503, passed.code, passed.message, {
      cause: err,
      headers: { 'Retry-After': String(cause.headers?.['retry-after'] ?? '1') },
    });
  }
  if (err.status === 503) {
    const retryAfter = err.headers?.['retry-after'] ?? err.headers?.['Retry-After'] ?? '1';
    return new AppError(503, err.code, `${upstream} is unavailable, try again shortly`, {
      cause: err,
      extensions: { upstream },
      headers: { 'Retry-After': retryAfter },
    });
  }
  return new AppError(err.status, err.code, err.message, {
    cause: err,
    extensions: { upstream },
    ...(err.status === 504 ? { headers: { 'Retry-After': '1' } } : {}),
  });
}
