export interface BackoffOptions {
  /** Delay ceiling for the first retry. @default 50 */
  readonly baseMs?: number;
  /** Largest ceiling any retry may draw from. @default 1_000 */
  readonly capMs?: number;
  /** Uniform in [0, 1), injectable for tests. @default Math.random */
  readonly random?: () => number;
}

/**
 * "Full jitter" from the AWS Architecture Blog's "Exponential Backoff And Jitter":
 * `random(0, min(cap, base * 2^attempt))`, with `attempt` counted from 0 for the first retry.
 */
export function fullJitterDelay(attempt: number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? 50;
  const cap = options.capMs ?? 1_000;
  const random = options.random ?? Math.random;
  const ceiling = Math.min(cap, base * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}

/**
 * A Retry-After header value (delay-seconds or an HTTP-date) as milliseconds from `now`; undefined when absent or
 * unparseable.
 */
export function parseRetryAfter(
  value: string | string[] | undefined,
  now: number = Date.now(),
): number | undefined {
  const raw = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!raw) return undefined;
  if (/^\d+$/.test(raw)) return Number(raw) * 1_000;
  // An HTTP-date always names a month; this keeps Date.parse from accepting stray numbers like '-1'.
  const at = /[a-z]/i.test(raw) ? Date.parse(raw) : Number.NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
