import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { defaultConfig, mergeConfig } from '@meshmart/cdk8s/config.ts';
import {
  CanaryMetrics,
  parseState,
  runCanary,
  type CanaryEvent,
  type CanaryOptions,
} from '@meshmart/ops/lib/canary.ts';
import { deploy } from '@meshmart/ops/lib/deploy.ts';
import type { KubeObject } from '@meshmart/ops/lib/kube.ts';
import { objectsFromSynth } from '@meshmart/ops/lib/synth.ts';
import { readWeights, routeRef, type Backend } from '@meshmart/ops/lib/traffic.ts';
import { testenv } from '../support/testenv.ts';
import { cleanUp, testKube, uniqueId } from './support/kube.ts';
import { startVersionExporter, type VersionExporter } from './support/version-exporter.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WINDOW = '5s';

describe('ops/canary against the real kube-apiserver and Prometheus', function () {
  this.timeout(120_000);
  const kube = testKube();
  const ns = uniqueId('ops-canary');
  let exporter: VersionExporter | undefined;

  before(async () => {
    // The migration profile renders both backends: VirtualRouter <svc>-router and HTTPRoute <svc>, v2 at 0%.
    const canaries = (['catalog', 'cart', 'orders', 'payments'] as const).map((service) => ({
      service,
      version: 'v2',
      weight: 0,
    }));
    const objects = objectsFromSynth('migration', mergeConfig(defaultConfig(), { namespace: ns, canaries }));
    await deploy({ kube, name: ns, objects });
    exporter = await startVersionExporter(ns, 'v2', {
      catalog: { errorRatio: 0, latencySeconds: 0.02 },
      cart: { errorRatio: 0.3, latencySeconds: 0.02 },
      orders: { errorRatio: 0, latencySeconds: 0.02 },
      payments: { errorRatio: 0, latencySeconds: 0.02 },
    });
    await exporter.ready(WINDOW);
  });
  after(async () => {
    await exporter?.close();
    await cleanUp(kube, ['ops-canary']);
  });

  const options = (service: string, extra: Partial<CanaryOptions> = {}): CanaryOptions => ({
    kube,
    namespace: ns,
    service,
    version: 'v2',
    intervalMs: 1_000,
    window: WINDOW,
    selector: `suite="${ns}"`,
    prometheusUrl: testenv('PROMETHEUS_URL'),
    ...extra,
  });

  async function routes(service: string): Promise<{ backend: Backend; object: KubeObject }[]> {
    const found = [];
    for (const backend of ['app-mesh', 'gateway-api'] as const)
      found.push({ backend, object: (await kube.read(routeRef(backend, ns, service)))! });
    return found;
  }

  async function splits(service: string): Promise<Record<string, Record<string, number>>> {
    const result: Record<string, Record<string, number>> = {};
    for (const r of await routes(service))
      result[r.backend] = Object.fromEntries(readWeights(r.backend, r.object, service));
    return result;
  }

  it('when the new version is healthy, then it goes 5, 10, 20, 50% and is promoted to 100% on both backends', async () => {
    expect(await splits('catalog')).to.deep.equal({
      'app-mesh': { v1: 100, v2: 0 },
      'gateway-api': { v1: 100, v2: 0 },
    });
    const events: CanaryEvent[] = [];
    const metrics = new CanaryMetrics({ namespace: ns, service: 'catalog', version: 'v2' });
    const result = await runCanary(options('catalog', { metrics, onEvent: (e) => events.push(e) }));
    expect(result.outcome, result.message).to.equal('promoted');
    expect(events.filter((e) => e.type === 'weight').map((e) => e.weight)).to.deep.equal([5, 10, 20, 50]);
    expect(result.checks.map((c) => c.gate.passed)).to.deep.equal([true, true, true, true]);
    expect(result.checks[0].measurement.successRate).to.equal(100);
    expect(await splits('catalog')).to.deep.equal({
      'app-mesh': { v1: 0, v2: 100 },
      'gateway-api': { v1: 0, v2: 100 },
    });
    for (const r of await routes('catalog'))
      expect(parseState(r.object)).to.include({
        phase: 'promoted',
        version: 'v2',
        stable: 'v1',
        weight: 100,
      });
    const text = await metrics.registry.metrics();
    expect(text).to.include(
      `meshmart_canary_weight_percent{namespace="${ns}",service="catalog",version="v2"} 100`,
    );
    expect(text).to.include(
      `meshmart_canary_checks_total{namespace="${ns}",service="catalog",version="v2",result="passed"} 4`,
    );
    expect(text).to.include(
      `meshmart_canary_phase{namespace="${ns}",service="catalog",version="v2",phase="promoted"} 1`,
    );

    const again = await runCanary(options('catalog'));
    expect(again.outcome).to.equal('already-promoted');
  });

  it('when the new version fails requests, then the first analysis fails and it is rolled back to 0% with the reason', async () => {
    const result = await runCanary(options('cart'));
    expect(result.outcome).to.equal('rolled-back');
    expect(result.checks).to.have.length(1);
    expect(result.checks[0].weight).to.equal(5);
    expect(result.checks[0].measurement.successRate).to.be.below(99);
    expect(result.message).to.match(/rolled back to 0% at 5%: success rate \d+\.\d+% is below 99%/);
    expect(await splits('cart')).to.deep.equal({
      'app-mesh': { v1: 100, v2: 0 },
      'gateway-api': { v1: 100, v2: 0 },
    });
    for (const r of await routes('cart')) {
      const state = parseState(r.object)!;
      expect(state.phase).to.equal('rolled-back');
      expect(state.message).to.include('success rate');
    }
  });

  it('when a run is interrupted at 10%, then the next run resumes from the weights it finds and promotes', async () => {
    const controller = new AbortController();
    const first = await runCanary(
      options('orders', {
        signal: controller.signal,
        onEvent: (e) => {
          if (e.type === 'check' && e.weight === 10) controller.abort();
        },
      }),
    );
    expect(first.outcome).to.equal('interrupted');
    expect(await splits('orders')).to.deep.equal({
      'app-mesh': { v1: 90, v2: 10 },
      'gateway-api': { v1: 90, v2: 10 },
    });
    for (const r of await routes('orders'))
      expect(parseState(r.object)).to.include({ phase: 'progressing', weight: 10, passedWeight: 10 });

    const events: CanaryEvent[] = [];
    const second = await runCanary(options('orders', { onEvent: (e) => events.push(e) }));
    expect(events[0]).to.include({ type: 'start', resumedFrom: 10 });
    expect(events.filter((e) => e.type === 'weight').map((e) => e.weight)).to.deep.equal([20, 50]);
    expect(second.outcome).to.equal('promoted');
    expect(await splits('orders')).to.deep.equal({
      'app-mesh': { v1: 0, v2: 100 },
      'gateway-api': { v1: 0, v2: 100 },
    });
  });

  it('when the CLI runs, then it logs every step, exits 0 on promotion and writes its metrics textfile', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ops-canary-'));
    try {
      const file = join(dir, 'canary.prom');
      const args = [
        '--service',
        'payments',
        '--version',
        'v2',
        '--namespace',
        ns,
        '--steps',
        '20,50',
        '--interval',
        '1s',
      ];
      args.push(
        '--window',
        WINDOW,
        '--selector',
        `suite="${ns}"`,
        '--prometheus',
        testenv('PROMETHEUS_URL'),
        '--metrics-file',
        file,
      );
      // Asynchronously: the exporter serving Prometheus lives in this process and must keep answering.
      const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', join(ROOT, 'ops/canary.ts'), ...args],
          { cwd: ROOT, env: { ...process.env, KUBECONFIG: testenv('KUBECONFIG') }, timeout: 90_000 },
          (error, stdout, stderr) =>
            resolve({
              status: error ? (typeof error.code === 'number' ? error.code : 1) : 0,
              stdout,
              stderr,
            }),
        );
      });
      expect(r.status, r.stdout + r.stderr).to.equal(0);
      expect(r.stdout).to.match(/weight 20% on VirtualRouter .*\/payments-router, HTTPRoute .*\/payments/);
      expect(r.stdout).to.match(/at 50%: .* req\/s, success 100\.00%, p99 \d+ ms: passed/);
      expect(r.stdout).to.include('promoted to 100%');
      const text = readFileSync(file, 'utf8');
      expect(text).to.include(
        `meshmart_canary_phase{namespace="${ns}",service="payments",version="v2",phase="promoted"} 1`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
