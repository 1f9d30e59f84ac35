import { setTimeout as sleep } from 'node:timers/promises';
import type { Kube, KubeObject } from './kube.ts';
import type { ObjectRef } from './deploy.ts';

export interface WorkloadStatus {
  readonly ref: ObjectRef;
  /** `Deployment meshmart/catalog` */
  readonly name: string;
  readonly ready: boolean;
  /** One line: what the controller reported, or why it is not ready. */
  readonly detail: string;
  /** The rollout cannot finish without a change (ProgressDeadlineExceeded). */
  readonly failed?: boolean;
}

interface WorkloadFields {
  metadata: { generation?: number };
  spec?: {
    replicas?: number;
    updateStrategy?: { type?: string; rollingUpdate?: { partition?: number } };
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    currentRevision?: string;
    updateRevision?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

function nameOf(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}

/** Rollout state of a Deployment or StatefulSet, with the rules of `kubectl rollout status`. */
export function workloadStatus(ref: ObjectRef, live: KubeObject | undefined): WorkloadStatus {
  const name = nameOf(ref);
  if (!live) return { ref, name, ready: false, detail: 'not found' };
  const w = live as unknown as WorkloadFields;
  const s = w.status ?? {};
  const generation = w.metadata.generation ?? 0;
  const want = w.spec?.replicas ?? 1;
  const counts = `${s.updatedReplicas ?? 0}/${want} updated, ${(ref.kind === 'StatefulSet' ? s.readyReplicas : s.availableReplicas) ?? 0}/${want} ${ref.kind === 'StatefulSet' ? 'ready' : 'available'}`;
  if (s.observedGeneration === undefined || s.observedGeneration < generation) {
    return {
      ref,
      name,
      ready: false,
      detail:
        s.observedGeneration === undefined
          ? `generation ${generation} not observed by the ${ref.kind} controller (no status at all: is kube-controller-manager running?)`
          : `generation ${generation} not observed yet (observed ${s.observedGeneration}); ${counts}`,
    };
  }
  if (ref.kind === 'Deployment') {
    const deadline = s.conditions?.find(
      (c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded',
    );
    if (deadline)
      return {
        ref,
        name,
        ready: false,
        failed: true,
        detail: `progress deadline exceeded: ${deadline.message ?? ''}; ${counts}`,
      };
    const updated = s.updatedReplicas ?? 0;
    if (updated < want)
      return {
        ref,
        name,
        ready: false,
        detail: `${counts} (waiting for new pods: are nodes/kubelets running?)`,
      };
    if ((s.replicas ?? 0) > updated)
      return {
        ref,
        name,
        ready: false,
        detail: `${counts}; ${(s.replicas ?? 0) - updated} old replicas pending termination`,
      };
    if ((s.availableReplicas ?? 0) < updated)
      return { ref, name, ready: false, detail: `${counts} (pods not available yet)` };
    return { ref, name, ready: true, detail: counts };
  }
  // StatefulSet
  if (w.spec?.updateStrategy?.type === 'OnDelete')
    return { ref, name, ready: true, detail: `${counts} (OnDelete: not waited for)` };
  if ((s.readyReplicas ?? 0) < want)
    return { ref, name, ready: false, detail: `${counts} (pods not ready: are nodes/kubelets running?)` };
  const partition = w.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
  if (partition > 0) {
    if ((s.updatedReplicas ?? 0) < want - partition)
      return { ref, name, ready: false, detail: `${counts} (partitioned rollout)` };
    return { ref, name, ready: true, detail: counts };
  }
  if (s.updateRevision && s.currentRevision !== s.updateRevision)
    return { ref, name, ready: false, detail: `${counts}; revision ${s.updateRevision} not rolled out yet` };
  return { ref, name, ready: true, detail: counts };
}

export interface WaitOptions {
  readonly kube: Kube;
  readonly workloads: readonly ObjectRef[];
  /** @default 300 000 */
  readonly timeoutMs?: number;
  /** @default 1 000 */
  readonly pollMs?: number;
  /** Called with every workload whose line changed, and with all of them on the first poll. */
  readonly onProgress?: (changed: readonly WorkloadStatus[], all: readonly WorkloadStatus[]) => void;
  readonly signal?: AbortSignal;
}

/** Thrown when workloads are not rolled out in time, or one cannot progress; the message names each of them. */
export class RolloutError extends Error {
  constructor(
    message: string,
    readonly notReady: readonly WorkloadStatus[],
  ) {
    super(message);
  }
}

/** Polls until every workload is rolled out; throws a RolloutError naming what is not ready at the deadline. */
export async function waitForRollout(options: WaitOptions): Promise<WorkloadStatus[]> {
  const timeoutMs = options.timeoutMs ?? 300_000;
  const deadline = Date.now() + timeoutMs;
  const last = new Map<string, string>();
  for (;;) {
    const all: WorkloadStatus[] = [];
    for (const ref of options.workloads) {
      all.push(
        workloadStatus(
          ref,
          await options.kube.read({
            apiVersion: ref.apiVersion,
            kind: ref.kind,
            metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) },
          }),
        ),
      );
    }
    const changed = all.filter((s) => last.get(s.name) !== `${s.ready} ${s.detail}`);
    for (const s of changed) last.set(s.name, `${s.ready} ${s.detail}`);
    if (changed.length > 0) options.onProgress?.(changed, all);
    const notReady = all.filter((s) => !s.ready);
    if (notReady.length === 0) return all;
    const failed = notReady.filter((s) => s.failed);
    if (failed.length > 0)
      throw new RolloutError(
        `rollout failed: ${failed.map((s) => `${s.name}: ${s.detail}`).join('; ')}`,
        failed,
      );
    if (Date.now() >= deadline) {
      throw new RolloutError(
        `rollout not complete after ${formatDuration(timeoutMs)}: ${notReady.length} of ${all.length} workloads not ready:\n` +
          notReady.map((s) => `  ${s.name}: ${s.detail}`).join('\n'),
        notReady,
      );
    }
    await sleep(
      Math.min(options.pollMs ?? 1_000, Math.max(0, deadline - Date.now())),
      undefined,
      options.signal ? { signal: options.signal } : undefined,
    );
  }
}

export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${ms}ms`;
  const s = ms / 1_000;
  if (s < 60) return `${Number.isInteger(s) ? s : s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  const rest = Math.round(s - m * 60);
  return rest ? `${m}m${rest}s` : `${m}m`;
}
