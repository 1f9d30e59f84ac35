// `make chaos`: kill it, restart it — nothing lost, nothing charged twice. Two experiments on a Redis and a FerretDB of
// the run's own (the test environment's FerretDB build and PostgreSQL: `make testenv-up` first):
//   crashes   CHECKOUTS checkouts from as many customers through the gateway, payments failing 20 % of the time and
//             slowed at random, while checkout, inventory, payments, orders and audit are each SIGKILLed KILLS times
//             and Redis and FerretDB once each, at random moments; then every invariant (invariants.ts), as a table
//   in-place  every service stopped (SIGTERM) and started again on its port, one at a time, while make load's shop
//             mix runs through the gateway: what a client sees with nothing in front of a single process (compared)
//   rolling   the same with a second process behind each service's address before the old one gets SIGTERM, as a
//             Deployment's rolling update does behind a Service: failed requests must be zero
// Prints markdown (docs/reliability.md quotes a run) and writes bench/out/chaos.json; exits 1 when an invariant is
// violated or a request failed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { invariantTable } from './support/chaos/invariants.ts';
import { runChaos, runRollingRestart, type ChaosResult, type RollingResult } from './support/chaos/run.ts';

const OUT = fileURLToPath(new URL('./out/', import.meta.url));
const s = (ms: number): string => (ms / 1000).toFixed(1);
const ms = (n: number): string => (Number.isFinite(n) ? Math.round(n).toString() : '-');

export function crashReport(r: ChaosResult): string {
  const faults = r.faults
    .map(
      (f) =>
        `| ${f.kind === 'kill' ? 'SIGKILL' : 'SIGKILL + restart'} ${f.target} | ${f.atSeconds.toFixed(1)} | ${f.inFlight} | ` +
        `${s(f.backMs)} | ${s(f.recoveredMs)} |`,
    )
    .join('\n');
  const outcomes = Object.entries(r.outcomes)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
  return [
    `${r.checkouts} checkouts by ${r.customers} customers in ${r.seconds.toFixed(0)} s (${r.perSecond.toFixed(1)}/s): ${outcomes}; ` +
      `checkout to settled order p50 ${ms(r.p50Ms)} ms, p99 ${ms(r.p99Ms)} ms, max ${ms(r.maxMs)} ms; ` +
      `${r.customerRetries} requests sent again by customers; payments latency drawn ${r.paymentLatencyDraws} times; ` +
      `at rest ${r.settleSeconds.toFixed(1)} s after the last checkout.`,
    '',
    '| fault | at (s) | checkouts in flight | back (s) | all ready (s) |',
    '|---|---:|---:|---:|---:|',
    faults,
    '',
    invariantTable(r.verdict.invariants),
    ...(r.verdict.facts.deadLetters.length > 0
      ? [
          '',
          'Dead letters:',
          ...r.verdict.facts.deadLetters.map((d) => `- ${d.topic} (${d.group}) ${d.type}: ${d.reason}`),
        ]
      : []),
  ].join('\n');
}

export function rollingReport(r: RollingResult): string {
  const l = r.load;
  const kinds = Object.entries(l.byKind)
    .map(([k, v]) => `| ${k} | ${v.requests} | ${v.errors} | ${ms(v.p50Ms)} | ${ms(v.p99Ms)} |`)
    .join('\n');
  const rolls = r.rolls
    .map(
      (x) =>
        `| ${x.service} | ${s(x.drainMs)} | ${s(x.startMs)} | ${r.surge ? '0' : s(x.drainMs + x.startMs)} |`,
    )
    .join('\n');
  return [
    `${l.requests} requests in ${l.durationSeconds} s (${l.throughputPerSecond}/s offered ${l.offeredRatePerSecond}/s) from ` +
      `${l.users} customers: ${l.errors} failed; ${l.retriedOnReset} sent again after their connection closed before an ` +
      `answer; ${r.refusedConnections} connections refused behind a service address; p50 ${ms(l.p50Ms)} ms, p99 ${ms(l.p99Ms)} ms, ` +
      `max ${ms(l.maxMs)} ms.`,
    '',
    '| service restarted | old process: SIGTERM to exit (s) | new process: spawn to ready (s) | nothing listening (s) |',
    '|---|---:|---:|---:|',
    rolls,
    '',
    '| request | sent | failed | p50 ms | p99 ms |',
    '|---|---:|---:|---:|---:|',
    kinds,
    ...(l.errors > 0
      ? [
          '',
          'Failures:',
          ...Object.entries(l.errorsByKey).map(([k, n]) => `- ${n} ${k}`),
          ...l.errorSamples.map((x) => `  - ${x}`),
        ]
      : []),
    '',
    invariantTable(r.verdict.invariants),
  ].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      checkouts: { type: 'string', default: '1000' },
      kills: { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '12' },
      rate: { type: 'string', default: '20' },
      seed: { type: 'string', default: '1' },
      only: { type: 'string', default: 'crashes,in-place,rolling' },
    },
  });
  const only = new Set(values.only.split(',').map((x) => x.trim()));
  mkdirSync(OUT, { recursive: true });
  const log = (line: string) => console.error(line);
  const started = new Date();
  const load = loadavg()[0];
  const result: Record<string, unknown> = {
    started: started.toISOString(),
    machine: `${cpus().length} CPUs, load average ${load.toFixed(1)} at start`,
    command: `make chaos CHECKOUTS=${values.checkouts} KILLS=${values.kills} SEED=${values.seed}`,
  };
  let ok = true;
  if (only.has('crashes')) {
    console.error(
      `chaos: ${values.checkouts} checkouts, payments failing 20 % and slowed, ${values.kills} SIGKILLs of each of ` +
        'checkout, inventory, payments, orders and audit, one Redis and one FerretDB restart',
    );
    const crashes = await runChaos({
      checkouts: Number(values.checkouts),
      killsPerService: Number(values.kills),
      concurrency: Number(values.concurrency),
      seed: Number(values.seed),
      logDir: `${OUT}chaos-logs/crashes`,
      log,
    });
    const { records: _records, ...figures } = crashes;
    result.crashes = figures;
    console.log(`## Crashes\n\n${crashReport(crashes)}\n`);
    ok &&= crashes.verdict.ok;
  }
  if (only.has('in-place')) {
    console.error(
      `chaos: every service stopped and started again on its port under make load's mix at ${values.rate}/s`,
    );
    const inPlace = await runRollingRestart({
      surge: false,
      rate: Number(values.rate),
      seed: Number(values.seed),
      logDir: `${OUT}chaos-logs/in-place`,
      log,
    });
    result.inPlace = inPlace;
    // The comparison: what a client sees without a second process behind the address. Failures are expected.
    console.log(`## Restart in place (for comparison)\n\n${rollingReport(inPlace)}\n`);
    ok &&= inPlace.verdict.ok;
  }
  if (only.has('rolling')) {
    console.error(`chaos: rolling restart of every service under make load's mix at ${values.rate}/s`);
    const rolling = await runRollingRestart({
      rate: Number(values.rate),
      seed: Number(values.seed),
      logDir: `${OUT}chaos-logs/rolling`,
      log,
    });
    result.rolling = rolling;
    console.log(`## Rolling restart\n\n${rollingReport(rolling)}\n`);
    ok &&= rolling.load.errors === 0 && rolling.verdict.ok;
  }
  writeFileSync(`${OUT}chaos.json`, `${JSON.stringify(result, null, 2)}\n`);
  console.error(`chaos: ${ok ? 'every invariant held' : 'FAILED'}; figures in bench/out/chaos.json`);
  return ok ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = await main();
