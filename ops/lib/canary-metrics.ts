import { defineCounter, defineGauge } from '@meshmart/kit/metric-declarations';
import { DeclaredMetrics } from '@meshmart/kit/metrics';
import { Registry } from 'prom-client';
import type { Measurement } from './canary-analysis.ts';
import type { CanaryPhase } from './canary-plan.ts';

const TARGET = ['namespace', 'service', 'version'] as const;

/** The canary's own metrics (meshmart_canary_*), which no service exposes. */
export const canaryMetrics = {
  weight: defineGauge({
    name: 'meshmart_canary_weight_percent',
    help: "Share of the service's traffic the canary version receives",
    labelNames: TARGET,
  }),
  phase: defineGauge({
    name: 'meshmart_canary_phase',
    help: 'Current phase of the canary (1 for the current one)',
    labelNames: [...TARGET, 'phase'],
  }),
  successRate: defineGauge({
    name: 'meshmart_canary_success_rate_percent',
    help: 'Last measured success rate (non-5xx) of the canary version',
    labelNames: TARGET,
  }),
  p99: defineGauge({
    name: 'meshmart_canary_latency_p99_seconds',
    help: 'Last measured p99 latency of the canary version',
    labelNames: TARGET,
  }),
  checks: defineCounter({
    name: 'meshmart_canary_checks_total',
    help: 'Analyses of the canary version, by result',
    labelNames: [...TARGET, 'result'],
  }),
  lastTransition: defineGauge({
    name: 'meshmart_canary_last_transition_timestamp_seconds',
    help: 'When the canary last changed weight or phase',
    labelNames: TARGET,
  }),
} as const;

/** The canary's progress as Prometheus metrics, served by the CLI while it runs and/or written as a textfile. */
export class CanaryMetrics {
  readonly registry = new Registry();
  private readonly declared = DeclaredMetrics.of(this.registry);
  private readonly weight = this.declared.gauge(canaryMetrics.weight);
  private readonly phase = this.declared.gauge(canaryMetrics.phase);
  private readonly success = this.declared.gauge(canaryMetrics.successRate);
  private readonly p99 = this.declared.gauge(canaryMetrics.p99);
  private readonly checks = this.declared.counter(canaryMetrics.checks);
  private readonly transition = this.declared.gauge(canaryMetrics.lastTransition);

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
