import { setTimeout as sleep } from 'node:timers/promises';
import { context, type Attributes, type Context } from '@opentelemetry/api';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger.ts';
import { finalAnswer, isRetryable, retryDelay } from './attempt-outcome.ts';
import { CircuitBreaker, type CircuitBreakerOptions } from './circuit-breaker.ts';
import { ClientMetricsRecorder } from './client-telemetry.ts';
import type { BackoffOptions } from './retry.ts';
import { sendOnce, type AttemptTarget } from './send-once.ts';
import type { RequestSigner, SigV4Options } from './sigv4.ts';
import { Pool } from './undici-pool.ts';

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
/**
 * A retry needs at least this much of the deadline left after its delay: with less it cannot get an answer. An attempt
 * that timed out at the deadline leaves a millisecond or so (a timer may fire that much before performance.now() says
 * it is due), and a jittered delay of about 0 then sent a second request with nothing left to wait for it.
 */
const MIN_RETRY_BUDGET_MS = 10;

/** The client's retry and deadline settings, validated once. */
interface RetrySettings {
  readonly timeoutMs: number;
  readonly attemptTimeoutMs: number;
  readonly retries: number;
  readonly backoff: BackoffOptions;
  readonly logger: Logger | undefined;
}

/** A call as sent on every attempt: built once from the caller's options, never changed between attempts. */
interface PreparedCall {
  readonly method: HttpMethod;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | undefined;
  /** Whether the call may be retried: an idempotent method or an idempotency key. */
  readonly idempotent: boolean;
}

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
  const settings = retrySettings(options, base);
  const prefix = base.pathname.replace(/\/+$/, '');
  const target = attemptTarget(options, base);
  let closed = false;

  async function request<T>(req: HttpRequestOptions): Promise<HttpResponse<T>> {
    if (closed) throw new Error(`http client '${upstream}' is closed`);
    if (req.signal?.aborted) throw req.signal.reason;
    const parent = req.context ?? context.active();
    const deadline = performance.now() + (req.timeoutMs ?? settings.timeoutMs);
    const attemptCap = req.attemptTimeoutMs ?? Math.max(settings.attemptTimeoutMs, req.timeoutMs ?? 0);
    const call = prepareCall(prefix, req);
    return callWithRetries(target, settings, call, {
      deadline,
      attemptCap,
      signal: req.signal,
      parent,
    }) as Promise<HttpResponse<T>>;
  }

  return {
    upstream,
    breaker: target.breaker,
    request,
    get: (path, opts) => request({ ...opts, method: 'GET', path }),
    post: (path, body, opts) => request({ ...opts, method: 'POST', path, body }),
    put: (path, body, opts) => request({ ...opts, method: 'PUT', path, body }),
    delete: (path, opts) => request({ ...opts, method: 'DELETE', path }),
    async close() {
      if (closed) return;
      closed = true;
      await target.pool.close();
    },
  };
}

/** Resolves the defaults of the retry and deadline options and rejects a client that could never work. */
function retrySettings(options: HttpClientOptions, base: URL): RetrySettings {
  const { upstream } = options;
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
  return { timeoutMs, attemptTimeoutMs, retries, backoff, logger: options.logger };
}

/**
 * The pool, breaker, metrics and signer every attempt of this client shares. The breaker's state changes go to the
 * `http_client_circuit_state` gauge and the log before the caller's own `onStateChange`.
 */
function attemptTarget(options: HttpClientOptions, base: URL): AttemptTarget {
  const { upstream } = options;
  const serverAttributes: Attributes = {
    'server.address': base.hostname,
    'server.port': Number(base.port || (base.protocol === 'https:' ? 443 : 80)),
  };
  const pool = new Pool(base.origin, {
    connections: options.connections ?? 16,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 4_000,
  });
  const metrics = new ClientMetricsRecorder(upstream, options.registry);
  metrics.circuitState('closed');
  const breaker = new CircuitBreaker({
    ...options.breaker,
    name: upstream,
    onStateChange: (to, from) => {
      metrics.circuitState(to);
      options.logger?.[to === 'open' ? 'warn' : 'info']({ upstream, from, to }, `circuit ${to}`);
      options.breaker?.onStateChange?.(to, from);
    },
  });
  const sigv4 = options.sigv4;
  let signer: Promise<RequestSigner> | undefined;
  // The signer (and with it the AWS SDK) is loaded on the first signed attempt only.
  const loadSigner = sigv4
    ? (): Promise<RequestSigner> =>
        (signer ??= import('./sigv4-signer.ts').then((m) => m.createSigV4Signer(sigv4)))
    : undefined;
  return {
    upstream,
    base,
    origin: base.origin,
    pool,
    breaker,
    metrics,
    serverAttributes,
    ...(loadSigner ? { signer: loadSigner } : {}),
  };
}

/** Builds what every attempt of a call sends: path with query, lower-case headers, JSON body. */
function prepareCall(prefix: string, req: HttpRequestOptions): PreparedCall {
  const method = req.method;
  const idempotent = IDEMPOTENT.has(method) || req.idempotencyKey !== undefined;
  const path = buildPath(prefix, req.path, req.query);
  const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
  for (const [name, value] of Object.entries(req.headers ?? {})) headers[name.toLowerCase()] = value;
  const body = req.body === undefined ? undefined : JSON.stringify(req.body);
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (req.idempotencyKey !== undefined) headers['idempotency-key'] = req.idempotencyKey;
  if (req.requestId !== undefined) headers['x-request-id'] = req.requestId;
  return { method, path, headers, body, idempotent };
}

/**
 * The retry loop of one call. Each attempt gets `min(attemptCap, what is left of the deadline)`; after one that may be
 * retried (an idempotent call, a retryable outcome, retries left) it waits the Retry-After or the jittered backoff,
 * unless that wait would leave less than MIN_RETRY_BUDGET_MS of the deadline, in which case the last outcome stands.
 * A caller's abort during the wait rethrows its reason.
 */
async function callWithRetries(
  target: AttemptTarget,
  settings: RetrySettings,
  call: PreparedCall,
  limits: {
    readonly deadline: number;
    readonly attemptCap: number;
    readonly signal: AbortSignal | undefined;
    readonly parent: Context;
  },
): Promise<HttpResponse> {
  const { upstream } = target;
  const { method, path } = call;
  const { deadline, signal } = limits;
  for (let n = 0; ; n++) {
    const remaining = deadline - performance.now();
    const result = await sendOnce(target, {
      method,
      path,
      headers: call.headers,
      body: call.body,
      budgetMs: Math.min(limits.attemptCap, remaining),
      resendCount: n,
      signal,
      parent: limits.parent,
    });
    const delay =
      isRetryable(result) && call.idempotent && n < settings.retries
        ? retryDelay(result, n, settings.backoff)
        : undefined;
    if (delay === undefined || deadline - (performance.now() + delay) < MIN_RETRY_BUDGET_MS) {
      return finalAnswer(upstream, result);
    }
    target.metrics.retry();
    settings.logger?.debug(
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
