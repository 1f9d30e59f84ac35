import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import { catalogue } from '@meshmart/catalogue';
import { chartDiff, generateChart, PROFILE_ORDER, writeChart } from '../../scripts/build-chart.ts';
import { imageTag } from '../../scripts/build-images.ts';
import { readManifests, referencedSecrets, workloads } from '../../scripts/kind-manifests.ts';

// The deploy pieces against the real output of `make synth` (synthesized here into a temporary directory): the chart
// renders every profile back exactly, the committed chart is up to date, and the manifests agree with the image
// (command, user, tag) and with what kind-up waits for.

const execFileAsync = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

type Obj = { kind: string; metadata: { name: string; namespace?: string }; [k: string]: unknown };
const key = (o: Obj): string => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const sorted = (objects: Obj[]): Obj[] =>
  objects.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
const parse = (text: string): Obj[] =>
  sorted(
    parseAllDocuments(text)
      .map((d) => d.toJS() as Obj | null)
      .filter((o): o is Obj => o !== null),
  );

interface Container {
  image: string;
  command?: string[];
  securityContext?: { runAsUser?: number };
}
interface PodSpec {
  containers: Container[];
  securityContext?: { runAsUser?: number };
}

describe('deploy: against the synthesized manifests (make synth)', function () {
  this.timeout(180000);
  let work: string;
  let dist: string;
  let chart: string;
  let helm: string;

  before(async function () {
    work = mkdtempSync(join(tmpdir(), 'meshmart-synth-'));
    dist = join(work, 'dist');
    await execFileAsync(
      process.execPath,
      ['--import', 'tsx', 'cdk8s/main.ts', '--out', dist, '--example-values'],
      {
        cwd: root,
      },
    );
    helm = (await execFileAsync(join(root, 'scripts/k8s-tools.sh'), ['helm'])).stdout.trim();
    chart = join(work, 'meshmart');
    mkdirSync(chart);
    writeChart(generateChart(dist), chart);
  });

  after(function () {
    rmSync(work, { recursive: true, force: true });
  });

  it('when every profile is synthesized, then the chart covers each of them', function () {
    expect(generateChart(dist).profiles).to.deep.equal(PROFILE_ORDER);
  });

  for (const profile of PROFILE_ORDER) {
    it(`when the chart is linted and templated with values-${profile}.yaml, then it passes and renders exactly dist/${profile}`, async function () {
      const values = join(chart, `values-${profile}.yaml`);
      const lint = await execFileAsync(helm, ['lint', '--strict', chart, '-f', values]);
      expect(lint.stdout).to.match(/0 chart\(s\) failed/);
      const { stdout } = await execFileAsync(helm, ['template', 'meshmart', chart, '-f', values], {
        maxBuffer: 64 << 20,
      });
      const dir = join(dist, profile);
      const expected = readdirSync(dir)
        .filter((f) => f.endsWith('.yaml'))
        .sort()
        .map((f) => readFileSync(join(dir, f), 'utf8'))
        .join('\n---\n');
      expect(parse(stdout)).to.deep.equal(parse(expected));
    });
  }

  it('when the committed chart charts/meshmart is compared with a fresh generation, then it is up to date', function () {
    const diff = chartDiff(generateChart(dist), join(root, 'charts/meshmart'));
    expect(diff, 'charts/meshmart is stale: run `make chart`').to.deep.equal([]);
  });

  it('when a Deployment runs the services image, then its command is a bundle the image has, as uid 10001', function () {
    const tag = imageTag(root).split(':')[1];
    for (const profile of PROFILE_ORDER) {
      const run = new Set<string>();
      for (const d of readManifests(join(dist, profile)).filter((o) => o.kind === 'Deployment')) {
        const pod = (d.spec as { template: { spec: PodSpec } }).template.spec;
        const app = pod.containers.find((c) => c.image.includes('meshmart/services:'));
        if (!app) continue; // e.g. the App Mesh ingress gateway's Envoy
        const service = /^node dist\/([a-z-]+)\.mjs$/.exec((app.command ?? []).join(' '))?.[1];
        expect(
          catalogue.map((s) => s.name),
          `${profile}/${d.metadata.name}`,
        ).to.include(service);
        run.add(service!);
        expect(app.securityContext?.runAsUser ?? pod.securityContext?.runAsUser).to.equal(10001);
        if (!/-v\d+$/.test(d.metadata.name)) expect(app.image.endsWith(`:${tag}`)).to.equal(true);
      }
      expect([...run].sort(), profile).to.deep.equal(catalogue.map((s) => s.name).sort());
    }
  });

  it('when kind-up reads the kind manifests, then every workload it waits for exists and the Secrets it makes are named', function () {
    const objects = readManifests(join(dist, 'kind'));
    const present = new Set(objects.map((o) => `${o.metadata.namespace}/${o.kind}/${o.metadata.name}`));
    for (const w of workloads(objects))
      expect(present, `${w.kind}/${w.name}`).to.include(`${w.namespace}/${w.kind}/${w.name}`);
    expect(workloads(objects).filter((w) => w.kind === 'StatefulSet').length).to.be.greaterThan(0);
    // The observability stack (Prometheus, Grafana, Jaeger, collector) runs public images the cluster pulls.
    const kindImages = objects
      .filter((o) => o.kind === 'Deployment' && o.metadata.namespace === 'meshmart')
      .map((o) => (o.spec as { template: { spec: PodSpec } }).template.spec.containers[0].image);
    expect(new Set(kindImages)).to.deep.equal(new Set([imageTag(root)])); // what kind-up builds and loads
    for (const ref of referencedSecrets(objects)) expect(ref.keys.length).to.be.greaterThan(0);
  });
});
