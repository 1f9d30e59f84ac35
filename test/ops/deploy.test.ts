import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { stringify } from 'yaml';
import { defaultConfig, mergeConfig } from '@meshmart/cdk8s/config.ts';
import {
  deploy,
  DEPLOY_LABEL,
  FIELD_MANAGER,
  inventoryName,
  MANAGED_BY_LABEL,
  readInventory,
} from '@meshmart/ops/lib/deploy.ts';
import { describe as nameOf, ObjectError, type KubeObject } from '@meshmart/ops/lib/kube.ts';
import { objectsFromSynth } from '@meshmart/ops/lib/synth.ts';
import { RolloutError, waitForRollout } from '@meshmart/ops/lib/rollout.ts';
import { testenv } from '../support/testenv.ts';
import { cleanUp, configMap, deployment, namespace, testKube, uniqueId } from './support/kube.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function fixture(ns: string, extra: KubeObject[] = []): KubeObject[] {
  return [
    namespace(ns),
    configMap(ns, 'settings'),
    configMap(ns, 'dropped-later'),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: ns },
      spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    },
    deployment(ns, 'web'),
    ...extra,
  ];
}

function writeDir(objects: readonly KubeObject[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'ops-deploy-'));
  writeFileSync(join(dir, '00-objects.yaml'), objects.map((o) => stringify(o)).join('---\n'));
  return dir;
}

function runCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'ops/deploy.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, KUBECONFIG: testenv('KUBECONFIG') },
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('ops/deploy against the real kube-apiserver', function () {
  this.timeout(120_000);
  const kube = testKube();
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    await cleanUp(kube, ['ops-deploy', 'ops-bad', 'ops-badcli', 'ops-wait', 'ops-cli', 'ops-dry', 'ops-mig']);
  });

  describe('when a profile is applied, re-applied, then applied without one of its objects', () => {
    const ns = uniqueId('ops-deploy');
    const name = ns;
    let first: Awaited<ReturnType<typeof deploy>>;

    before(async () => {
      first = await deploy({ kube, name, objects: fixture(ns) });
    });

    it('then every object exists, labelled with its owner, and the inventory lists them', async () => {
      expect(first.applied.map(nameOf)).to.deep.equal([
        `Namespace ${ns}`,
        `ConfigMap ${ns}/settings`,
        `ConfigMap ${ns}/dropped-later`,
        `Service ${ns}/web`,
        `Deployment ${ns}/web`,
      ]);
      for (const o of fixture(ns)) {
        const live = await kube.read(o);
        expect(live, nameOf(o)).to.not.equal(undefined);
        expect(live!.metadata.labels).to.include({ [MANAGED_BY_LABEL]: FIELD_MANAGER, [DEPLOY_LABEL]: name });
        const managers = (live!.metadata.managedFields as { manager: string; operation: string }[]).map(
          (m) => `${m.manager}/${m.operation}`,
        );
        expect(managers).to.include(`${FIELD_MANAGER}/Apply`);
      }
      const inventory = await readInventory(kube, name);
      expect([...inventory.values()].map((r) => `${r.kind} ${r.name}`).sort()).to.deep.equal(
        [
          'ConfigMap dropped-later',
          'ConfigMap settings',
          'Deployment web',
          `Namespace ${ns}`,
          'Service web',
        ].sort(),
      );
      expect(first.workloads).to.deep.equal([
        { apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web' },
      ]);
    });

    it('then applying the same objects again changes nothing (every resourceVersion is unchanged)', async () => {
      const before = new Map<string, string>();
      for (const o of fixture(ns)) before.set(nameOf(o), (await kube.read(o))!.metadata.resourceVersion!);
      const inventoryBefore = (await kube.read(configMap('default', inventoryName(name))))!.metadata
        .resourceVersion;
      const again = await deploy({ kube, name, objects: fixture(ns) });
      expect(again.pruned).to.deep.equal([]);
      for (const o of again.applied)
        expect(o.metadata.resourceVersion, nameOf(o)).to.equal(before.get(nameOf(o)));
      for (const o of fixture(ns))
        expect((await kube.read(o))!.metadata.resourceVersion).to.equal(before.get(nameOf(o)));
      expect((await kube.read(configMap('default', inventoryName(name))))!.metadata.resourceVersion).to.equal(
        inventoryBefore,
      );
    });

    it('then prune deletes the dropped object and nothing else, and leaves an object someone else took over', async () => {
      // Someone relabels `settings` as theirs; it is then dropped from the profile too, and must survive.
      await kube.mergePatch(
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'settings', namespace: ns, labels: { [DEPLOY_LABEL]: 'someone-else' } },
        },
        'test-operator',
      );
      const objects = fixture(ns).filter(
        (o) => o.metadata.name !== 'dropped-later' && o.metadata.name !== 'settings',
      );
      const events: string[] = [];
      const result = await deploy({
        kube,
        name,
        objects,
        onEvent: (e) => events.push(`${e.type} ${e.object}`),
      });
      expect(result.pruned).to.deep.equal([`ConfigMap ${ns}/dropped-later`]);
      expect(await kube.read(configMap(ns, 'dropped-later'))).to.equal(undefined);
      expect(await kube.read(configMap(ns, 'settings'))).to.not.equal(undefined);
      expect(events).to.include(`kept ConfigMap ${ns}/settings`);
      for (const o of objects) expect(await kube.read(o), nameOf(o)).to.not.equal(undefined);
      const inventory = await readInventory(kube, name);
      expect([...inventory.values()].map((r) => r.name).sort()).to.deep.equal([ns, 'web', 'web'].sort());
    });
  });

  describe('when an object is invalid', () => {
    it("then the deploy stops at it with the API server's message and its kind, namespace and name", async () => {
      const ns = uniqueId('ops-bad');
      const bad = deployment(ns, 'broken', { app: 'something-else' });
      let error: unknown;
      try {
        await deploy({ kube, name: ns, objects: [namespace(ns), bad, configMap(ns, 'after-the-bad-one')] });
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(ObjectError);
      const message = (error as ObjectError).message;
      expect(message).to.include(`Deployment ${ns}/broken`);
      expect(message).to.include('422 Invalid');
      // The server's own words about the selector.
      expect(message).to.match(/selector.*does not match template.*labels/);
      expect(await kube.read(configMap(ns, 'after-the-bad-one'))).to.equal(undefined);
    });

    it('then the CLI prints the message and exits 1', () => {
      const ns = uniqueId('ops-badcli');
      const dir = writeDir([
        namespace(ns),
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'x', namespace: ns },
          spec: { ports: [{ port: 70000 }] },
        },
      ]);
      dirs.push(dir);
      const r = runCli(['--dir', dir, '--name', ns, '--no-wait']);
      expect(r.status, r.stdout + r.stderr).to.equal(1);
      expect(r.stdout).to.include(`applied     Namespace ${ns}`);
      expect(r.stderr).to.include(`deploy: stopped: apply Service ${ns}/x: 422 Invalid: `);
      expect(r.stderr).to.include('must be between 1 and 65535');
    });
  });

  describe('when the server has no kubelets', () => {
    it('then the rollout wait times out with a message naming every workload that is not ready', async () => {
      const ns = uniqueId('ops-wait');
      const result = await deploy({
        kube,
        name: ns,
        objects: [namespace(ns), deployment(ns, 'a'), deployment(ns, 'b')],
      });
      let error: unknown;
      try {
        await waitForRollout({ kube, workloads: result.workloads, timeoutMs: 1_000, pollMs: 200 });
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(RolloutError);
      const message = (error as RolloutError).message;
      expect(message).to.include('rollout not complete after 1s: 2 of 2 workloads not ready');
      expect(message).to.include(`Deployment ${ns}/a: `);
      expect(message).to.include(`Deployment ${ns}/b: `);
      expect((error as RolloutError).notReady.map((s) => s.name)).to.deep.equal([
        `Deployment ${ns}/a`,
        `Deployment ${ns}/b`,
      ]);
    });

    it('then the CLI exits 3 after --timeout, and 0 with --no-wait', () => {
      const ns = uniqueId('ops-cli');
      const dir = writeDir(fixture(ns));
      dirs.push(dir);
      const waited = runCli(['--dir', dir, '--name', ns, '--timeout', '2s', '--poll-interval', '250ms']);
      expect(waited.status, waited.stdout + waited.stderr).to.equal(3);
      expect(waited.stdout).to.include(`waiting up to 2s for 1 workloads to roll out`);
      expect(waited.stdout).to.match(/\[0\/1 ready\] waiting Deployment .*\/web: /);
      expect(waited.stderr).to.include('rollout not complete after 2s: 1 of 1 workloads not ready');
      expect(waited.stderr).to.include(`Deployment ${ns}/web: `);

      const skipped = runCli(['--dir', dir, '--name', ns, '--no-wait']);
      expect(skipped.status, skipped.stdout + skipped.stderr).to.equal(0);
      expect(skipped.stdout).to.include('not waiting for 1 workloads (--no-wait)');
    });
  });

  describe('when run with --dry-run', () => {
    it('then the server validates everything, nothing is stored and objects of a new namespace are reported skipped', async () => {
      const ns = uniqueId('ops-dry');
      const result = await deploy({ kube, name: ns, objects: fixture(ns), dryRun: true });
      expect(result.applied.map(nameOf)).to.deep.equal([`Namespace ${ns}`]);
      expect(result.skipped.map((s) => s.object)).to.deep.equal([
        `ConfigMap ${ns}/settings`,
        `ConfigMap ${ns}/dropped-later`,
        `Service ${ns}/web`,
        `Deployment ${ns}/web`,
      ]);
      expect(result.skipped[0].reason).to.include(`namespace ${ns} does not exist yet`);
      expect(await kube.read(namespace(ns))).to.equal(undefined);
      expect(await kube.read(configMap('default', inventoryName(ns)))).to.equal(undefined);
    });
  });

  describe('when a real profile (migration, in its own namespace) is deployed three times', () => {
    it('then every object and CRD is accepted, and re-deploys change nothing', async () => {
      const ns = uniqueId('ops-mig');
      // The app namespace's objects plus the cluster-scoped ones; objects in the shared add-on namespaces (logging,
      // observability) are left to the tests of their own issue.
      const objects = objectsFromSynth('migration', mergeConfig(defaultConfig(), { namespace: ns })).filter(
        (o) => o.metadata.namespace === ns || o.metadata.namespace === undefined,
      );
      const first = await deploy({ kube, name: ns, objects });
      const kinds = new Set(first.applied.map((o) => o.kind));
      for (const k of [
        'CustomResourceDefinition',
        'Namespace',
        'Deployment',
        'VirtualRouter',
        'HTTPRoute',
        'Mesh',
      ])
        expect(kinds, k).to.include(k);
      expect(first.workloads.length).to.be.greaterThan(7);
      const before = new Map<string, KubeObject>();
      for (const o of first.applied) before.set(nameOf(o), (await kube.read(o))!);
      const second = await deploy({ kube, name: ns, objects });
      expect(second.applied.map(nameOf)).to.deep.equal(first.applied.map(nameOf));
      const content = (o: KubeObject): string =>
        JSON.stringify({ ...o, metadata: { ...o.metadata, resourceVersion: 0, managedFields: 0 } });
      for (const o of second.applied) expect(content(o), nameOf(o)).to.equal(content(before.get(nameOf(o))!));
      // The first re-apply stores the defaults these CRDs give `status` (kubernetes/kubernetes#121404): same
      // content, new resourceVersion. Every other object, and every object from then on, keeps its resourceVersion.
      const statusDefaulted = new Set(['Gateway', 'TargetGroupPolicy', 'IAMAuthPolicy']);
      const bumped = second.applied.filter(
        (o) => o.metadata.resourceVersion !== before.get(nameOf(o))!.metadata.resourceVersion,
      );
      expect(bumped.filter((o) => !statusDefaulted.has(o.kind)).map(nameOf)).to.deep.equal([]);
      const third = await deploy({ kube, name: ns, objects });
      const changed = third.applied.filter(
        (o, i) => o.metadata.resourceVersion !== second.applied[i].metadata.resourceVersion,
      );
      expect(changed.map(nameOf)).to.deep.equal([]);
    });
  });
});
