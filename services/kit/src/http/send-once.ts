import { propagation, SpanStatusCode, trace, type Attributes, type Context } from '@opentelemetry/api';
import { AppError } from '../errors.ts';
import { circuitOpen, readAnswer, signingFailed, transportFailed, type Attempt } from './attempt-outcome.ts';
import { CircuitOpenError, type CircuitBreaker, type CircuitPermit } from './circuit-breaker.ts';
import { errorType, startAttemptSpan, type ClientMetricsRecorder } from './client-telemetry.ts';
import type { HttpHeaders, HttpMethod } from './http-client.ts';
import { inProcessListener, sendInProcess } from './in-process.ts';
import type { RequestSigner } from './sigv4.ts';
import { poolRequest, type Pool } from './undici-pool.ts';

/** The upstream one client talks to, built once per client and shared by all its attempts. */
export interface AttemptTarget {
  readonly upstream: string;
  readonly base: URL;
  /** `base.origin`, worked out once: every attempt looks it up among the servers of this process. */
  readonly origin: string;
  readonly pool: Pool;
  readonly breaker: CircuitBreaker;
  readonly metrics: ClientMetricsRecorder;
  /** `server.address` and `server.port` of every span. */
  readonly serverAttributes: Attributes;
  /** Loads the SigV4 signer; absent when the client does not sign. */
  readonly signer?: () => Promise<RequestSigner>;
}

/** One attempt of a call: the request as built by the client plus this attempt's budget and number. */
export interface AttemptRequest {
  readonly method: HttpMethod;
  /** Prefix, path and query string. */
  readonly path: string;
  /** Lower-case names; copied per attempt, since signing and trace propagation add to them. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | undefined;
  /** Cap on this attempt, signing included. */
  readonly budgetMs: number;
  /** 0 for the first attempt: `http.request.resend_count` of the span. */
  readonly resendCount: number;
  readonly signal: AbortSignal | undefined;
  readonly parent: Context;
}

/** Raised on our own attempt timer so a timeout is told apart from other aborts. */
class AttemptTimeout extends Error {
  override readonly name = 'AttemptTimeout';
}

/**
 * Makes one attempt: signs it, asks the breaker, sends it under its own timer (to the upstream's listener directly when
 * it is hosted in this process, `in-process.ts`), reads the whole body, and reports the outcome to the breaker, the
 * metrics and the span. Never throws for the upstream's failures (they come back as an `Attempt` for the retry loop to
 * judge); rethrows the caller's abort reason as is, which the breaker does not count.
 */
export async function sendOnce(target: AttemptTarget, req: AttemptRequest): Promise<Attempt> {
  const { upstream, breaker, metrics } = target;
  const { method, body, budgetMs, signal, parent } = req;
  let { path } = req;
  let outgoing = { ...req.headers };
  if (target.signer) {
    // Signed before the breaker is asked: a signing failure says nothing about the upstream's health.
    const signed = await sign(target, target.signer, method, path, outgoing, budgetMs);
    if (signed instanceof AppError) return { error: signed, retryable: true };
    ({ path, headers: outgoing } = signed);
  }
  let permit: CircuitPermit;
  try {
    permit = breaker.acquire();
  } catch (err) {
    if (!(err instanceof CircuitOpenError)) throw err;
    metrics.failure('circuit_open');
    return { error: circuitOpen(upstream, err), retryable: false };
  }

  const span = startAttemptSpan(parent, target.serverAttributes, method, path, req.resendCount);
  propagation.inject(span ? trace.setSpan(parent, span) : parent, outgoing);

  const started = performance.now();
  // An in-process call takes the deadline and the caller's signal as they are; a pooled one needs one signal for both.
  const local = inProcessListener(target.origin);
  let controller: AbortController | undefined;
  let timer: NodeJS.Timeout | undefined;
  const forwardAbort = (): void => controller?.abort(signal?.reason);

  let status: number;
  let responseHeaders: HttpHeaders;
  let text: string;
  try {
    if (local) {
      const res = await sendInProcess(local, {
        method,
        path,
        headers: outgoing,
        body,
        signal,
        timeout: { ms: budgetMs, reason: () => new AttemptTimeout() },
        host: target.base.host,
      });
      ({ statusCode: status, headers: responseHeaders, text } = res);
    } else {
      const attempt = (controller = new AbortController());
      timer = setTimeout(() => attempt.abort(new AttemptTimeout()), budgetMs);
      signal?.addEventListener('abort', forwardAbort, { once: true });
      const res = await poolRequest(target.pool, {
        method,
        path,
        headers: outgoing,
        body,
        signal: attempt.signal,
      });
      status = res.statusCode;
      responseHeaders = res.headers;
      text = await res.body.text();
    }
  } catch (err) {
    if (signal?.aborted) {
      metrics.attemptDuration(method, 'cancelled', started);
      permit.release();
      span?.end();
      throw signal.reason;
    }
    metrics.attemptDuration(method, 'error', started);
    permit.failure();
    const timedOut = err instanceof AttemptTimeout || controller?.signal.reason instanceof AttemptTimeout;
    metrics.failure(timedOut ? 'timeout' : 'connection');
    span?.setAttribute('error.type', timedOut ? 'timeout' : errorType(err));
    span?.setStatus({ code: SpanStatusCode.ERROR });
    span?.end();
    return { error: transportFailed(upstream, err, timedOut, budgetMs), retryable: true };
  } finally {
    clearTimeout(timer);
    if (controller) signal?.removeEventListener('abort', forwardAbort);
  }

  metrics.attemptDuration(method, `${Math.floor(status / 100)}xx`, started);
  span?.setAttribute('http.response.status_code', status);
  if (status >= 500) {
    permit.failure();
    metrics.failure('server_error');
    span?.setAttribute('error.type', String(status));
    span?.setStatus({ code: SpanStatusCode.ERROR });
  } else {
    // A 4xx proves the upstream is alive, so it counts towards closing the circuit.
    permit.success();
  }
  span?.end();

  return readAnswer(upstream, status, responseHeaders, text);
}

/**
 * Signs one attempt (a fresh date each time) within the attempt's budget: a credential fetch that hangs (STS) must
 * not hold the call. A failure (no credentials, STS down) is ours, not the upstream's.
 */
async function sign(
  target: AttemptTarget,
  signer: () => Promise<RequestSigner>,
  method: HttpMethod,
  path: string,
  headers: Record<string, string>,
  budgetMs: number,
): Promise<{ path: string; headers: Record<string, string> } | AppError> {
  const { base } = target;
  let timer: NodeJS.Timeout | undefined;
  try {
    const signing = signer().then((s) =>
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
    target.metrics.failure('signing');
    return signingFailed(target.upstream, err);
  } finally {
    clearTimeout(timer);
  }
}
