import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { stringify } from 'yaml';
import { readInventory } from '@meshmart/ops/lib/deploy.ts';
import type { KubeObject } from '@meshmart/ops/lib/kube.ts';
import { refusedPort } from '../support/ports.ts';
import { testenv } from '../support/testenv.ts';
import { cleanUp, configMap, deployment, namespace, testKube, uniqueId } from './support/kube.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function run(
  tool: 'deploy' | 'canary',
  args: string[],
  options: { kubeconfig?: string; cwd?: string } = {},
): { status: number | null; stdout: string; stderr: string } {
  // tsx by its path: the process may run in a directory outside the repository.
  const tsx = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
  const r = spawnSync(process.execPath, ['--import', tsx, join(ROOT, `ops/${tool}.ts`), ...args], {
    cwd: options.cwd ?? ROOT,
    encoding: 'utf8',
    env: { ...process.env, KUBECONFIG: options.kubeconfig ?? testenv('KUBECONFIG') },
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A Deployment that reads the key of a Secret nobody created. */
function readsSigningKey(ns: string): KubeObject {
  const web = deployment(ns, 'web');
  const spec = web.spec as { template: { spec: { containers: Record<string, unknown>[] } } };
  spec.template.spec.containers[0].env = [
    { name: 'KEY', valueFrom: { secretKeyRef: { name: 'signing', key: 'jwt-signing-key' } } },
  ];
  return web;
}

// The command lines people type, as processes: exit codes and messages (the library is tested in deploy.test.ts).
describe('ops/deploy and ops/canary command lines: what they say when something is missing', function () {
  this.timeout(120_000);
  const kube = testKube();
  const work = mkdtempSync(join(tmpdir(), 'ops-cli-'));
  const dir = (name: string, objects: readonly KubeObject[]): string => {
    const d = join(work, name);
    rmSync(d, { recursive: true, force: true });
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, '00-objects.yaml'), objects.map((o) => stringify(o)).join('---\n'));
    return d;
  };
  after(async () => {
    rmSync(work, { recursive: true, force: true });
    await cleanUp(kube, ['ops-clidry']);
  });

  it('when a dry run meets a namespace the cluster does not have, then it exits 4 saying how many objects were not checked; with --prerequisites every object is checked', async () => {
    const ns = uniqueId('ops-clidry');
    const d = dir('dry', [namespace(ns), configMap(ns, 'settings'), readsSigningKey(ns)]);
    const partial = run('deploy', ['--dir', d, '--name', ns, '--dry-run']);
    expect(partial.status, partial.stdout + partial.stderr).to.equal(4);
    expect(partial.stdout).to.include(`checked     Namespace ${ns}`);
    expect(partial.stdout).to.include(`skipped     Deployment ${ns}/web: namespace ${ns} does not exist yet`);
    expect(partial.stderr).to.include('dry run incomplete: the API server checked 1 of 3 objects');
    expect(partial.stderr).to.include('add --prerequisites');
    expect(await kube.read(namespace(ns))).to.equal(undefined);

    const full = run('deploy', ['--dir', d, '--name', ns, '--dry-run', '--prerequisites']);
    expect(full.status, full.stdout + full.stderr).to.equal(0);
    expect(full.stdout).to.include(`applied     Namespace ${ns} (for real: --prerequisites)`);
    expect(full.stdout).to.include(`checked     Deployment ${ns}/web`);
    expect(full.stdout).to.include('3 checked by the API server (dry run), 0 skipped');
    expect(full.stderr).to.include(
      `warning: Secret ${ns}/signing does not exist; Deployment ${ns}/web reads it, and its pods will not start`,
    );
    expect(await kube.read(namespace(ns))).to.not.equal(undefined);
    expect(await kube.read(configMap(ns, 'settings'))).to.equal(undefined);
    expect([...(await readInventory(kube, ns)).values()].map((r) => `${r.kind} ${r.name}`)).to.deep.equal([
      `Namespace ${ns}`,
    ]);
  });

  it('when the objects hold the example AWS account, then deploy refuses before contacting the cluster and names the value to set', () => {
    const refused = refusedPort();
    try {
      const kubeconfig = join(work, 'refused.kubeconfig');
      writeFileSync(
        kubeconfig,
        `clusters: [{name: c, cluster: {server: "https://127.0.0.1:${refused.port}"}}]\n`,
      );
      const cm = configMap('meshmart', 'aws', { role: 'arn:aws:iam::111122223333:role/meshmart-catalog' });
      const r = run('deploy', ['--dir', dir('example', [cm]), '--name', 'example'], { kubeconfig });
      expect(r.status, r.stdout + r.stderr).to.equal(2);
      expect(r.stderr).to.include('refusing to apply: the objects hold example values');
      expect(r.stderr).to.match(
        /aws\.accountId +MESHMART_AWS_ACCOUNT_ID +\(still the example '111122223333'\)/,
      );
      expect(r.stderr).to.not.include('usage:');
    } finally {
      refused.release();
    }
  });

  it('when the API server refuses connections, then deploy exits 1 and canary exits 3, both saying nothing was changed', () => {
    const refused = refusedPort();
    try {
      const kubeconfig = join(work, 'down.kubeconfig');
      writeFileSync(
        kubeconfig,
        [
          `clusters: [{name: c, cluster: {server: "https://127.0.0.1:${refused.port}"}}]`,
          'users: [{name: u, user: {token: t}}]',
          'contexts: [{name: kind-meshmart, context: {cluster: c, user: u}}]',
          'current-context: kind-meshmart',
        ].join('\n'),
      );
      const d = run('deploy', ['--dir', dir('down', [namespace('never')]), '--name', 'never'], {
        kubeconfig,
      });
      expect(d.status, d.stdout + d.stderr).to.equal(1);
      expect(d.stderr).to.include(
        `cannot use the API server https://127.0.0.1:${refused.port} (context kind-meshmart`,
      );
      expect(d.stderr).to.include('connection refused');
      expect(d.stderr).to.include('deploy: nothing was applied');
      const c = run('canary', ['--service', 'catalog', '--version', 'v2'], { kubeconfig });
      expect(c.status, c.stdout + c.stderr).to.equal(3);
      expect(c.stderr).to.include('connection refused');
      expect(c.stderr).to.include('canary: nothing was changed');
      expect(c.stderr).to.not.include('resume');
    } finally {
      refused.release();
    }
  });

  it('when canary is given a service the catalogue does not have, then it exits 2 listing the services', () => {
    const r = run('canary', ['--service', 'catalogue', '--version', 'v2']);
    expect(r.status, r.stderr).to.equal(2);
    expect(r.stderr).to.include(
      "--service 'catalogue' is not a service of the catalogue (services/catalogue/src/catalogue.ts); choose from gateway, catalog, cart",
    );
  });

  it('when the profile was never synthesized, then deploy says which make synth to run', () => {
    const r = run('deploy', ['--profile', 'kind'], { cwd: work });
    expect(r.status, r.stderr).to.equal(2);
    expect(r.stderr).to.include(
      `${join(work, 'dist', 'kind')} does not exist: synthesize it first with make synth PROFILE=kind`,
    );
  });
});
