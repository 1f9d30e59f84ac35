import { queryNumber, type canaryQueries } from './prometheus.ts';

export interface Measurement {
  readonly requestsPerSecond: number | undefined;
  readonly successRate: number | undefined;
  readonly p99Ms: number | undefined;
}

export interface GateResult {
  readonly passed: boolean;
  /** Every failed gate, in words. Empty when passed. */
  readonly failures: readonly string[];
}

/** What the three canary queries answered, as Prometheus gives it (a ratio in percent, seconds). */
export interface RawMeasurement {
  readonly requestsPerSecond: number | undefined;
  readonly successRate: number | undefined;
  readonly p99Seconds: number | undefined;
}

/** After a check: move on, analyse the same weight again, or roll back. */
export type CheckVerdict = 'passed' | 'again' | 'roll-back';

/** Runs the canary's PromQL (see `canaryQueries`) at once and reads the answers as a Measurement. */
export async function measure(
  url: string,
  q: ReturnType<typeof canaryQueries>,
  signal?: AbortSignal,
): Promise<Measurement> {
  const [requestsPerSecond, successRate, p99Seconds] = await Promise.all([
    queryNumber(url, q.requestRate, signal),
    queryNumber(url, q.successRate, signal),
    queryNumber(url, q.p99Seconds, signal),
  ]);
  return toMeasurement({ requestsPerSecond, successRate, p99Seconds });
}

/** The query answers in the units the gates compare: the success rate to a millionth of a percent, p99 in ms. */
export function toMeasurement(raw: RawMeasurement): Measurement {
  const { requestsPerSecond, successRate, p99Seconds: p99 } = raw;
  // The two rates of the ratio are summed over different series, so every request succeeding can come back as
  // 99.99999999999999: a percentage to a millionth is all a gate compares.
  const percent = successRate === undefined ? undefined : Math.round(successRate * 1e6) / 1e6;
  return { requestsPerSecond, successRate: percent, p99Ms: p99 === undefined ? undefined : p99 * 1000 };
}

/** The gates: the canary must serve requests, at or above the success rate, at or below the p99 latency. */
export function evaluateGates(
  m: Measurement,
  minSuccessRate: number,
  maxP99Ms: number,
  window: string,
): GateResult {
  const failures: string[] = [];
  if (m.successRate === undefined) failures.push(`no requests reached the canary in the last ${window}`);
  else if (m.successRate < minSuccessRate)
    failures.push(`success rate ${m.successRate.toFixed(2)}% is below ${minSuccessRate}%`);
  if (m.successRate !== undefined) {
    if (m.p99Ms === undefined) failures.push(`no latency histogram for the canary in the last ${window}`);
    else if (m.p99Ms > maxP99Ms)
      failures.push(`p99 latency ${m.p99Ms.toFixed(0)} ms is above ${maxP99Ms} ms`);
  }
  return { passed: failures.length === 0, failures };
}

/** A passed check moves on; a failed one is analysed again until `failedChecks` reaches `maxFailedChecks`. */
export function checkVerdict(gate: GateResult, failedChecks: number, maxFailedChecks: number): CheckVerdict {
  if (gate.passed) return 'passed';
  return failedChecks >= maxFailedChecks ? 'roll-back' : 'again';
}
