// How `make load` shows a run: one progress line a second, then a summary table.
import type { LoadProgress, LoadSummary } from './run.ts';

const ms = (n: number): string => (Number.isNaN(n) ? '-' : n < 10 ? n.toFixed(1) : Math.round(n).toString());

export function progressLine(p: LoadProgress): string {
  return (
    `${p.elapsedSeconds.toFixed(0).padStart(4)}s  sent ${p.sent}  done ${p.completed}  ` +
    `in flight ${p.inFlight}  ${p.ratePerSecond.toFixed(1)} req/s  p50 ${ms(p.p50Ms)} ms  ` +
    `p99 ${ms(p.p99Ms)} ms  errors ${p.errors}`
  );
}

export function summaryText(s: LoadSummary): string {
  const lines: string[] = [];
  lines.push(
    `${s.requests} requests in ${s.durationSeconds} s from ${s.users} virtual users: ` +
      `${s.throughputPerSecond} req/s (offered ${s.offeredRatePerSecond}), ${s.errors} errors`,
  );
  if (s.retriedOnReset > 0)
    lines.push(`${s.retriedOnReset} requests sent again after their connection closed before an answer`);
  lines.push(
    `latency from the intended send time: p50 ${ms(s.p50Ms)} ms, p90 ${ms(s.p90Ms)} ms, ` +
      `p99 ${ms(s.p99Ms)} ms, max ${ms(s.maxMs)} ms`,
  );
  lines.push('');
  lines.push(
    `${'kind'.padEnd(10)} ${'requests'.padStart(9)} ${'errors'.padStart(7)} ${'p50 ms'.padStart(8)} ` +
      `${'p90 ms'.padStart(8)} ${'p99 ms'.padStart(8)}`,
  );
  for (const [kind, k] of Object.entries(s.byKind)) {
    lines.push(
      `${kind.padEnd(10)} ${String(k.requests).padStart(9)} ${String(k.errors).padStart(7)} ` +
        `${ms(k.p50Ms).padStart(8)} ${ms(k.p90Ms).padStart(8)} ${ms(k.p99Ms).padStart(8)}`,
    );
  }
  lines.push('');
  lines.push(
    `orders: ${s.orders.placed} placed, ${s.orders.confirmed} seen CONFIRMED, ${s.orders.cancelled} seen CANCELLED`,
  );
  if (s.errors > 0) {
    lines.push('');
    lines.push('errors by kind:');
    for (const [key, n] of Object.entries(s.errorsByKey)) lines.push(`  ${String(n).padStart(6)}  ${key}`);
    lines.push('samples:');
    for (const sample of s.errorSamples) lines.push(`  ${sample}`);
  }
  return lines.join('\n');
}
