import type { Request, RequestHandler, Response } from 'express';
import { AppError, DeclaredMetrics, type Logger } from '@meshmart/kit';
import type { Counter, Registry } from 'prom-client';
import type { RateLimit, RateLimiter, RateDecision } from '../adapters/rate-limiter.ts';
import { gatewayMetrics } from '../metrics.ts';
import { localsOf } from './locals.ts';

export interface RateLimitOptions {
  readonly limiter: RateLimiter;
  /** Per signed-in user; capacity 0 turns it off. */
  readonly perUser: RateLimit;
  /** Per client address (all requests, signed in or not); capacity 0 turns it off. */
  readonly perAddress: RateLimit;
  readonly registry: Registry;
  readonly logger: Logger;
  /** A limiter slower than this lets the request through (fail open). @default 250 */
  readonly timeoutMs?: number;
}

/** Takes from a bucket, or gives back (negative cost); undefined when the limit is off or the limiter failed. */
export type Take = (key: string, limit: RateLimit, cost?: number) => Promise<RateDecision | undefined>;

/** The limiter, failing open: a broken or slow Redis is counted and logged now and then, and lets requests through. */
export function guardedTake(
  options: Pick<RateLimitOptions, 'limiter' | 'registry' | 'logger' | 'timeoutMs'>,
): Take {
  const errors = DeclaredMetrics.of(options.registry).counter(gatewayMetrics.rateLimitErrors);
  const timeoutMs = options.timeoutMs ?? 250;
  let lastErrorLogged = Number.NEGATIVE_INFINITY;
  return async (key, limit, cost) => {
    if (limit.capacity <= 0) return undefined;
    try {
      return await withTimeout(options.limiter.take(key, limit, cost), timeoutMs);
    } catch (err) {
      errors.inc();
      if (performance.now() - lastErrorLogged > 10_000) {
        lastErrorLogged = performance.now();
        options.logger.warn({ err }, 'rate limiter unavailable: letting requests through');
      }
      return undefined;
    }
  };
}

/** Requests refused with 429, by the bucket that ran dry (`address`, `user`, `sign-in`). */
export function rejectionCounter(registry: Registry): Counter<'scope'> {
  return DeclaredMetrics.of(registry).counter(gatewayMetrics.rateLimitRejections);
}

/** Sets the RateLimit-* headers (IETF draft) of a bucket's decision. */
export function setRateLimitHeaders(res: Response, limit: RateLimit, decision: RateDecision): void {
  res.setHeader('RateLimit-Limit', String(limit.capacity));
  res.setHeader('RateLimit-Remaining', String(decision.remaining));
  res.setHeader('RateLimit-Reset', String(Math.ceil(decision.resetMs / 1000)));
  res.setHeader('RateLimit-Policy', `${limit.capacity};w=${Math.round(limit.capacity / limit.perSecond)}`);
}

/**
 * Token buckets per client address and per user; the request needs a token from both. Answers carry the
 * RateLimit-* headers of the tighter bucket; a refusal is a 429 problem with Retry-After. A broken or slow Redis
 * fails open: the limiter protects the services, it must not become the outage. Every request that reaches it is
 * counted, whatever its path (only the UI's files, /docs, CORS preflights and the kit's health endpoints come first).
 */
export function rateLimit(options: RateLimitOptions): RequestHandler {
  const rejections = rejectionCounter(options.registry);
  const take = guardedTake(options);
  return (req, res, next) => {
    if (req.method === 'OPTIONS') {
      next();
      return;
    }
    const principal = localsOf(res).principal;
    void (async () => {
      const checks: { scope: string; limit: RateLimit; decision: RateDecision }[] = [];
      const address = await take(`addr:${clientAddress(req)}`, options.perAddress);
      if (address) checks.push({ scope: 'address', limit: options.perAddress, decision: address });
      const user = principal ? await take(`user:${principal.id}`, options.perUser) : undefined;
      if (user) checks.push({ scope: 'user', limit: options.perUser, decision: user });
      const tightest =
        checks.find((c) => !c.decision.allowed) ??
        checks.sort((a, b) => a.decision.remaining - b.decision.remaining)[0];
      if (!tightest) return;
      const { scope, limit, decision } = tightest;
      setRateLimitHeaders(res, limit, decision);
      if (!decision.allowed) {
        rejections.inc({ scope });
        throw rateLimited(`too many requests from this ${scope}`, 'rate-limited', decision);
      }
    })().then(() => next(), next);
  };
}

/** The 429 problem of an empty bucket, with Retry-After. */
export function rateLimited(what: string, code: string, decision: RateDecision): AppError {
  const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
  return new AppError(429, code, `${what}; retry in ${seconds} s`, {
    headers: { 'Retry-After': String(seconds) },
  });
}

export function clientAddress(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`rate limiter took longer than ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
