import { expect } from 'chai';
import type { KubeObject } from '@meshmart/ops/lib/kube.ts';
import { formatDuration, workloadStatus } from '@meshmart/ops/lib/rollout.ts';

const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'meshmart', name: 'catalog' };

function live(status: Record<string, unknown> | undefined, replicas = 2, generation = 2): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'catalog', namespace: 'meshmart', generation },
    spec: { replicas },
    ...(status ? { status } : {}),
  };
}

describe('ops/lib/rollout workloadStatus (the rules of kubectl rollout status)', () => {
  it('when no controller ever wrote a status, then it is not ready and the detail asks about kube-controller-manager', () => {
    const s = workloadStatus(ref, live(undefined));
    expect(s.ready).to.equal(false);
    expect(s.detail).to.include('is kube-controller-manager running?');
  });

  it('when the new generation is not observed yet, then it is not ready', () => {
    expect(
      workloadStatus(
        ref,
        live({ observedGeneration: 1, updatedReplicas: 2, replicas: 2, availableReplicas: 2 }),
      ).ready,
    ).to.equal(false);
  });

  it('when pods are updated but not available, then it waits and says so', () => {
    const s = workloadStatus(
      ref,
      live({ observedGeneration: 2, updatedReplicas: 2, replicas: 2, availableReplicas: 1 }),
    );
    expect(s).to.include({ ready: false, detail: '2/2 updated, 1/2 available (pods not available yet)' });
  });

  it('when old replicas remain, then it waits for them to go', () => {
    const s = workloadStatus(
      ref,
      live({ observedGeneration: 2, updatedReplicas: 2, replicas: 3, availableReplicas: 2 }),
    );
    expect(s.ready).to.equal(false);
    expect(s.detail).to.include('1 old replicas pending termination');
  });

  it('when every replica is updated and available, then it is ready', () => {
    expect(
      workloadStatus(
        ref,
        live({ observedGeneration: 2, updatedReplicas: 2, replicas: 2, availableReplicas: 2 }),
      ).ready,
    ).to.equal(true);
  });

  it('when the progress deadline is exceeded, then it has failed', () => {
    const s = workloadStatus(
      ref,
      live({
        observedGeneration: 2,
        updatedReplicas: 1,
        replicas: 2,
        availableReplicas: 1,
        conditions: [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: 'ReplicaSet "catalog-1" has timed out progressing.',
          },
        ],
      }),
    );
    expect(s).to.include({ ready: false, failed: true });
    expect(s.detail).to.include('has timed out progressing');
  });

  it('when a StatefulSet is ready but not on its update revision, then it waits', () => {
    const sts = { ...ref, kind: 'StatefulSet', name: 'mongo' };
    const object = {
      ...live({
        observedGeneration: 2,
        readyReplicas: 2,
        updatedReplicas: 1,
        currentRevision: 'a',
        updateRevision: 'b',
      }),
      kind: 'StatefulSet',
    };
    expect(workloadStatus(sts, object).detail).to.include('revision b not rolled out yet');
    expect(
      workloadStatus(sts, {
        ...object,
        status: {
          observedGeneration: 2,
          readyReplicas: 2,
          updatedReplicas: 2,
          currentRevision: 'b',
          updateRevision: 'b',
        },
      }).ready,
    ).to.equal(true);
  });

  it('when durations are printed, then they read like the --timeout flag', () => {
    expect([500, 2000, 1500, 300_000, 90_000].map(formatDuration)).to.deep.equal([
      '500ms',
      '2s',
      '1.5s',
      '5m',
      '1m30s',
    ]);
  });
});
