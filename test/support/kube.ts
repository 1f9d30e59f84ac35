/**
 * The test environment's real kube-apiserver (scripts/testenv.d/kube-apiserver.sh), for tests:
 *
 *   const ns = await testNamespace('deploy');           // a fresh namespace, Pod Security "restricted"
 *   const r = await kubectl(['get', 'cm', '-n', ns]);   // kubectl against the test server; never throws
 *   await applyCrds();                                  // ../shared/crds, server-side, established (once per run)
 *   const kc = await kubeConfig();                      // for @kubernetes/client-node
 *   after(() => deleteTestNamespaces());
 *
 * The server has no controller-manager, scheduler or kubelet: objects are validated, defaulted, admitted (Pod
 * Security included) and stored, but nothing runs them, no default ServiceAccount appears in a new namespace, and
 * a deleted namespace would stay Terminating; deleteNamespace() therefore finalizes it itself.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { KubeConfig } from '@kubernetes/client-node';
import { testenv } from './testenv.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The upstream CRDs every profile's custom resources need (the repo vendors the same bytes in cdk8s/crds). */
export const SHARED_CRDS = fileURLToPath(new URL('../../../shared/crds', import.meta.url));
/** Field manager of the objects the tests apply, so that they never fight the deploy tool's own manager. */
export const TEST_FIELD_MANAGER = 'meshmart-tests';

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

let kubectlBin: Promise<string> | undefined;

/** kubectl as the repo ships it (scripts/k8s-tools.sh extracts it once into ~/.cache/meshmart/bin). */
export function kubectlPath(): Promise<string> {
  kubectlBin ??= new Promise((resolve, reject) => {
    execFile(`${ROOT}scripts/k8s-tools.sh`, ['kubectl'], { cwd: ROOT }, (error, stdout, stderr) => {
      if (error) reject(new Error(`scripts/k8s-tools.sh kubectl failed: ${stderr || error.message}`));
      else resolve(stdout.trim());
    });
  });
  return kubectlBin;
}

/** Runs kubectl against the test API server (KUBECONFIG from .testenv/env). Resolves with the exit code. */
export async function kubectl(
  args: readonly string[],
  options: { input?: string; timeoutMs?: number } = {},
): Promise<KubectlResult> {
  const bin = await kubectlPath();
  return new Promise((resolve) => {
    const child = execFile(
      bin,
      [...args],
      {
        env: { ...process.env, KUBECONFIG: testenv('KUBECONFIG') },
        maxBuffer: 64 * 1024 * 1024,
        timeout: options.timeoutMs ?? 60_000,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr: stderr || (error && code !== 0 && !stderr ? error.message : '') });
      },
    );
    child.stdin?.end(options.input ?? '');
  });
}

/** Like kubectl(), but throws with kubectl's stderr unless it exits 0. */
export async function kubectlOk(
  args: readonly string[],
  options: { input?: string; timeoutMs?: number } = {},
): Promise<string> {
  const r = await kubectl(args, options);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/**
 * A KubeConfig for @kubernetes/client-node, pointing at the test API server as an admin (the client is imported
 * lazily: the kubectl helpers here do not need it).
 */
export async function kubeConfig(): Promise<KubeConfig> {
  const { KubeConfig: Config } = await import('@kubernetes/client-node');
  const kc = new Config();
  kc.loadFromFile(testenv('KUBECONFIG'));
  return kc;
}

let crdsApplied: Promise<string[]> | undefined;

/**
 * Applies ../shared/crds (server-side) and waits until every CRD is Established. Once per test run; resolves with
 * the CRD names.
 */
export function applyCrds(): Promise<string[]> {
  crdsApplied ??= (async () => {
    if (!existsSync(SHARED_CRDS))
      throw new Error(`${SHARED_CRDS} is missing: the shared CRDs sit beside the repo`);
    const out = await kubectlOk(
      [
        'apply',
        '--server-side',
        '--force-conflicts',
        `--field-manager=${TEST_FIELD_MANAGER}`,
        '--recursive',
        '-f',
        SHARED_CRDS,
        '-o',
        'name',
      ],
      { timeoutMs: 120_000 },
    );
    const names = out.split('\n').filter((l) => l.startsWith('customresourcedefinition'));
    await kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', ...names], {
      timeoutMs: 90_000,
    });
    return names.map((n) => n.replace(/^customresourcedefinition[^/]*\//, ''));
  })();
  crdsApplied.catch(() => (crdsApplied = undefined));
  return crdsApplied;
}

/** A DNS-1123 name `<prefix>-<base36 time>-<hex>`, unique per call, at most 63 characters. */
export function uniqueKubeName(prefix: string): string {
  const suffix = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  return `${prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 62 - suffix.length)}-${suffix}`;
}

export type PodSecurityLevel = 'privileged' | 'baseline' | 'restricted';

const created = new Set<string>();

/**
 * Creates a fresh namespace enforcing (and warning on) the given Pod Security level, with extra labels, plus the
 * named ServiceAccounts in it (pods need theirs to exist: there is no controller to make them). Removed by
 * deleteTestNamespaces().
 */
export async function testNamespace(
  prefix: string,
  options: {
    podSecurity?: PodSecurityLevel;
    labels?: Readonly<Record<string, string>>;
    serviceAccounts?: readonly string[];
  } = {},
): Promise<string> {
  const name = uniqueKubeName(prefix);
  const level = options.podSecurity ?? 'restricted';
  const objects: unknown[] = [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name,
        labels: {
          'app.kubernetes.io/part-of': 'meshmart-tests',
          'pod-security.kubernetes.io/enforce': level,
          'pod-security.kubernetes.io/enforce-version': 'latest',
          'pod-security.kubernetes.io/warn': level,
          'pod-security.kubernetes.io/warn-version': 'latest',
          ...options.labels,
        },
      },
    },
    ...(options.serviceAccounts ?? []).map((sa) => ({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: sa, namespace: name },
    })),
  ];
  created.add(name);
  await applyObjects(objects);
  return name;
}

/** Server-side applies objects for real (with the tests' field manager); throws with the server's message. */
export async function applyObjects(objects: readonly unknown[]): Promise<string> {
  return kubectlOk(
    ['apply', '--server-side', '--force-conflicts', `--field-manager=${TEST_FIELD_MANAGER}`, '-f', '-'],
    { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }) },
  );
}

/**
 * Deletes a namespace and finalizes it at once (no namespace controller runs here to empty it; what was inside
 * stays orphaned in the test server's etcd, which `make testenv-down` wipes).
 */
export async function deleteNamespace(name: string): Promise<void> {
  await kubectl(['delete', 'namespace', name, '--wait=false', '--ignore-not-found']);
  await kubectl(['replace', '--raw', `/api/v1/namespaces/${name}/finalize`, '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name },
      spec: { finalizers: [] },
    }),
  });
  created.delete(name);
}

/** Registers a namespace made some other way for deleteTestNamespaces(). */
export function trackNamespace(name: string): void {
  created.add(name);
}

/** Deletes every namespace this process made with testNamespace() (or registered with trackNamespace()). */
export async function deleteTestNamespaces(): Promise<void> {
  for (const name of [...created]) await deleteNamespace(name);
}
