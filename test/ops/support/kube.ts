import { randomBytes } from 'node:crypto';
import { Kube, type KubeObject } from '@meshmart/ops/lib/kube.ts';
import { deleteNamespace } from '../../support/kube.ts';
import { testenv } from '../../support/testenv.ts';
import { inventoryName } from '@meshmart/ops/lib/deploy.ts';

/** A client for the test environment's kube-apiserver. */
export function testKube(): Kube {
  return new Kube({ kubeconfig: testenv('KUBECONFIG') });
}

const made = new Set<string>();

/** A fresh name for a namespace and the deploy that owns it; cleanUp() removes both. */
export function uniqueId(prefix: string): string {
  const id = `${prefix}-${randomBytes(4).toString('hex')}`;
  made.add(id);
  return id;
}

/**
 * Deletes (and finalizes: no namespace controller runs here) every namespace and inventory uniqueId() named with one
 * of the prefixes. Per prefix, because mocha names ids of later suites before earlier suites' after hooks run.
 */
export async function cleanUp(kube: Kube, prefixes: readonly string[]): Promise<void> {
  for (const id of [...made].filter((i) => prefixes.some((p) => i.startsWith(`${p}-`)))) {
    await deleteNamespace(id);
    await kube.delete(configMap('default', inventoryName(id)));
    made.delete(id);
  }
}

/** Restricted-compliant Deployment with one replica. */
export function deployment(
  namespace: string,
  name: string,
  labels: Record<string, string> = { app: name },
): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels },
        spec: {
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 10001,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'app',
              image: 'registry.invalid/meshmart/services:0.1.0',
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
            },
          ],
        },
      },
    },
  };
}

export function configMap(
  namespace: string,
  name: string,
  data: Record<string, string> = { key: name },
): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
}

export function namespace(name: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
  };
}
