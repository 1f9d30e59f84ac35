// Latency samples and error counts of a load run, overall and per kind of request.

/** The p-th percentile (0-100) of ascending samples, nearest rank; NaN when there are none. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** Growable list of latencies in milliseconds (a typed array: a million samples are 8 MB, not 30). */
export class Samples {
  private data = new Float64Array(1024);
  private size = 0;

  add(ms: number): void {
    if (this.size === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.size++] = ms;
  }

  get count(): number {
    return this.size;
  }

  /** Ascending copy. */
  sorted(): Float64Array {
    return this.data.slice(0, this.size).sort();
  }
}

export interface KindSummary {
  readonly requests: number;
  readonly errors: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
}

const round = (ms: number): number => (Number.isNaN(ms) ? ms : Math.round(ms * 100) / 100);

/** Everything recorded about one run; the summary is computed once at the end. */
export class Recorder {
  private readonly all = new Samples();
  private readonly kinds = new Map<string, { samples: Samples; errors: number }>();
  /** "kind status code" (e.g. "checkout 409 cart-empty") to count. */
  readonly errorsByKey = new Map<string, number>();
  readonly errorSamples: string[] = [];
  /** Latencies of the current progress window, reset by `window()`. */
  private recent = new Samples();
  private recentErrors = 0;
  requests = 0;
  errors = 0;

  constructor(private readonly maxSamples = 20) {}

  ok(kind: string, latencyMs: number): void {
    this.record(kind, latencyMs).samples.add(latencyMs);
  }

  /** A failed request: counted in its kind, with its latency (a slow 500 is still slow). */
  fail(kind: string, latencyMs: number, key: string, sample: string): void {
    const entry = this.record(kind, latencyMs);
    entry.samples.add(latencyMs);
    entry.errors++;
    this.errors++;
    this.recentErrors++;
    this.errorsByKey.set(key, (this.errorsByKey.get(key) ?? 0) + 1);
    if (this.errorSamples.length < this.maxSamples && !this.errorSamples.some((s) => s.startsWith(key))) {
      this.errorSamples.push(`${key}: ${sample}`);
    }
  }

  private record(kind: string, latencyMs: number): { samples: Samples; errors: number } {
    this.requests++;
    this.all.add(latencyMs);
    this.recent.add(latencyMs);
    let entry = this.kinds.get(kind);
    if (!entry) {
      entry = { samples: new Samples(), errors: 0 };
      this.kinds.set(kind, entry);
    }
    return entry;
  }

  /** Completions, errors and percentiles since the previous call (the live progress line). */
  window(): { completed: number; errors: number; p50Ms: number; p99Ms: number } {
    const sorted = this.recent.sorted();
    const errors = this.recentErrors;
    this.recent = new Samples();
    this.recentErrors = 0;
    return {
      completed: sorted.length,
      errors,
      p50Ms: round(percentile(sorted, 50)),
      p99Ms: round(percentile(sorted, 99)),
    };
  }

  overall(): { p50Ms: number; p90Ms: number; p99Ms: number; maxMs: number } {
    const sorted = this.all.sorted();
    return {
      p50Ms: round(percentile(sorted, 50)),
      p90Ms: round(percentile(sorted, 90)),
      p99Ms: round(percentile(sorted, 99)),
      maxMs: round(percentile(sorted, 100)),
    };
  }

  byKind(): Record<string, KindSummary> {
    const out: Record<string, KindSummary> = {};
    for (const [kind, { samples, errors }] of [...this.kinds].sort(([a], [b]) => a.localeCompare(b))) {
      const sorted = samples.sorted();
      out[kind] = {
        requests: sorted.length,
        errors,
        p50Ms: round(percentile(sorted, 50)),
        p90Ms: round(percentile(sorted, 90)),
        p99Ms: round(percentile(sorted, 99)),
      };
    }
    return out;
  }
}
