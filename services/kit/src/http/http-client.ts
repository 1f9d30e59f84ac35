import { setTimeout as sleep } from 'node:timers/promises';
import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { Pool } from 'undici';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import {
  CircuitBreaker,
  CircuitOpenError,
  type CircuitBreakerOptions,
  type CircuitPermit,
  type CircuitState,
} from './circuit-breaker.ts';
import { fullJitterDelay, parseRetryAfter } from './retry.ts';
import type { RequestSigner, SigV4Options } from './sigv4.ts';

export type HttpMethod = 'GET' | 'HEAD' | 'OPTIONS' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type HttpHeaders = Readonly<Record<string, string | string[] | undefined>>;
export type QueryValue =
  string | number | boolean | null | undefined | readonly (string | number | boolean)[];

export interface HttpClientOptions {
  /** Upstream name: metric label, span peer and `extensions.upstream` of every error. */
  readonly upstream: string;
  /** Origin plus an optional path prefix, e.g. `http://catalog:8080/api`. */
  readonly baseUrl: string;
  /** Deadline of one call: every attempt, body read and backoff included. @default 2_000 */
  readonly timeoutMs?: number;
  /** Cap on one attempt, so a hung attempt leaves budget for a retry. @default timeoutMs */
  readonly attemptTimeoutMs?: number;
  /** Retries after the first attempt, for idempotent calls only. @default 2 */
  readonly retries?: number;
  /** @default 50 */
  readonly retryBaseMs?: number;
  /** @default 1_000 */
  readonly retryCapMs?: number;
  /** Uniform in [0, 1) for the backoff jitter. @default Math.random */
  readonly random?: () => number;
  /** The per-upstream circuit breaker; `name` is the upstream. */
  readonly breaker?: Omit<CircuitBreakerOptions, 'name'>;
  /** Keep-alive connections to the upstream. @default 16 */
  readonly connections?: number;
  /** Idle keep-alive sockets close after this; below Node's server default of 5 s so the client closes first. @default 4_000 */
  readonly keepAliveTimeoutMs?: number;
  /**
   * Sign every attempt with SigV4 (VPC Lattice's IAM auth: service `vpc-lattice-svcs`). The signer and the AWS SDK
   * are loaded on the first call, so clients without it never load them. @default no signing
   */
  readonly sigv4?: SigV4Options;
  /** Where the client metrics go; without it no metrics are recorded. */
  readonly registry?: Registry;
  readonly logger?: Logger;
}

export interface HttpRequestOptions {
  readonly method: HttpMethod;
  /** Path below the base URL, starting with `/`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, QueryValue>>;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as JSON. */
  readonly body?: unknown;
  /** Sent as `Idempotency-Key`; makes any method retryable. */
  readonly idempotencyKey?: string;
  /** Forwarded as `x-request-id`. */
  readonly requestId?: string;
  /**
   * Overrides the client's deadline for this call. A longer one (a call that asks the server to wait, `Prefer: wait`)
   * also lets each attempt run that long.
   */
  readonly timeoutMs?: number;
  /** Overrides the cap on one attempt for this call. */
  readonly attemptTimeoutMs?: number;
  /** Cancels the call; its reason is rethrown as is and the breaker does not count it. */
  readonly signal?: AbortSignal;
  /**
   * Trace context of the caller (a handler's `trace`, a delivery's `context`).
   * @default the active context, which is empty unless an AsyncLocalStorage context manager is registered
   */
  readonly context?: Context;
}

export type RequestShorthandOptions = Omit<HttpRequestOptions, 'method' | 'path' | 'body'>;

export interface HttpResponse<T = unknown> {
  readonly status: number;
  readonly headers: HttpHeaders;
  /** Parsed JSON for JSON content types, text otherwise, undefined when empty. */
  readonly body: T;
}

export interface HttpClient {
  readonly upstream: string;
  readonly breaker: CircuitBreaker;
  /**
   * Resolves with every 1xx-4xx answer (the caller decides what a 404 means) and throws AppError otherwise:
   * 502 `upstream-error` for a 5xx (the response is the `cause`), 504 `upstream-timeout`, 503 `upstream-unavailable`
   * for connection failures, 503 `circuit-open` when failing fast.
   */
  request<T = unknown>(options: HttpRequestOptions): Promise<HttpResponse<T>>;
  get<T = unknown>(path: string, options?: RequestShorthandOptions): Promise<HttpResponse<T>>;
  post<T = unknown>(
    path: string,
    body?: unknown,
    options?: RequestShorthandOptions,
  ): Promise<HttpResponse<T>>;
  put<T = unknown>(path: string, body?: unknown, options?: RequestShorthandOptions): Promise<HttpResponse<T>>;
  delete<T = unknown>(path: string, options?: RequestShorthandOptions): Promise<HttpResponse<T>>;
  /** Waits for in-flight calls, then closes the pooled connections. */
  close(): Promise<void>;
}

const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
const RETRYABLE_STATUS: ReadonlySet<number> = new Set([429, 502, 503, 504]);
/**
 * A retry needs at least this much of the deadline left after its delay: with less it cannot get an answer. An attempt
 * that timed out at the deadline leaves a millisecond or so (a timer may fire that much before performance.now() says
 * it is due), and a jittered delay of about 0 then sent a second request with nothing left to wait for it.
 */
const MIN_RETRY_BUDGET_MS = 10;
const JSON_TYPE = /^application\/(?:[^;]*\+)?json\s*(?:;|$)/i;
const STATE_VALUE: Readonly<Record<CircuitState, number>> = { closed: 0, 'half-open': 1, open: 2 };

type FailureReason = 'timeout' | 'connection' | 'server_error' | 'circuit_open' | 'signing';

interface ClientMetrics {
  readonly duration: Histogram<'upstream' | 'method' | 'status_class'>;
  readonly retries: Counter<'upstream'>;
  readonly circuitState: Gauge<'upstream'>;
  readonly failures: Counter<'upstream' | 'reason'>;
}

/** Reuses metrics already in the registry so several clients can share one. */
function clientMetrics(registry: Registry): ClientMetrics {
  const reuse = <M>(name: string, make: (name: string) => M): M =>
    (registry.getSingleMetric(name) as M | undefined) ?? make(name);
  const registers = [registry];
  return {
    duration: reuse(
      'http_client_request_duration_seconds',
      (name) =>
        new Histogram({
          name,
          help: 'Duration of one attempt of an outgoing HTTP request, body included',
          labelNames: ['upstream', 'method', 'status_class'],
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
          registers,
        }),
    ),
    retries: reuse(
      'http_client_retries_total',
      (name) =>
        new Counter({ name, help: 'Retried outgoing HTTP attempts', labelNames: ['upstream'], registers }),
    ),
    circuitState: reuse(
      'http_client_circuit_state',
      (name) =>
        new Gauge({
          name,
          help: 'Circuit breaker state per upstream: 0 closed, 1 half-open, 2 open',
          labelNames: ['upstream'],
          registers,
        }),
    ),
    failures: reuse(
      'http_client_failures_total',
      (name) =>
        new Counter({
          name,
          help: 'Failed outgoing HTTP attempts by reason',
          labelNames: ['upstream', 'reason'],
          registers,
        }),
    ),
  };
}

/** Raised on our own attempt timer so a timeout is told apart from other aborts. */
class AttemptTimeout extends Error {
  override readonly name = 'AttemptTimeout';
}

type Attempt = { response: HttpResponse; error?: undefined } | { error: AppError; retryable: boolean };

/**
 * A client for one upstream over a keep-alive undici Pool.
 *
 * Deadlines: `timeoutMs` bounds the whole call (connect, headers, body, backoff sleeps and every retry); each attempt
 * gets `min(attemptTimeoutMs, what is left)`, and a retry whose backoff or Retry-After would pass the deadline is not
 * made. Retries: only GET/HEAD/OPTIONS/PUT/DELETE or calls with an idempotency key, on connection errors, timeouts,
 * 429, 502, 503 and 504. Every attempt passes through the upstream's circuit breaker, which counts connection
 * errors, timeouts and 5xx as failures.
 */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  const { upstream } = options;
  const base = new URL(options.baseUrl);
  const timeoutMs = options.timeoutMs ?? 2_000;
  const attemptTimeoutMs = options.attemptTimeoutMs ?? timeoutMs;
  const retries = options.retries ?? 2;
  const backoff = {
    baseMs: options.retryBaseMs ?? 50,
    capMs: options.retryCapMs ?? 1_000,
    random: options.random,
  };
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new Error(`http client '${upstream}': baseUrl must be http(s), got '${options.baseUrl}'`);
  }
  if (!(timeoutMs > 0) || !(attemptTimeoutMs > 0)) {
    throw new Error(`http client '${upstream}': timeoutMs and attemptTimeoutMs must be > 0`);
  }
  if (!Number.isInteger(retries) || retries < 0) {
    throw new Error(`http client '${upstream}': retries must be a whole number >= 0, got ${retries}`);
  }

  const prefix = base.pathname.replace(/\/+$/, '');
  const serverAttributes: Attributes = {
    'server.address': base.hostname,
    'server.port': Number(base.port || (base.protocol === 'https:' ? 443 : 80)),
  };
  const pool = new Pool(base.origin, {
    connections: options.connections ?? 16,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 4_000,
  });
  const metrics = options.registry ? clientMetrics(options.registry) : undefined;
  metrics?.circuitState.set({ upstream }, 0);
  const breaker = new CircuitBreaker({
    ...options.breaker,
    name: upstream,
    onStateChange: (to, from) => {
      metrics?.circuitState.set({ upstream }, STATE_VALUE[to]);
      options.logger?.[to === 'open' ? 'warn' : 'info']({ upstream, from, to }, `circuit ${to}`);
      options.breaker?.onStateChange?.(to, from);
    },
  });
  let closed = false;
  const sigv4 = options.sigv4;
  let signer: Promise<RequestSigner> | undefined;
  const signerFor = (o: SigV4Options): Promise<RequestSigner> =>
    (signer ??= import('./sigv4-signer.ts').then((m) => m.createSigV4Signer(o)));

  const fail = (reason: FailureReason): void => metrics?.failures.inc({ upstream, reason });

  /**
   * Signs one attempt (a fresh date each time) within the attempt's budget: a credential fetch that hangs (STS) must
   * not hold the call. A failure (no credentials, STS down) is ours, not the upstream's.
   */
  async function sign(
    o: SigV4Options,
    method: HttpMethod,
    path: string,
    headers: Record<string, string>,
    budgetMs: number,
  ): Promise<{ path: string; headers: Record<string, string> } | AppError> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const signing = signerFor(o).then((s) =>
        s.sign({ method, protocol: base.protocol, host: base.host, path, headers }),
      );
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no credentials within ${Math.round(budgetMs)} ms`)),
          budgetMs,
        );
      });
      const signed = await Promise.race([signing, late]);
      return { path: signed.path, headers: { ...headers, host: base.host, ...signed.headers } };
    } catch (err) {
      fail('signing');
      return new AppError(
        503,
        'upstream-signing-failed',
        `${upstream}: cannot sign the request: ${errorMessage(err)}`,
        { cause: err, extensions: { upstream } },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  async function attempt(
    method: HttpMethod,
    path: string,
    headers: Record<string, string>,
    body: string | undefined,
    budgetMs: number,
    resendCount: number,
    signal: AbortSignal | undefined,
    parent: Context,
  ): Promise<Attempt> {
    let outgoing = { ...headers };
    if (sigv4) {
      // Signed before the breaker is asked: a signing failure says nothing about the upstream's health.
      const signed = await sign(sigv4, method, path, outgoing, budgetMs);
      if (signed instanceof AppError) return { error: signed, retryable: true };
      ({ path, headers: outgoing } = signed);
    }
    let permit: CircuitPermit;
    try {
      permit = breaker.acquire();
    } catch (err) {
      if (!(err instanceof CircuitOpenError)) throw err;
      fail('circuit_open');
      const retryAfter = Math.ceil(err.retryAfterMs / 1_000);
      return {
        error: new AppError(503, 'circuit-open', `${upstream}: ${err.message}`, {
          cause: err,
          extensions: { upstream },
          ...(retryAfter > 0 ? { headers: { 'retry-after': String(retryAfter) } } : {}),
        }),
        retryable: false,
      };
    }

    // Only a recording parent earns a span: the unsampled path stays allocation-light.
    let span: Span | undefined;
    if (trace.getSpan(parent)?.isRecording()) {
      span = trace.getTracer('@meshmart/kit').startSpan(
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
    propagation.inject(span ? trace.setSpan(parent, span) : parent, outgoing);

    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new AttemptTimeout()), budgetMs);
    const forwardAbort = (): void => controller.abort(signal?.reason);
    signal?.addEventListener('abort', forwardAbort, { once: true });
    const started = performance.now();
    const observe = (statusClass: string): void =>
      metrics?.duration.observe(
        { upstream, method, status_class: statusClass },
        (performance.now() - started) / 1e3,
      );

    let status: number;
    let responseHeaders: HttpHeaders;
    let text: string;
    try {
      const res = await pool.request({ method, path, headers: outgoing, body, signal: controller.signal });
      status = res.statusCode;
      responseHeaders = res.headers;
      text = await res.body.text();
    } catch (err) {
      if (signal?.aborted) {
        observe('cancelled');
        permit.release();
        span?.end();
        throw signal.reason;
      }
      observe('error');
      permit.failure();
      const timedOut = controller.signal.reason instanceof AttemptTimeout;
      fail(timedOut ? 'timeout' : 'connection');
      span?.setAttribute('error.type', timedOut ? 'timeout' : errorType(err));
      span?.setStatus({ code: SpanStatusCode.ERROR });
      span?.end();
      const details = { cause: err, extensions: { upstream } };
      const error = timedOut
        ? new AppError(
            504,
            'upstream-timeout',
            `${upstream} did not answer within ${Math.round(budgetMs)} ms`,
            details,
          )
        : new AppError(
            503,
            'upstream-unavailable',
            `${upstream} is unreachable: ${errorMessage(err)}`,
            details,
          );
      return { error, retryable: true };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', forwardAbort);
    }

    observe(`${Math.floor(status / 100)}xx`);
    span?.setAttribute('http.response.status_code', status);
    if (status >= 500) {
      permit.failure();
      fail('server_error');
      span?.setAttribute('error.type', String(status));
      span?.setStatus({ code: SpanStatusCode.ERROR });
    } else {
      // A 4xx proves the upstream is alive, so it counts towards closing the circuit.
      permit.success();
    }
    span?.end();

    const contentType = firstHeader(responseHeaders['content-type']) ?? '';
    let parsed: unknown = text === '' ? undefined : text;
    if (text !== '' && JSON_TYPE.test(contentType)) {
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        return {
          error: new AppError(502, 'upstream-error', `${upstream} answered ${status} with invalid JSON`, {
            cause: err,
            extensions: { upstream, upstreamStatus: status },
          }),
          retryable: false,
        };
      }
    }
    return { response: { status, headers: responseHeaders, body: parsed } };
  }

  async function request<T>(req: HttpRequestOptions): Promise<HttpResponse<T>> {
    if (closed) throw new Error(`http client '${upstream}' is closed`);
    const { signal } = req;
    if (signal?.aborted) throw signal.reason;
    const parent = req.context ?? context.active();
    const deadline = performance.now() + (req.timeoutMs ?? timeoutMs);
    const attemptCap = req.attemptTimeoutMs ?? Math.max(attemptTimeoutMs, req.timeoutMs ?? 0);
    const method = req.method;
    const idempotent = IDEMPOTENT.has(method) || req.idempotencyKey !== undefined;
    const path = buildPath(prefix, req.path, req.query);
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
    for (const [name, value] of Object.entries(req.headers ?? {})) headers[name.toLowerCase()] = value;
    const body = req.body === undefined ? undefined : JSON.stringify(req.body);
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (req.idempotencyKey !== undefined) headers['idempotency-key'] = req.idempotencyKey;
    if (req.requestId !== undefined) headers['x-request-id'] = req.requestId;

    for (let n = 0; ; n++) {
      const remaining = deadline - performance.now();
      const result = await attempt(
        method,
        path,
        headers,
        body,
        Math.min(attemptCap, remaining),
        n,
        signal,
        parent,
      );
      const retryable = result.error ? result.retryable : RETRYABLE_STATUS.has(result.response.status);
      const delay = retryable && idempotent && n < retries ? nextDelay(result, n) : undefined;
      if (delay === undefined || deadline - (performance.now() + delay) < MIN_RETRY_BUDGET_MS) {
        if (result.error) throw result.error;
        if (result.response.status >= 500) throw upstreamError(result.response);
        return result.response as HttpResponse<T>;
      }
      metrics?.retries.inc({ upstream });
      options.logger?.debug(
        { upstream, method, path, attempt: n + 1, delayMs: delay },
        'retrying upstream call',
      );
      try {
        await sleep(delay, undefined, signal ? { signal } : undefined);
      } catch {
        throw signal?.reason;
      }
    }
  }

  function nextDelay(result: Attempt, n: number): number {
    const retryAfter = result.error ? undefined : parseRetryAfter(result.response.headers['retry-after']);
    return retryAfter ?? fullJitterDelay(n, backoff);
  }

  function upstreamError(response: HttpResponse): AppError {
    return new AppError(502, 'upstream-error', `${upstream} answered ${response.status}`, {
      cause: response,
      extensions: { upstream, upstreamStatus: response.status },
    });
  }

  return {
    upstream,
    breaker,
    request,
    get: (path, opts) => request({ ...opts, method: 'GET', path }),
    post: (path, body, opts) => request({ ...opts, method: 'POST', path, body }),
    put: (path, body, opts) => request({ ...opts, method: 'PUT', path, body }),
    delete: (path, opts) => request({ ...opts, method: 'DELETE', path }),
    async close() {
      if (closed) return;
      closed = true;
      await pool.close();
    },
  };
}

function buildPath(prefix: string, path: string, query: HttpRequestOptions['query']): string {
  if (!path.startsWith('/')) throw new Error(`request path must start with '/', got '${path}'`);
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null) continue;
    for (const item of Array.isArray(value) ? value : [value]) params.append(key, String(item));
  }
  const qs = params.toString();
  return qs === '' ? prefix + path : `${prefix}${path}${path.includes('?') ? '&' : '?'}${qs}`;
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function errorType(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : err instanceof Error ? err.name : 'error';
}

function errorMessage(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return typeof code === 'string' && !message.includes(code) ? `${code} ${message}` : message;
}
