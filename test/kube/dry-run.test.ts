import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import { defaultConfig, type MeshmartConfig } from '@meshmart/cdk8s/config.ts';
import {
  POD_SECURITY_EXCEPTION_ANNOTATION,
  POD_SECURITY_EXCEPTIONS,
  podSecurityProblems,
  type PodSecurityException,
} from '@meshmart/cdk8s/constructs/namespace.ts';
import { PROFILE_NAMES } from '@meshmart/cdk8s/profiles/index.ts';
import { synthProfiles, type KubeObject } from '@meshmart/cdk8s/synth.ts';
import {
  applyCrds,
  applyObjects,
  deleteTestNamespaces,
  kubectl,
  kubectlOk,
  testNamespace,
  trackNamespace,
  uniqueKubeName,
  type KubectlResult,
} from '../support/kube.ts';

const DRY_RUN_MANAGER = 'meshmart-dry-run';

/** `kubectl apply --server-side --dry-run=server` of files or of objects on stdin. */
function dryRunApply(source: { dir: string } | { objects: readonly unknown[] }): Promise<KubectlResult> {
  // --force-conflicts: a dry run changes nothing, and fixed-name namespaces (logging) may hold the deploy tool's objects.
  const args = [
    'apply',
    '--server-side',
    '--dry-run=server',
    '--force-conflicts',
    `--field-manager=${DRY_RUN_MANAGER}`,
  ];
  if ('dir' in source) return kubectl([...args, '-f', source.dir], { timeoutMs: 120_000 });
  return kubectl([...args, '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: source.objects }),
  });
}

/** kubectl's stderr lines that are warnings (the server's Warning headers), e.g. "would violate PodSecurity". */
function warnings(r: KubectlResult): string[] {
  return r.stderr.split('\n').filter((l) => l.startsWith('Warning:'));
}

function readObjects(dir: string): KubeObject[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS() as KubeObject))
    .filter((o) => o !== null);
}

interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    serviceAccountName?: string;
    volumes?: unknown[];
    initContainers?: unknown[];
    containers: unknown[];
    [key: string]: unknown;
  };
}

/** The Pods a workload's controller would create, one per workload, as Pod Security admission sees them. */
function podsOf(
  objects: readonly KubeObject[],
  namespace: string,
): { pod: Record<string, unknown>; sa?: string }[] {
  const pods: { pod: Record<string, unknown>; sa?: string }[] = [];
  for (const o of objects) {
    const spec = o.spec as
      | {
          template?: PodTemplate;
          jobTemplate?: { spec: { template: PodTemplate } };
          volumeClaimTemplates?: { metadata: { name: string } }[];
        }
      | undefined;
    const template =
      o.kind === 'CronJob'
        ? spec?.jobTemplate?.spec.template
        : ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'].includes(o.kind)
          ? spec?.template
          : undefined;
    if (!template) continue;
    const podSpec = structuredClone(template.spec);
    // As the StatefulSet controller does: each claim template becomes a persistentVolumeClaim volume.
    for (const claim of spec?.volumeClaimTemplates ?? [])
      (podSpec.volumes ??= []).push({
        name: claim.metadata.name,
        persistentVolumeClaim: { claimName: `${claim.metadata.name}-${o.metadata.name}-0` },
      });
    pods.push({
      pod: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: `${o.kind.toLowerCase()}-${o.metadata.name}`.slice(0, 63),
          namespace,
          labels: template.metadata?.labels ?? {},
          annotations: template.metadata?.annotations ?? {},
        },
        spec: podSpec,
      },
      sa: podSpec.serviceAccountName,
    });
  }
  return pods;
}

/**
 * The exception that lets a workload break "restricted": its namespace names one whose own pod templates do not pass
 * (App Mesh's exception is for what the injector adds, so our templates there must still pass).
 */
function exceptionFor(objects: readonly KubeObject[]): (o: KubeObject) => PodSecurityException | undefined {
  const exceptions = new Map<string, PodSecurityException>();
  for (const n of objects.filter((o) => o.kind === 'Namespace')) {
    const named = n.metadata.annotations?.[POD_SECURITY_EXCEPTION_ANNOTATION];
    if (named)
      exceptions.set(
        n.metadata.name ?? '',
        POD_SECURITY_EXCEPTIONS[named as keyof typeof POD_SECURITY_EXCEPTIONS],
      );
  }
  return (o) => {
    const e = exceptions.get(o.metadata.namespace ?? '');
    return e && !e.podTemplatesRestricted ? e : undefined;
  };
}

/** The workloads whose pods only their namespace's exception admits. */
function exceptedWorkloads(objects: readonly KubeObject[]): KubeObject[] {
  const excepted = exceptionFor(objects);
  return objects.filter((o) => excepted(o) && podsOf([o], 'x').length > 0);
}

interface SynthesizedProfile {
  readonly dir: string;
  readonly objects: KubeObject[];
  /** The namespaces renamed for this run (the config's); others (e.g. logging) keep their fixed names. */
  readonly unique: ReadonlySet<string>;
}

/** Every profile synthesized as `make synth` writes it, with the config's namespaces made unique to this run. */
function synthForTest(work: string): Map<string, SynthesizedProfile> {
  const out = new Map<string, SynthesizedProfile>();
  for (const profile of PROFILE_NAMES) {
    const base = defaultConfig();
    const config: MeshmartConfig = {
      ...base,
      namespace: uniqueKubeName(`dry-${profile}`),
      dataNamespace: uniqueKubeName(`dry-${profile}-data`),
      observability: {
        ...base.observability,
        metricsNamespace: uniqueKubeName(`dry-${profile}-metrics`),
        otelNamespace: uniqueKubeName(`dry-${profile}-otel`),
      },
    };
    const [result] = synthProfiles([profile], work, config);
    const o = config.observability;
    const unique = new Set([config.namespace, config.dataNamespace, o.metricsNamespace, o.otelNamespace]);
    out.set(profile, { dir: result.dir, objects: readObjects(result.dir), unique });
  }
  return out;
}

describe('kube: server-side dry run of every profile against the real kube-apiserver', function () {
  this.timeout(240_000);
  const work = mkdtempSync(join(tmpdir(), 'meshmart-dry-run-'));
  let profiles: Map<string, SynthesizedProfile>;
  let crds: string[];

  before(async function () {
    crds = await applyCrds();
    profiles = synthForTest(work);
    // Namespaced dry runs need their namespace to exist: create each profile's namespaces for real, exactly as
    // synthesized (labels included), and any namespace its objects use without declaring (installed by others).
    // Fixed-name namespaces (logging) are shared with other tests: created when missing, never changed or deleted.
    for (const { objects, unique } of profiles.values()) {
      const declared = new Map(
        objects.filter((o) => o.kind === 'Namespace').map((n) => [n.metadata.name ?? '', n]),
      );
      const used = new Set([...declared.keys(), ...objects.flatMap((o) => o.metadata.namespace ?? [])]);
      for (const name of used) {
        const ns = declared.get(name) ?? { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
        if (unique.has(name)) {
          trackNamespace(name);
          await applyObjects([ns]);
        } else if ((await kubectl(['get', 'namespace', name, '-o', 'name'])).code !== 0) {
          const r = await kubectl(['create', '-f', '-'], { input: JSON.stringify(ns) });
          if (r.code !== 0 && !r.stderr.includes('AlreadyExists')) throw new Error(r.stderr);
        }
      }
    }
  });

  after(async function () {
    await deleteTestNamespaces();
    rmSync(work, { recursive: true, force: true });
  });

  it('when ../shared/crds are applied server-side, then every custom kind the profiles use is served', async function () {
    const custom = new Set<string>();
    for (const { objects } of profiles.values())
      for (const o of objects)
        if (o.apiVersion.includes('.k8s.aws/') || o.apiVersion.includes('.io/')) custom.add(o.apiVersion);
    expect(crds.length).to.be.greaterThan(10);
    const served = await kubectlOk(['api-versions']);
    for (const apiVersion of custom) expect(served.split('\n'), apiVersion).to.include(apiVersion);
  });

  for (const profile of PROFILE_NAMES) {
    describe(`profile ${profile}`, function () {
      it('when every object is applied with --dry-run=server, then the server accepts each one, warning only about excepted workloads', async function () {
        const { dir, objects } = profiles.get(profile)!;
        const r = await dryRunApply({ dir });
        const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
        // The one warning allowed: Pod Security's, once per workload that its namespace's exception is for (the pod
        // test below proves those are the ones "restricted" rejects, and that every other template passes).
        const allowed = lines.filter((l) =>
          l.startsWith('Warning: would violate PodSecurity "restricted:latest"'),
        );
        expect(
          lines.filter((l) => !allowed.includes(l)),
          'kubectl stderr',
        ).to.deep.equal([]);
        expect(allowed).to.have.length(exceptedWorkloads(objects).length);
        expect(r.code).to.equal(0);
        const applied = r.stdout.split('\n').filter((l) => l.endsWith('serverside-applied (server dry run)'));
        expect(applied).to.have.length(objects.length);
      });

      it('when its namespaces are read back from the server, then each enforces "restricted" or names a listed exception', async function () {
        const { objects } = profiles.get(profile)!;
        const names = objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name ?? '');
        expect(names).to.not.be.empty;
        const live = JSON.parse(await kubectlOk(['get', 'namespaces', ...names, '-o', 'json'])) as {
          items: {
            metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
          }[];
        };
        expect(live.items.map((n) => n.metadata.name).sort()).to.deep.equal([...names].sort());
        expect(podSecurityProblems(live.items)).to.deep.equal([]);
        // App Mesh's exception goes exactly with sidecar injection (the pod test proves the other exceptions' need).
        for (const n of live.items) {
          const injected = n.metadata.labels?.['appmesh.k8s.aws/sidecarInjectorWebhook'] === 'enabled';
          const named = n.metadata.annotations?.[POD_SECURITY_EXCEPTION_ANNOTATION];
          expect(named === 'app-mesh-proxyinit', n.metadata.name).to.equal(injected);
        }
        if (profile === 'eks-appmesh' || profile === 'migration')
          expect(
            live.items.some((n) => n.metadata.labels?.['appmesh.k8s.aws/sidecarInjectorWebhook']),
          ).to.equal(true);
      });

      it('when every workload\'s pod template is created as a Pod, then "restricted" admits it, or only its namespace\'s exception level does', async function () {
        const { objects } = profiles.get(profile)!;
        const excepted = exceptionFor(objects);
        const restricted = objects.filter((o) => !excepted(o));
        const others = objects.filter((o) => excepted(o));
        const serviceAccounts = [
          ...new Set(['default', ...podsOf(objects, 'x').flatMap((p) => (p.sa ? [p.sa] : []))]),
        ];
        const ns = await testNamespace(`psa-${profile}`, { podSecurity: 'restricted', serviceAccounts });
        const pods = podsOf(restricted, ns).map((p) => p.pod);
        expect(pods.length).to.be.greaterThan(0);
        const r = await dryRunApply({ objects: pods });
        expect(r.stderr.trim(), 'kubectl stderr').to.equal('');
        expect(r.code).to.equal(0);
        expect(r.stdout.split('\n').filter((l) => l.endsWith('(server dry run)'))).to.have.length(
          pods.length,
        );
        // Each excepted workload needs its exception: "restricted" rejects it and the exception's level admits it.
        for (const level of new Set(others.map((o) => excepted(o)!.level))) {
          const workloads = others.filter((o) => excepted(o)!.level === level);
          const strict = await dryRunApply({ objects: podsOf(workloads, ns).map((p) => p.pod) });
          const rejected = strict.stderr
            .split('\n')
            .filter((l) => /is forbidden: violates PodSecurity "restricted:latest"/.test(l));
          expect(rejected).to.have.length(podsOf(workloads, ns).length);
          const lax = await testNamespace(`psa-${profile}-${level}`, { podSecurity: level, serviceAccounts });
          const ok = await dryRunApply({ objects: podsOf(workloads, lax).map((p) => p.pod) });
          expect(ok.stderr.trim(), 'kubectl stderr').to.equal('');
          expect(ok.code).to.equal(0);
        }
      });
    });
  }

  describe('Pod Security exceptions and rejections', function () {
    /** A real eks-appmesh pod as App Mesh's injector leaves it (its proxyinit and envoy container templates). */
    function injectedAppMeshPod(ns: string, withProxyInit: boolean): Record<string, unknown> {
      const { objects } = profiles.get('eks-appmesh')!;
      const [{ pod }] = podsOf(
        objects.filter((o) => o.kind === 'Deployment'),
        ns,
      );
      const spec = pod.spec as PodTemplate['spec'];
      spec.serviceAccountName = 'app';
      spec.containers.push({
        name: 'envoy',
        image: 'public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29.12.1-prod',
        securityContext: { runAsUser: 1337 },
      });
      if (withProxyInit)
        (spec.initContainers ??= []).push({
          name: 'proxyinit',
          image: 'public.ecr.aws/appmesh/aws-appmesh-proxy-route-manager:v7-prod',
          securityContext: { capabilities: { add: ['NET_ADMIN'] } },
        });
      return pod;
    }

    it('when App Mesh has injected proxyinit, then "restricted" and "baseline" reject the pod and "privileged" (the exception\'s level) admits it', async function () {
      const level = POD_SECURITY_EXCEPTIONS['app-mesh-proxyinit'].level;
      expect(level).to.equal('privileged');
      const results: Record<string, KubectlResult> = {};
      for (const podSecurity of ['restricted', 'baseline', level] as const) {
        const ns = await testNamespace(`mesh-${podSecurity}`, { podSecurity, serviceAccounts: ['app'] });
        results[podSecurity] = await dryRunApply({ objects: [injectedAppMeshPod(ns, true)] });
      }
      expect(results.restricted.code).to.not.equal(0);
      expect(results.restricted.stderr).to.match(/violates PodSecurity "restricted:latest"/);
      expect(results.restricted.stderr).to.match(/container "proxyinit" must not include "NET_ADMIN"/);
      expect(results.baseline.code).to.not.equal(0);
      expect(results.baseline.stderr).to.match(
        /violates PodSecurity "baseline:latest": non-default capabilities/,
      );
      expect(results.privileged.stderr).to.not.match(/violates/);
      expect(results.privileged.code, results.privileged.stderr).to.equal(0);
    });

    it('when App Mesh runs in CNI mode (no proxyinit), then its envoy container still fails "restricted"', async function () {
      const ns = await testNamespace('mesh-cni', { podSecurity: 'restricted', serviceAccounts: ['app'] });
      const r = await dryRunApply({ objects: [injectedAppMeshPod(ns, false)] });
      expect(r.code).to.not.equal(0);
      expect(r.stderr).to.match(
        /violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false \(container "envoy"/,
      );
      expect(r.stderr).to.not.match(/proxyinit/);
    });

    it('when a privileged pod is created in a "restricted" namespace, then the server rejects it with PodSecurity\'s message and stores nothing', async function () {
      const ns = await testNamespace('negative', { podSecurity: 'restricted', serviceAccounts: ['app'] });
      const pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'privileged', namespace: ns },
        spec: {
          serviceAccountName: 'app',
          securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'app',
              image: 'busybox:1.36',
              securityContext: {
                privileged: true,
                allowPrivilegeEscalation: true,
                capabilities: { drop: ['ALL'] },
              },
            },
          ],
        },
      };
      const r = await kubectl(['create', '-f', '-'], { input: JSON.stringify(pod) });
      expect(r.code).to.not.equal(0);
      expect(r.stderr).to.match(/pods "privileged" is forbidden: violates PodSecurity "restricted:latest"/);
      expect(r.stderr).to.match(
        /privileged \(container "app" must not set securityContext\.privileged=true\)/,
      );
      const get = await kubectl(['get', 'pod', 'privileged', '-n', ns]);
      expect(get.code).to.not.equal(0);
      expect(get.stderr).to.match(/NotFound/);
    });

    it('when a Deployment\'s pod template breaks "restricted", then the dry run warns "would violate PodSecurity" (what the zero-warning checks catch)', async function () {
      const ns = await testNamespace('warn', { podSecurity: 'restricted' });
      const deployment = {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'root', namespace: ns },
        spec: {
          selector: { matchLabels: { app: 'root' } },
          template: {
            metadata: { labels: { app: 'root' } },
            spec: { containers: [{ name: 'app', image: 'busybox:1.36' }] },
          },
        },
      };
      const r = await dryRunApply({ objects: [deployment] });
      expect(r.code).to.equal(0);
      expect(warnings(r).join('\n')).to.match(/would violate PodSecurity "restricted:latest"/);
    });

    it('when a namespace enforces less than "restricted" without naming an exception, then the check reports it', function () {
      const problems = podSecurityProblems([
        {
          metadata: {
            name: 'logs',
            labels: {
              'pod-security.kubernetes.io/enforce': 'privileged',
              'pod-security.kubernetes.io/enforce-version': 'latest',
              'pod-security.kubernetes.io/audit': 'restricted',
              'pod-security.kubernetes.io/audit-version': 'latest',
              'pod-security.kubernetes.io/warn': 'restricted',
              'pod-security.kubernetes.io/warn-version': 'latest',
            },
          },
        },
        { metadata: { name: 'bare' } },
        { metadata: { name: 'odd', annotations: { [POD_SECURITY_EXCEPTION_ANNOTATION]: 'no-such-entry' } } },
      ]);
      expect(problems).to.include(
        'logs: enforces privileged, want restricted (or name a POD_SECURITY_EXCEPTIONS entry)',
      );
      expect(problems).to.include(
        'bare: enforces nothing, want restricted (or name a POD_SECURITY_EXCEPTIONS entry)',
      );
      expect(problems).to.include("odd: names unknown Pod Security exception 'no-such-entry'");
    });
  });
});
