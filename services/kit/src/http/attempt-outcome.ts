import { AppError } from '../errors.ts';
import type { CircuitOpenError } from './circuit-breaker.ts';
import type { HttpHeaders, HttpResponse } from './http-client.ts';
import { fullJitterDelay, parseRetryAfter, type BackoffOptions } from './retry.ts';

/** What one attempt came to: an answer (any status), or an error the call may end with. */
export type Attempt = { response: HttpResponse; error?: undefined } | { error: AppError; retryable: boolean };

const RETRYABLE_STATUS: ReadonlySet<number> = new Set([429, 502, 503, 504]);
const JSON_TYPE = /^application\/(?:[^;]*\+)?json\s*(?:;|$)/i;

/** Signing failed (no credentials, STS down): ours, not the upstream's, so 503 rather than 502. */
export function signingFailed(upstream: string, err: unknown): AppError {
  return new AppError(
    503,
    'upstream-signing-failed',
    `${upstream}: cannot sign the request: ${errorMessage(err)}`,
    { cause: err, extensions: { upstream } },
  );
}

/** The breaker refused the attempt; its wait becomes the Retry-After of the 503 (none when under a second). */
export function circuitOpen(upstream: string, err: CircuitOpenError): AppError {
  const retryAfter = Math.ceil(err.retryAfterMs / 1_000);
  return new AppError(503, 'circuit-open', `${upstream}: ${err.message}`, {
    cause: err,
    extensions: { upstream },
    ...(retryAfter > 0 ? { headers: { 'retry-after': String(retryAfter) } } : {}),
  });
}

/** No answer: 504 when our attempt timer fired, 503 for any other transport error (refused, reset, DNS). */
export function transportFailed(
  upstream: string,
  err: unknown,
  timedOut: boolean,
  budgetMs: number,
): AppError {
  const details = { cause: err, extensions: { upstream } };
  return timedOut
    ? new AppError(
        504,
        'upstream-timeout',
        `${upstream} did not answer within ${Math.round(budgetMs)} ms`,
        details,
      )
    : new AppError(503, 'upstream-unavailable', `${upstream} is unreachable: ${errorMessage(err)}`, details);
}

/**
 * An answer as the caller sees it: JSON content types parsed, other text as is, an empty body undefined. A JSON type
 * with a body that does not parse is a 502 that is not retried (the upstream answered, wrongly).
 */
export function readAnswer(upstream: string, status: number, headers: HttpHeaders, text: string): Attempt {
  const contentType = firstHeader(headers['content-type']) ?? '';
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
  return { response: { status, headers, body: parsed } };
}

/** Whether another attempt could fare better: a retryable error, or a 429, 502, 503 or 504 answer. */
export function isRetryable(result: Attempt): boolean {
  return result.error ? result.retryable : RETRYABLE_STATUS.has(result.response.status);
}

/** The wait before retry `n` (0 for the first): the answer's Retry-After, else full-jitter backoff. */
export function retryDelay(result: Attempt, n: number, backoff: BackoffOptions): number {
  const retryAfter = result.error ? undefined : parseRetryAfter(result.response.headers['retry-after']);
  return retryAfter ?? fullJitterDelay(n, backoff);
}

/** The end of a call with no retry left: throws its error, throws 502 `upstream-error` for a 5xx, else the answer. */
export function finalAnswer(upstream: string, result: Attempt): HttpResponse {
  if (result.error) throw result.error;
  if (result.response.status >= 500) throw upstreamError(upstream, result.response);
  return result.response;
}

function upstreamError(upstream: string, response: HttpResponse): AppError {
  return new AppError(502, 'upstream-error', `${upstream} answered ${response.status}`, {
    cause: response,
    extensions: { upstream, upstreamStatus: response.status },
  });
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function errorMessage(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return typeof code === 'string' && !message.includes(code) ? `${code} ${message}` : message;
}
