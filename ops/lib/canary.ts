import { setTimeout as sleep } from 'node:timers/promises';
import { Counter, Gauge, Registry } from 'prom-client';
import { describe, type Kube, type KubeObject, ObjectError } from './kube.ts';
import { canaryQueries, queryNumber, type CanaryQueryOptions } from './prometheus.ts';
import {
  BACKENDS,
  CANARY_ANNOTATION,
  CANARY_FIELD_MANAGER,
  format,
  readRoute,
  readWeights,
  withCanaryWeight,
  type Backend,
} from './traffic.ts';

export const DEFAULT_STEPS = [5, 10, 20, 50] as const;

export type CanaryPhase = 'progressing' | 'promoted' | 'rolled-back';

/** What the route's `meshmart.dev/canary` annotation holds: enough to resume and to read what happened. */
export interface CanaryState {
  readonly version: string;
  readonly stable: string;
  readonly phase: CanaryPhase;
  /** The canary's weight when the state was written. */
  readonly weight: number;
  /** The last weight whose analysis passed; a resumed run moves on from it. */
  readonly passedWeight?: number;
  readonly message: string;
  readonly updatedAt: string;
}

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

export type CanaryEvent =
  | {
      readonly type: 'start';
      readonly stable: string;
      readonly split: string;
      readonly schedule: readonly number[];
      readonly resumedFrom?: number;
    }
  | { readonly type: 'weight'; readonly weight: number; readonly targets: readonly string[] }
  | {
      readonly type: 'check';
      readonly weight: number;
      readonly measurement: Measurement;
      readonly gate: GateResult;
      readonly failedChecks: number;
    }
  | { readonly type: 'promoted' }
  | { readonly type: 'rolled-back'; readonly reason: string }
  | { readonly type: 'interrupted'; readonly weight: number };

export type CanaryOutcome = 'promoted' | 'rolled-back' | 'interrupted' | 'already-promoted';

export interface CanaryResult {
  readonly outcome: CanaryOutcome;
  /** The canary's weight at the end. */
  readonly weight: number;
  readonly message: string;
  readonly checks: readonly Extract<CanaryEvent, { type: 'check' }>[];
}

export interface CanaryOptions extends Omit<CanaryQueryOptions, 'version' | 'service'> {
  readonly kube: Kube;
  readonly namespace: string;
  readonly service: string;
  /** The new version (`app.kubernetes.io/version` of its pods; the target is `<service>-<version>`). */
  readonly version: string;
  /** Route objects to shift; those the profile does not render are skipped. @default both */
  readonly backends?: readonly Backend[];
  /** Canary weights in percent, increasing, below 100; promotion to 100 follows the last. @default 5, 10, 20, 50 */
  readonly steps?: readonly number[];
  /** Time at each weight before its analysis (and between repeated analyses). @default 60 s */
  readonly intervalMs: number;
  readonly prometheusUrl: string;
  /** Lowest success rate (non-5xx share, percent) the canary may have. @default 99 */
  readonly minSuccessRate?: number;
  /** Highest p99 latency in ms. @default 500 */
  readonly maxP99Ms?: number;
  /** Failed analyses at one weight before rolling back. @default 1 */
  readonly maxFailedChecks?: number;
  readonly metrics?: CanaryMetrics;
  readonly onEvent?: (event: CanaryEvent) => void;
  readonly signal?: AbortSignal;
}

/** The canary's progress as Prometheus metrics, served by the CLI while it runs and/or written as a textfile. */
export class CanaryMetrics {
  readonly registry = new Registry();
  private readonly weight = new Gauge({
    name: 'meshmart_canary_weight_percent',
    help: "Share of the service's traffic the canary version receives",
    labelNames: ['namespace', 'service', 'version'] as const,
    registers: [this.registry],
  });
  private readonly phase = new Gauge({
    name: 'meshmart_canary_phase',
    help: 'Current phase of the canary (1 for the current one)',
    labelNames: ['namespace', 'service', 'version', 'phase'] as const,
    registers: [this.registry],
  });
  private readonly success = new Gauge({
    name: 'meshmart_canary_success_rate_percent',
    help: 'Last measured success rate (non-5xx) of the canary version',
    labelNames: ['namespace', 'service', 'version'] as const,
    registers: [this.registry],
  });
  private readonly p99 = new Gauge({
    name: 'meshmart_canary_latency_p99_seconds',
    help: 'Last measured p99 latency of the canary version',
    labelNames: ['namespace', 'service', 'version'] as const,
    registers: [this.registry],
  });
  private readonly checks = new Counter({
    name: 'meshmart_canary_checks_total',
    help: 'Analyses of the canary version, by result',
    labelNames: ['namespace', 'service', 'version', 'result'] as const,
    registers: [this.registry],
  });
  private readonly transition = new Gauge({
    name: 'meshmart_canary_last_transition_timestamp_seconds',
    help: 'When the canary last changed weight or phase',
    labelNames: ['namespace', 'service', 'version'] as const,
    registers: [this.registry],
  });

  constructor(private readonly labels: { namespace: string; service: string; version: string }) {}

  setWeight(weight: number): void {
    this.weight.set(this.labels, weight);
    this.transition.set(this.labels, Date.now() / 1000);
  }

  setPhase(phase: CanaryPhase | 'interrupted'): void {
    for (const p of ['progressing', 'promoted', 'rolled-back', 'interrupted'])
      this.phase.set({ ...this.labels, phase: p }, p === phase ? 1 : 0);
    this.transition.set(this.labels, Date.now() / 1000);
  }

  recordCheck(m: Measurement, passed: boolean): void {
    if (m.successRate !== undefined) this.success.set(this.labels, m.successRate);
    if (m.p99Ms !== undefined) this.p99.set(this.labels, m.p99Ms / 1000);
    this.checks.inc({ ...this.labels, result: passed ? 'passed' : 'failed' });
  }
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

export function parseState(object: KubeObject | undefined): CanaryState | undefined {
  const text = object?.metadata.annotations?.[CANARY_ANNOTATION];
  if (!text) return undefined;
  try {
    return JSON.parse(text) as CanaryState;
  } catch {
    return undefined;
  }
}

interface Route {
  readonly backend: Backend;
  object: KubeObject;
}

/**
 * Progressive delivery of one version of one service: for each step, set the canary's weight on every route object
 * (App Mesh VirtualRouter, Gateway API HTTPRoute), wait `intervalMs`, query Prometheus and check the gates; promote to
 * 100% when every step passed, roll back to 0% when a gate fails `maxFailedChecks` times at one weight. The state
 * lives in an annotation on each route object, so an interrupted run resumes from the weights it finds.
 */
export async function runCanary(options: CanaryOptions): Promise<CanaryResult> {
  const { kube, namespace, service, version } = options;
  const emit = options.onEvent ?? (() => undefined);
  const steps = [...(options.steps ?? DEFAULT_STEPS)];
  checkSteps(steps);
  const window = options.window ?? '1m';
  const minSuccessRate = options.minSuccessRate ?? 99;
  const maxP99Ms = options.maxP99Ms ?? 500;
  const maxFailedChecks = options.maxFailedChecks ?? 1;
  const queries = canaryQueries({ ...options, service, version, window });
  const checks: Extract<CanaryEvent, { type: 'check' }>[] = [];

  const routes: Route[] = [];
  for (const backend of options.backends ?? BACKENDS) {
    const object = await readRoute(kube, backend, namespace, service);
    if (object) routes.push({ backend, object });
  }
  if (routes.length === 0)
    throw new Error(
      `no route to shift for '${service}' in namespace ${namespace}: neither VirtualRouter ${service}-router (App Mesh) nor HTTPRoute ${service} (Gateway API) exists`,
    );

  const splits = routes.map((r) => readWeights(r.backend, r.object, service));
  const current = Math.min(...splits.map((s) => s.get(version) ?? 0));
  const others = new Map<string, number>();
  for (const split of splits)
    for (const [v, w] of split) if (v !== version && w > 0) others.set(v, Math.max(others.get(v) ?? 0, w));
  if (others.size > 1)
    throw new Error(
      `more than one other version of '${service}' carries traffic (${format(others)}): finish that rollout first`,
    );
  const state = routes.map((r) => parseState(r.object)).find((s) => s?.version === version);
  const stable: string | undefined = [...others.keys()][0] ?? state?.stable;
  const splitText = routes.map((r, i) => `${describe(r.object)}: ${format(splits[i])}`).join('; ');

  const metrics = options.metrics;
  const write = async (
    weight: number,
    phase: CanaryPhase,
    message: string,
    passedWeight?: number,
  ): Promise<void> => {
    const next: CanaryState = {
      version,
      stable: stable,
      phase,
      weight,
      ...(passedWeight !== undefined ? { passedWeight } : {}),
      message,
      updatedAt: new Date().toISOString(),
    };
    for (const route of routes)
      route.object = await patchRoute(kube, route, service, stable, version, weight, next);
    metrics?.setWeight(weight);
    metrics?.setPhase(phase);
  };

  if (!stable) {
    if (current === 100) {
      metrics?.setWeight(100);
      metrics?.setPhase('promoted');
      return {
        outcome: 'already-promoted',
        weight: 100,
        message: `${service} ${version} already takes 100% (${splitText})`,
        checks,
      };
    }
    throw new Error(
      `no stable version of '${service}' carries traffic and no canary state says which: ${splitText}`,
    );
  }
  if (current === 100 && state?.phase === 'promoted') {
    metrics?.setWeight(100);
    metrics?.setPhase('promoted');
    return {
      outcome: 'already-promoted',
      weight: 100,
      message: `${service} ${version} was already promoted (${splitText})`,
      checks,
    };
  }

  let schedule: number[];
  let resumedFrom: number | undefined;
  let passed: number | undefined;
  if (current === 0) schedule = steps;
  else {
    resumedFrom = current;
    if (state?.phase === 'progressing' && state.passedWeight === current) passed = current;
    schedule = [...(passed === current ? [] : [current]), ...steps.filter((s) => s > current)];
  }
  emit({
    type: 'start',
    stable,
    split: splitText,
    schedule,
    ...(resumedFrom !== undefined ? { resumedFrom } : {}),
  });

  let weight = current;
  try {
    for (const step of schedule) {
      options.signal?.throwIfAborted();
      await write(step, 'progressing', `analysing ${version} at ${step}%`, passed);
      weight = step;
      emit({ type: 'weight', weight: step, targets: routes.map((r) => describe(r.object)) });
      for (let failed = 0; ;) {
        await sleep(options.intervalMs, undefined, options.signal ? { signal: options.signal } : undefined);
        const measurement = await measure(options.prometheusUrl, queries, options.signal);
        const gate = evaluateGates(measurement, minSuccessRate, maxP99Ms, window);
        if (!gate.passed) failed++;
        metrics?.recordCheck(measurement, gate.passed);
        const check = { type: 'check', weight: step, measurement, gate, failedChecks: failed } as const;
        checks.push(check);
        emit(check);
        if (gate.passed) {
          passed = step;
          await write(step, 'progressing', `${version} passed at ${step}%`, passed);
          break;
        }
        if (failed >= maxFailedChecks) {
          const reason = `at ${step}%: ${gate.failures.join('; ')}`;
          await write(0, 'rolled-back', `rolled back ${reason}`);
          emit({ type: 'rolled-back', reason });
          return {
            outcome: 'rolled-back',
            weight: 0,
            message: `${service} ${version} rolled back to 0% ${reason}`,
            checks,
          };
        }
      }
    }
    options.signal?.throwIfAborted();
    await write(100, 'promoted', `${version} promoted after ${steps.join(', ')}%`);
    emit({ type: 'promoted' });
    return { outcome: 'promoted', weight: 100, message: `${service} ${version} promoted to 100%`, checks };
  } catch (e) {
    if (options.signal?.aborted) {
      metrics?.setPhase('interrupted');
      emit({ type: 'interrupted', weight });
      return {
        outcome: 'interrupted',
        weight,
        message: `interrupted at ${weight}%; run again to resume from there`,
        checks,
      };
    }
    throw e;
  }
}

/** Throws unless the steps are whole percentages strictly increasing within 1..99. */
export function checkSteps(steps: readonly number[]): void {
  if (steps.length === 0) throw new Error('give at least one canary step');
  let last = 0;
  for (const s of steps) {
    if (!Number.isInteger(s) || s <= last || s >= 100)
      throw new Error(
        `canary steps must be whole percentages increasing from above 0 to below 100 (got ${steps.join(',')})`,
      );
    last = s;
  }
}

async function measure(
  url: string,
  q: ReturnType<typeof canaryQueries>,
  signal?: AbortSignal,
): Promise<Measurement> {
  const [requestsPerSecond, successRate, p99] = await Promise.all([
    queryNumber(url, q.requestRate, signal),
    queryNumber(url, q.successRate, signal),
    queryNumber(url, q.p99Seconds, signal),
  ]);
  // The two rates of the ratio are summed over different series, so every request succeeding can come back as
  // 99.99999999999999: a percentage to a millionth is all a gate compares.
  const percent = successRate === undefined ? undefined : Math.round(successRate * 1e6) / 1e6;
  return { requestsPerSecond, successRate: percent, p99Ms: p99 === undefined ? undefined : p99 * 1000 };
}

/** Writes weights and state with a merge patch conditioned on the resourceVersion read; one retry on a conflict. */
async function patchRoute(
  kube: Kube,
  route: Route,
  service: string,
  stable: string,
  canary: string,
  weight: number,
  state: CanaryState,
): Promise<KubeObject> {
  for (let attempt = 0; ; attempt++) {
    const o = route.object;
    try {
      return await kube.mergePatch(
        {
          apiVersion: o.apiVersion,
          kind: o.kind,
          metadata: {
            name: o.metadata.name,
            namespace: o.metadata.namespace!,
            resourceVersion: o.metadata.resourceVersion!,
            annotations: { [CANARY_ANNOTATION]: JSON.stringify(state) },
          },
          spec: withCanaryWeight(route.backend, o, service, stable, canary, weight),
        },
        CANARY_FIELD_MANAGER,
      );
    } catch (e) {
      if (attempt === 0 && e instanceof ObjectError && e.status?.code === 409) {
        const fresh = await kube.read(o);
        if (fresh) {
          route.object = fresh;
          continue;
        }
      }
      throw e;
    }
  }
}
