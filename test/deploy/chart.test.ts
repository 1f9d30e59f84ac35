import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { parse, parseAllDocuments } from 'yaml';
import { defaultConfig } from '@meshmart/cdk8s/config.ts';
import { chartDiff, generateChart, writeChart } from '../../scripts/build-chart.ts';

// The Helm chart is generated from the synthesized manifests; `helm template` with a profile's values file must give
// back exactly that profile's objects, and the values must move what they claim to move. Checked with the helm
// binary of scripts/k8s-tools.sh (shipped in node_modules).

const execFileAsync = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const fixtures = join(root, 'test/deploy/fixtures/dist');

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [k: string]: unknown;
};

const key = (o: Obj): string => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const byKey = (a: Obj, b: Obj): number => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

function objectsOf(text: string): Obj[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null)
    .sort(byKey);
}

function profileObjects(dir: string): Obj[] {
  return objectsOf(
    readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .sort()
      .map((f) => readFileSync(join(dir, f), 'utf8'))
      .join('\n---\n'),
  );
}

let helm: string;

async function template(chart: string, args: string[]): Promise<Obj[]> {
  const { stdout } = await execFileAsync(helm, ['template', 'meshmart', chart, ...args], {
    maxBuffer: 64 << 20,
  });
  return objectsOf(stdout);
}

describe('deploy: Helm chart generated from the manifests (scripts/build-chart.ts)', function () {
  this.timeout(120000);
  let work: string;
  let chart: string;

  before(async function () {
    helm = (await execFileAsync(join(root, 'scripts/k8s-tools.sh'), ['helm'])).stdout.trim();
    work = mkdtempSync(join(tmpdir(), 'meshmart-chart-'));
    chart = join(work, 'meshmart');
    mkdirSync(chart);
    writeChart(generateChart(fixtures), chart);
  });

  after(function () {
    rmSync(work, { recursive: true, force: true });
  });

  for (const profile of ['kind', 'eks-lattice']) {
    it(`when linted with values-${profile}.yaml, then helm lint passes in strict mode`, async function () {
      const { stdout } = await execFileAsync(helm, [
        'lint',
        '--strict',
        chart,
        '-f',
        join(chart, `values-${profile}.yaml`),
      ]);
      expect(stdout).to.match(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    });

    it(`when templated with values-${profile}.yaml, then the output is exactly the ${profile} manifests`, async function () {
      const rendered = await template(chart, ['-f', join(chart, `values-${profile}.yaml`)]);
      expect(rendered).to.deep.equal(profileObjects(join(fixtures, profile)));
    });
  }

  it('when templated with the default values, then the output is the first profile (kind)', async function () {
    expect(await template(chart, [])).to.deep.equal(profileObjects(join(fixtures, 'kind')));
  });

  it('when an object is the same in two profiles, then the chart holds it once, unconditioned', function () {
    const services = readFileSync(join(chart, 'templates/services.yaml'), 'utf8');
    const docs = services.split('\n---\n');
    expect(docs.filter((d) => /kind: Service\n/.test(d) && /name: gateway\n/.test(d))).to.have.length(1);
    expect(services).to.match(/\{\{- end \}\}\n---\napiVersion: v1\nkind: Service\n/);
  });

  it('when namespace, image and replicas are overridden, then every object follows and nothing is left behind', async function () {
    const rendered = await template(chart, [
      '-f',
      join(chart, 'values-kind.yaml'),
      '--set',
      'namespace=shop,dataNamespace=shop-data,image.registry=registry.example:5000,image.tag=9.9.9,replicas=3',
    ]);
    const text = JSON.stringify(rendered);
    expect(text).not.to.match(/"(namespace|kubernetes\.io\/metadata\.name)":"meshmart(-data)?"/);
    expect(text).not.to.match(/\.meshmart(-data)?\.svc/);
    expect(text).to.include('"app.kubernetes.io/part-of":"meshmart"'); // labels are not namespaces
    const namespaces = rendered.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name);
    expect(namespaces).to.deep.equal(['shop', 'shop-data']);
    const config = rendered.find((o) => o.kind === 'ConfigMap')!;
    expect((config.data as Record<string, string>).CATALOG_URL).to.equal(
      'http://catalog.shop.svc.cluster.local:8081',
    );
    for (const d of rendered.filter((o) => o.kind === 'Deployment')) {
      const spec = d.spec as { replicas: number; template: { spec: { containers: { image: string }[] } } };
      expect(spec.replicas).to.equal(3);
      expect(spec.template.spec.containers[0].image).to.equal(
        'registry.example:5000/meshmart/services:9.9.9',
      );
    }
    const mongo = rendered.find((o) => o.kind === 'StatefulSet')!;
    expect(JSON.stringify(mongo)).to.include('"image":"mongo:7.0.14"'); // other images are left alone
    const hpa = rendered.find((o) => o.kind === 'HorizontalPodAutoscaler')!;
    expect((hpa.spec as { minReplicas: number }).minReplicas).to.equal(3);
  });

  it('when a canary runs its own tag, then the registry follows the values and the canary keeps its tag', async function () {
    const rendered = await template(chart, [
      '-f',
      join(chart, 'values-eks-lattice.yaml'),
      '--set',
      'image.registry=r.example',
    ]);
    const canary = rendered.find((o) => o.metadata.name === 'catalog-v2')!;
    expect(JSON.stringify(canary)).to.include('"image":"r.example/meshmart/services:0.2.0"');
    const stable = rendered.find((o) => o.metadata.name === 'gateway' && o.kind === 'Deployment')!;
    expect(JSON.stringify(stable)).to.include('"image":"r.example/meshmart/services:0.1.0"');
  });

  it('when the manifests contain {{ }} (alert templates), then they come out unchanged', async function () {
    const rule = (await template(chart, [])).find((o) => o.kind === 'PrometheusRule')!;
    expect(JSON.stringify(rule)).to.include('"summary":"{{ $labels.pod }} is down: {{`x`}}"');
  });

  it('when createNamespaces is false, then no Namespace is rendered and everything else is', async function () {
    const all = await template(chart, []);
    const without = await template(chart, ['--set', 'createNamespaces=false']);
    expect(without.filter((o) => o.kind === 'Namespace')).to.deep.equal([]);
    expect(without).to.deep.equal(all.filter((o) => o.kind !== 'Namespace'));
  });

  it('when the profile is unknown, then helm template fails naming the profiles', async function () {
    let message = '';
    try {
      await template(chart, ['--set', 'profile=eks-nope']);
    } catch (err) {
      message = String((err as { stderr?: string }).stderr ?? err);
    }
    expect(message).to.match(/profile must be one of kind, eks-lattice; got "eks-nope"/);
  });

  it('when the chart is regenerated from the same manifests, then nothing differs, and an edit is detected', function () {
    const again = generateChart(fixtures);
    expect(chartDiff(again, chart)).to.deep.equal([]);
    writeFileSync(join(chart, 'templates/extra.yaml'), '# stale\n');
    expect(chartDiff(again, chart)).to.deep.equal(['templates/extra.yaml']);
    rmSync(join(chart, 'templates/extra.yaml'));
  });

  it('when the values files are read, then each names its profile and the image repository', function () {
    for (const profile of ['kind', 'eks-lattice']) {
      const values = parse(readFileSync(join(chart, `values-${profile}.yaml`), 'utf8')) as Record<
        string,
        unknown
      >;
      expect(values.profile).to.equal(profile);
      expect(values.image).to.deep.include({ repository: 'meshmart/services', tag: '0.1.0' });
    }
    const lattice = parse(readFileSync(join(chart, 'values-eks-lattice.yaml'), 'utf8')) as {
      image: { registry: string };
      replicas: number;
    };
    expect(lattice.image.registry).to.equal('123456789012.dkr.ecr.eu-west-1.amazonaws.com');
    expect(lattice.replicas).to.equal(2);
  });
});

describe('deploy: platform add-on values (charts/addons)', function () {
  const addons = [
    'appmesh-controller',
    'aws-gateway-api-controller',
    'external-dns',
    'external-secrets',
    'kube-prometheus-stack',
    'fluentd',
  ];
  const sources = readFileSync(join(root, 'cdk8s/crds/SOURCES.md'), 'utf8');

  it('when the add-ons are listed, then each has a values.yaml that parses and a README naming repo and version', function () {
    expect(readdirSync(join(root, 'charts/addons')).sort()).to.deep.equal([...addons].sort());
    for (const name of addons) {
      const values = parse(readFileSync(join(root, 'charts/addons', name, 'values.yaml'), 'utf8')) as unknown;
      expect(values, name).to.be.an('object');
      const readme = readFileSync(join(root, 'charts/addons', name, 'README.md'), 'utf8');
      expect(readme, name).to.match(/(https:\/\/|oci:\/\/)\S+/);
      expect(readme, name).to.match(/\*\*v?\d+\.\d+\.\d+\*\*/);
      const pinned = /\*\*(v?\d+\.\d+\.\d+)\*\*/.exec(readme)![1];
      expect(readme, name).to.include(`--version ${pinned}`);
      expect(readme, name).to.match(/[Nn]ot pulled/);
    }
  });

  it('when an add-on ships CRDs that are vendored, then its pinned chart is the release of those CRDs', function () {
    const pin = (name: string): string =>
      /\*\*(v?\d+\.\d+\.\d+)\*\*/.exec(
        readFileSync(join(root, 'charts/addons', name, 'README.md'), 'utf8'),
      )![1];
    expect(sources).to.include(`**Tag:** \`v${pin('appmesh-controller')}\``);
    expect(sources).to.include(`**Tag:** \`${pin('aws-gateway-api-controller')}\``);
    expect(sources).to.include('**Tag:** `v0.93.0`'); // prometheus-operator of kube-prometheus-stack 88.x
    expect(pin('kube-prometheus-stack')).to.match(/^88\./);
  });

  it('when the Namespace of the metrics scraper is configured, then the Prometheus add-on installs there', function () {
    const readme = readFileSync(join(root, 'charts/addons/kube-prometheus-stack/README.md'), 'utf8');
    const ns = defaultConfig().observability.metricsNamespace;
    expect(ns).to.be.a('string').and.not.be.empty;
    expect(readme).to.include(`--namespace ${ns} `);
  });
});
