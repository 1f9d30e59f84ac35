export interface CheckResult {
  readonly ok: boolean;
  readonly detail?: string;
}

/** A readiness check of one dependency (a datastore, the event bus, ...). */
export type HealthCheck = () => Promise<CheckResult>;

export interface HealthOptions {
  /** Named dependency checks run by /healthz/ready. */
  readonly checks?: Readonly<Record<string, HealthCheck>>;
  /** A check slower than this counts as failed. @default 1000 */
  readonly timeoutMs?: number;
}

/** Liveness says the process works; readiness says it can serve: dependencies up and not shutting down. */
export class Health {
  private shuttingDown = false;
  private readonly checks: Record<string, HealthCheck>;
  private readonly timeoutMs: number;

  constructor(options: HealthOptions = {}) {
    this.checks = { ...options.checks };
    this.timeoutMs = options.timeoutMs ?? 1000;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Adds a dependency check, for adapters built after the app's health object. */
  add(name: string, check: HealthCheck): void {
    this.checks[name] = check;
  }

  /** Readiness turns false for good: the first step of a graceful shutdown. */
  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  async ready(): Promise<{ ok: boolean; checks: Record<string, CheckResult> }> {
    const names = Object.keys(this.checks);
    const results = await Promise.all(names.map((name) => this.run(this.checks[name])));
    const checks: Record<string, CheckResult> = {};
    names.forEach((name, i) => (checks[name] = results[i]!));
    const ok = !this.shuttingDown && results.every((r) => r.ok);
    return { ok, checks };
  }

  private async run(check: HealthCheck): Promise<CheckResult> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<CheckResult>((resolve) => {
      timer = setTimeout(
        () => resolve({ ok: false, detail: `timed out after ${this.timeoutMs} ms` }),
        this.timeoutMs,
      );
    });
    try {
      return await Promise.race([
        check().catch((err: unknown) => ({
          ok: false,
          detail: err instanceof Error ? err.message : String(err),
        })),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}
