/**
 * The one way a test waits: for a condition, with a deadline that says what it was waiting for. Never a fixed sleep
 * that assumes a fast machine. The deadlines are generous (CI runs on two cores beside a CPU hog); a wait returns as
 * soon as its condition holds, so a generous deadline costs nothing when things work.
 */

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function timedOut(
  timeoutMs: number,
  what: string,
  errors: { last?: unknown; count: number; lastFailed: boolean },
) {
  let suffix = '';
  if (errors.count > 0)
    suffix = errors.lastFailed
      ? ` (last error: ${describeError(errors.last)})`
      : ` (the last attempt gave no value; an earlier one threw: ${describeError(errors.last)})`;
  return new Error(`timed out after ${timeoutMs} ms waiting for ${what}${suffix}`, { cause: errors.last });
}

/**
 * Polls `check` (every ~20 ms) until it returns true. A check that throws counts as "not yet"; if the deadline passes,
 * the error names `what` and the last error the check threw.
 */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  await until(async () => ((await check()) ? true : undefined), what, timeoutMs, 20);
}

/**
 * Polls `probe` (every `intervalMs`) until it returns a value other than undefined, and returns that value. A probe
 * that throws counts as "not yet"; if the deadline passes, the error names `what` and the last error the probe threw.
 */
export async function until<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 20_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const errors: { last?: unknown; count: number; lastFailed: boolean } = { count: 0, lastFailed: false };
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
      errors.lastFailed = false;
    } catch (err) {
      errors.last = err;
      errors.count++;
      errors.lastFailed = true;
    }
    if (Date.now() >= deadline) throw timedOut(timeoutMs, what, errors);
    await pause(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
}
