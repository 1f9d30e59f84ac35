export type CircuitState = 'closed' | 'half-open' | 'open';

export interface CircuitBreakerOptions {
  /** Named in errors and logs, usually the upstream. @default 'circuit' */
  readonly name?: string;
  /** Consecutive failures that open the circuit. @default 5 */
  readonly failureThreshold?: number;
  /** Failure ratio over the rolling window that opens the circuit. @default 0.5 */
  readonly failureRatio?: number;
  /** Length of the rolling window for the ratio. @default 10_000 */
  readonly windowMs?: number;
  /** Calls the window must hold before the ratio is trusted. @default 10 */
  readonly minimumRequests?: number;
  /** How long the circuit stays open before letting probes through. @default 5_000 */
  readonly openMs?: number;
  /** Probes allowed in flight while half-open. @default 1 */
  readonly halfOpenProbes?: number;
  /** Milliseconds clock, injectable so tests need not sleep. @default Date.now */
  readonly now?: () => number;
  readonly onStateChange?: (to: CircuitState, from: CircuitState) => void;
}

export class CircuitOpenError extends Error {
  override readonly name = 'CircuitOpenError';

  constructor(
    readonly circuit: string,
    /** Milliseconds until a probe may be let through (0 when half-open probes are busy). */
    readonly retryAfterMs: number,
  ) {
    super(`circuit '${circuit}' is open; calls fail fast for another ${retryAfterMs} ms`);
  }
}

/** One admitted call; report exactly one outcome. Neutral outcomes (caller cancelled) use `release`. */
export interface CircuitPermit {
  success(): void;
  failure(): void;
  release(): void;
}

interface Bucket {
  start: number;
  calls: number;
  failures: number;
}

const BUCKETS = 10;

export class CircuitBreaker {
  readonly name: string;
  private readonly failureThreshold: number;
  private readonly failureRatio: number;
  private readonly windowMs: number;
  private readonly bucketMs: number;
  private readonly minimumRequests: number;
  private readonly openMs: number;
  private readonly halfOpenProbes: number;
  private readonly now: () => number;
  private readonly onStateChange: ((to: CircuitState, from: CircuitState) => void) | undefined;

  private current: CircuitState = 'closed';
  // Outcomes of permits issued before the last transition are stale and must not move the state.
  private generation = 0;
  private openedAt = 0;
  private consecutiveFailures = 0;
  private probesInFlight = 0;
  private buckets: Bucket[] = [];

  constructor(options: CircuitBreakerOptions = {}) {
    this.name = options.name ?? 'circuit';
    this.failureThreshold = options.failureThreshold ?? 5;
    this.failureRatio = options.failureRatio ?? 0.5;
    this.windowMs = options.windowMs ?? 10_000;
    this.minimumRequests = options.minimumRequests ?? 10;
    this.openMs = options.openMs ?? 5_000;
    this.halfOpenProbes = options.halfOpenProbes ?? 1;
    this.now = options.now ?? Date.now;
    this.onStateChange = options.onStateChange;
    this.bucketMs = Math.max(1, Math.ceil(this.windowMs / BUCKETS));
    for (const [key, value] of Object.entries({
      failureThreshold: this.failureThreshold,
      windowMs: this.windowMs,
      minimumRequests: this.minimumRequests,
      openMs: this.openMs,
      halfOpenProbes: this.halfOpenProbes,
    })) {
      if (!(value >= 1)) throw new Error(`CircuitBreaker '${this.name}': ${key} must be >= 1, got ${value}`);
    }
    if (!(this.failureRatio > 0 && this.failureRatio <= 1)) {
      throw new Error(
        `CircuitBreaker '${this.name}': failureRatio must be in (0, 1], got ${this.failureRatio}`,
      );
    }
  }

  /** The state now; an open circuit whose `openMs` has passed reads (and becomes) half-open. */
  get state(): CircuitState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.openMs) this.transition('half-open');
    return this.current;
  }

  /** Admits a call or throws CircuitOpenError without doing any work. */
  acquire(): CircuitPermit {
    const state = this.state;
    if (state === 'open') throw new CircuitOpenError(this.name, this.openMs - (this.now() - this.openedAt));
    if (state === 'half-open') {
      if (this.probesInFlight >= this.halfOpenProbes) throw new CircuitOpenError(this.name, 0);
      this.probesInFlight++;
    }
    const generation = this.generation;
    const probe = state === 'half-open';
    let settled = false;
    const settle = (outcome: 'success' | 'failure' | 'release'): void => {
      if (settled) return;
      settled = true;
      if (generation !== this.generation) return;
      if (probe) this.probesInFlight--;
      if (outcome === 'success') this.recordSuccess();
      else if (outcome === 'failure') this.recordFailure();
    };
    return {
      success: () => settle('success'),
      failure: () => settle('failure'),
      release: () => settle('release'),
    };
  }

  /** Runs `fn` under a permit; a rejection counts as a failure unless `isFailure` says otherwise. */
  async execute<T>(fn: () => Promise<T>, isFailure: (err: unknown) => boolean = () => true): Promise<T> {
    const permit = this.acquire();
    try {
      const result = await fn();
      permit.success();
      return result;
    } catch (err) {
      if (isFailure(err)) permit.failure();
      else permit.release();
      throw err;
    }
  }

  private recordSuccess(): void {
    if (this.current === 'half-open') {
      this.transition('closed');
      return;
    }
    this.consecutiveFailures = 0;
    this.bucket().calls++;
  }

  private recordFailure(): void {
    if (this.current === 'half-open') {
      this.transition('open');
      return;
    }
    this.consecutiveFailures++;
    const bucket = this.bucket();
    bucket.calls++;
    bucket.failures++;
    let calls = 0;
    let failures = 0;
    for (const b of this.buckets) {
      calls += b.calls;
      failures += b.failures;
    }
    const ratioTripped = calls >= this.minimumRequests && failures / calls >= this.failureRatio;
    if (this.consecutiveFailures >= this.failureThreshold || ratioTripped) this.transition('open');
  }

  /** The current bucket, after dropping those that slid out of the window. */
  private bucket(): Bucket {
    const now = this.now();
    while (this.buckets.length > 0 && this.buckets[0].start <= now - this.windowMs) this.buckets.shift();
    const start = now - (now % this.bucketMs);
    const last = this.buckets.at(-1);
    if (last?.start === start) return last;
    const fresh = { start, calls: 0, failures: 0 };
    this.buckets.push(fresh);
    return fresh;
  }

  private transition(to: CircuitState): void {
    const from = this.current;
    if (from === to) return;
    this.current = to;
    this.generation++;
    this.probesInFlight = 0;
    this.consecutiveFailures = 0;
    this.buckets = [];
    if (to === 'open') this.openedAt = this.now();
    this.onStateChange?.(to, from);
  }
}
