/** Exit codes shared by the ops CLIs (docs/operations.md lists them per command). */
export const EXIT = {
  ok: 0,
  /** deploy: an object was rejected or an API call failed. canary: a gate failed and the canary was rolled back. */
  failed: 1,
  usage: 2,
  /** deploy: rollout not complete in time. canary: an API or Prometheus error; weights left as they are. */
  incomplete: 3,
  /** deploy --dry-run: some objects could not be checked (their namespace or CRD does not exist yet). */
  unchecked: 4,
  interrupted: 130,
} as const;

export class UsageError extends Error {}

/** `90s`, `5m`, `1m30s`, `500ms`, `1h` or plain milliseconds. */
export function parseDuration(text: string, flag: string): number {
  if (/^\d+$/.test(text)) return Number(text);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== text.length)
    throw new UsageError(`${flag} '${text}' is not a duration; write e.g. 90s, 5m, 1m30s or 500ms`);
  return total;
}

export function parseNumber(text: string, flag: string, min: number, max: number): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < min || n > max)
    throw new UsageError(`${flag} '${text}' must be a number from ${min} to ${max}`);
  return n;
}

/** Writes a line to stdout (the CLIs' output; services use the kit logger instead). */
export function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

export function err(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** A SIGINT/SIGTERM turns into an abort; a second one exits at once. */
export function abortOnSignals(): AbortController {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(EXIT.interrupted);
    err(`received ${signal}: stopping after the current request (again to exit now)`);
    controller.abort(new Error(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  return controller;
}
