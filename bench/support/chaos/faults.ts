// The faults of a chaos run and when they strike: each service killed with SIGKILL (then started again on its port by
// the harness, as a ReplicaSet would), Redis and FerretDB killed and started again, each at a random point of the run
// (a fraction of the checkouts started), and the payments provider failing and slowed at random all along.
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceName } from '@meshmart/catalogue';
import type { Cluster } from './cluster.ts';
import type { Datastore } from './datastores.ts';
import { streamLengths } from './invariants.ts';

export type Fault =
  | { readonly kind: 'kill'; readonly target: ServiceName; readonly at: number }
  | { readonly kind: 'restart'; readonly target: 'redis' | 'ferretdb'; readonly at: number };

export interface FaultRecord {
  readonly kind: Fault['kind'];
  readonly target: string;
  /** Seconds into the run. */
  readonly atSeconds: number;
  /** Checkouts in flight when it struck. */
  readonly inFlight: number;
  /** From the kill to the process (or the store) answering again. */
  readonly backMs: number;
  /** From the kill to every service answering /healthz/ready (its stores included) again. */
  readonly recoveredMs: number;
}

export const KILLED: readonly ServiceName[] = ['checkout', 'inventory', 'payments', 'orders', 'audit'];

/** `kills` kills of each service and one restart of each store, at random fractions of the run in [0.05, 0.85]. */
export function schedule(kills: number, random: () => number): Fault[] {
  const at = () => 0.05 + random() * 0.8;
  const faults: Fault[] = [
    ...KILLED.flatMap((target) =>
      Array.from({ length: kills }, () => ({ kind: 'kill' as const, target, at: at() })),
    ),
    { kind: 'restart', target: 'redis', at: at() },
    { kind: 'restart', target: 'ferretdb', at: at() },
  ];
  return faults.sort((a, b) => a.at - b.at);
}

export interface FaultRunOptions {
  readonly cluster: Cluster;
  readonly stores: { readonly redis: Datastore; readonly ferretdb: Datastore };
  readonly faults: readonly Fault[];
  /** Fraction of the checkouts started so far, and how many are in flight. */
  readonly progress: () => { readonly fraction: number; readonly inFlight: number };
  /** Faults at once at most: 1 runs them one after another (each recovery measured alone). @default 1 */
  readonly concurrency?: number;
  /** Longest a killed process stays down before the harness starts it again. @default 2000 */
  readonly maxDownMs?: number;
  readonly random: () => number;
  readonly t0: number;
  readonly log?: (line: string) => void;
}

export interface FaultRun {
  readonly records: FaultRecord[];
  /** Stream lengths before and after each Redis restart. */
  readonly redisRestarts: { before: Record<string, number>; after: Record<string, number> }[];
  /** Resolves when every fault has struck and been recovered from. */
  readonly done: Promise<void>;
  /** Strikes what is left now, without waiting for its moment (the load ended first). */
  hurry(): void;
}

export function runFaults(options: FaultRunOptions): FaultRun {
  const { cluster, stores, random } = options;
  const records: FaultRecord[] = [];
  const redisRestarts: FaultRun['redisRestarts'] = [];
  const queue = [...options.faults];
  const striking = new Set<string>();
  let hurried = false;
  const strike = async (fault: Fault): Promise<void> => {
    const start = performance.now();
    const { inFlight } = options.progress();
    const downMs = Math.floor(random() * (options.maxDownMs ?? 2000));
    let backMs: number;
    if (fault.kind === 'kill') {
      await cluster.kill(fault.target);
      await sleep(downMs);
      await cluster.start(fault.target);
      backMs = performance.now() - start;
    } else if (fault.target === 'redis') {
      const before = await streamLengths(cluster);
      backMs = (await stores.redis.restart({ downMs })).downMs;
      redisRestarts.push({ before, after: await streamLengths(cluster) });
    } else {
      backMs = (await stores.ferretdb.restart({ downMs })).downMs;
    }
    while (!(await cluster.allReady())) await sleep(100);
    const record: FaultRecord = {
      kind: fault.kind,
      target: fault.target,
      atSeconds: (start - options.t0) / 1000,
      inFlight,
      backMs,
      recoveredMs: performance.now() - start,
    };
    records.push(record);
    options.log?.(
      `  ${fault.kind} ${fault.target} at ${record.atSeconds.toFixed(1)} s (${inFlight} checkouts in flight): ` +
        `back in ${(backMs / 1000).toFixed(1)} s, all ready in ${(record.recoveredMs / 1000).toFixed(1)} s`,
    );
  };
  const worker = async (): Promise<void> => {
    for (;;) {
      const fault = queue.shift();
      if (!fault) return;
      while ((!hurried && options.progress().fraction < fault.at) || striking.has(fault.target))
        await sleep(100);
      striking.add(fault.target);
      try {
        await strike(fault);
      } finally {
        striking.delete(fault.target);
      }
    }
  };
  const done = Promise.all(Array.from({ length: options.concurrency ?? 1 }, worker)).then(() => undefined);
  return {
    records,
    redisRestarts,
    done,
    hurry: () => {
      hurried = true;
    },
  };
}

/**
 * The payments provider fails `failureRate` of its calls (set at start through CHAOS_FAILURE_RATE, so a restarted
 * payments keeps it) and is slowed by a latency drawn again every `everyMs` (PUT /chaos/latency; a payments that is
 * down misses a draw). Returns a stop function.
 */
export function slowPaymentsAtRandom(
  cluster: Cluster,
  random: () => number,
  options: { maxLatencyMs?: number; everyMs?: number } = {},
): { stop: () => Promise<void>; draws: () => number[] } {
  let stopped = false;
  const draws: number[] = [];
  const loop = (async () => {
    while (!stopped) {
      const ms = Math.floor(random() * (options.maxLatencyMs ?? 600));
      try {
        const res = await fetch(`${cluster.url('payments')}/chaos/latency`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json', 'x-admin-token': cluster.adminToken },
          body: JSON.stringify({ ms }),
          signal: AbortSignal.timeout(2000),
        });
        if (res.ok) draws.push(ms);
      } catch {
        // payments is down (killed): the next draw reaches the restarted one
      }
      await sleep(options.everyMs ?? 2000);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
    },
    draws: () => draws,
  };
}
