import { expect } from 'chai';
import { defaultConfig } from '@meshmart/cdk8s/config.ts';
import { objectsFromSynth } from '@meshmart/ops/lib/synth.ts';
import { describeSecretProblem, secretProblems, secretReferences } from '@meshmart/ops/lib/secrets.ts';
import { cleanUp, deployment, namespace, testKube, uniqueId } from './support/kube.ts';

describe('ops/lib/secrets: Secrets the workloads need but the manifests do not hold', function () {
  this.timeout(60_000);
  const kube = testKube();
  after(() => cleanUp(kube, ['ops-secrets']));

  it('when the kind profile is read, then the gateway signing key is the one Secret listed, with its reader', () => {
    expect(secretReferences(objectsFromSynth('kind', defaultConfig()))).to.deep.equal([
      {
        namespace: 'meshmart',
        name: 'meshmart-gateway',
        keys: ['jwt-signing-key'],
        by: ['Deployment meshmart/gateway'],
      },
    ]);
  });

  it('when a reference is optional or the Secret is among the objects, then it is not listed', () => {
    const pod = deployment('x', 'web');
    const container = (pod.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template
      .spec.containers[0];
    container.env = [
      { name: 'A', valueFrom: { secretKeyRef: { name: 'optional-one', key: 'k', optional: true } } },
      { name: 'B', valueFrom: { secretKeyRef: { name: 'shipped', key: 'k' } } },
    ];
    container.envFrom = [{ secretRef: { name: 'whole' } }];
    const shipped = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'shipped', namespace: 'x' } };
    expect(secretReferences([pod, shipped]).map((r) => `${r.name}:${r.keys.join(',')}`)).to.deep.equal([
      'whole:',
    ]);
  });

  it('when checked against the real API server, then a missing Secret and a missing key are reported with the command that fixes them', async () => {
    const ns = uniqueId('ops-secrets');
    await kube.apply(namespace(ns), { fieldManager: 'test' });
    const web = deployment(ns, 'web');
    const container = (web.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template
      .spec.containers[0];
    container.env = [
      { name: 'KEY', valueFrom: { secretKeyRef: { name: 'signing', key: 'jwt-signing-key' } } },
      { name: 'USER', valueFrom: { secretKeyRef: { name: 'creds', key: 'username' } } },
      { name: 'PASS', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
    ];
    await kube.apply(
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'creds', namespace: ns },
        stringData: { username: 'u' },
      },
      { fieldManager: 'test' },
    );
    const lines = (await secretProblems(kube, [web])).map(describeSecretProblem);
    expect(lines).to.deep.equal([
      `Secret ${ns}/creds has no key password; Deployment ${ns}/web reads it, and its pods will not start until it has (add it: kubectl -n ${ns} edit secret creds)`,
      `Secret ${ns}/signing does not exist; Deployment ${ns}/web reads it, and its pods will not start (CreateContainerConfigError) until it does: kubectl -n ${ns} create secret generic signing --from-literal=jwt-signing-key=<value> (docs/deploy.md: the Secrets each profile needs)`,
    ]);
  });
});
