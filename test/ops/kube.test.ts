import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { expect } from 'chai';
import { ConnectionError, Kube, KubeconfigError, loadKubeconfig } from '@meshmart/ops/lib/kube.ts';
import { refusedPort } from '../support/ports.ts';
import { testenv } from '../support/testenv.ts';

function kubeconfig(server: string, token = 'not-a-token', context = 'here'): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    `clusters: [{name: c, cluster: {server: "${server}", insecure-skip-tls-verify: true}}]`,
    `users: [{name: u, user: {token: ${token}}}]`,
    `contexts: [{name: ${context}, context: {cluster: c, user: u}}]`,
    `current-context: ${context}`,
    '',
  ].join('\n');
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('ops/lib/kube: finding the cluster', () => {
  const work = mkdtempSync(join(tmpdir(), 'ops-kube-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  it('when no kubeconfig is given, set or in the home directory, then the error says how to point at a cluster instead of falling back to localhost:8080', () => {
    const e = thrown(() => loadKubeconfig({ env: { HOME: work } }));
    expect(e).to.be.instanceOf(KubeconfigError);
    expect(e.message).to.include(`${join(work, '.kube', 'config')} does not exist`);
    expect(e.message).to.include('kind export kubeconfig --name meshmart');
    expect(e.message).to.include('aws eks update-kubeconfig --name <cluster> --region <region>');
  });

  it('when $KUBECONFIG names a file that does not exist, then the error names the stale path', () => {
    const stale = join(work, 'gone', 'kubeconfig');
    const e = thrown(() => loadKubeconfig({ env: { HOME: work, KUBECONFIG: stale } }));
    expect(e).to.be.instanceOf(KubeconfigError);
    expect(e.message).to.include(`$KUBECONFIG names ${stale}, which does not exist`);
  });

  it('when $KUBECONFIG lists a missing file and an existing one, then the existing one is used, as kubectl does', () => {
    const file = join(work, 'one');
    writeFileSync(file, kubeconfig('https://127.0.0.1:1'));
    const { source, config } = loadKubeconfig({
      env: { HOME: work, KUBECONFIG: [join(work, 'missing'), file].join(delimiter) },
    });
    expect(source).to.equal(file);
    expect(config.getCurrentCluster()?.server).to.equal('https://127.0.0.1:1');
  });

  it('when --context names a context the kubeconfig lacks, then the error lists the contexts it has', () => {
    const file = join(work, 'two');
    writeFileSync(file, kubeconfig('https://127.0.0.1:1', 't', 'kind-meshmart'));
    const e = thrown(() => new Kube({ kubeconfig: file, context: 'kind-other' }));
    expect(e).to.be.instanceOf(KubeconfigError);
    expect(e.message).to.include("has no context 'kind-other'; its contexts: kind-meshmart");
  });

  it('when nothing listens at the server address, then check() says the connection was refused and what to look at', async () => {
    const refused = refusedPort();
    try {
      const file = join(work, 'refused');
      writeFileSync(file, kubeconfig(`https://127.0.0.1:${refused.port}`));
      const error = await new Kube({ kubeconfig: file }).check().catch((e: unknown) => e as Error);
      expect(error).to.be.instanceOf(ConnectionError);
      expect((error as Error).message).to.include(`the API server https://127.0.0.1:${refused.port}`);
      expect((error as Error).message).to.include('connection refused');
      expect((error as Error).message).to.include('kind get clusters');
    } finally {
      refused.release();
    }
  });

  it('when the real API server rejects the token, then check() says 401 and how to refresh credentials; with the right one it answers its version', async () => {
    const real = readFileSync(testenv('KUBECONFIG'), 'utf8');
    const server = /server: (\S+)/.exec(real)![1];
    const file = join(work, 'bad-token');
    writeFileSync(file, kubeconfig(server, 'wrong-token'));
    const error = await new Kube({ kubeconfig: file }).check().catch((e: unknown) => e as Error);
    expect(error).to.be.instanceOf(ConnectionError);
    expect((error as Error).message).to.include('401 Unauthorized: the credentials were rejected');
    expect(await new Kube({ kubeconfig: testenv('KUBECONFIG') }).check()).to.match(/^v1\.\d+\.\d+/);
  });
});
