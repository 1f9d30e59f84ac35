import { describe, type KubeObject } from './kube.ts';
import { CANARY_ANNOTATION, format, readWeights, type Backend } from './traffic.ts';

export type CanaryPhase = 'progressing' | 'promoted' | 'rolled-back';

/** What the route's `meshmart.dev/canary` annotation holds: enough to resume and to read what happened. */
export interface CanaryState {
  readonly version: string;
  readonly stable: string;
  readonly phase: CanaryPhase;
  /** The canary's weight when the state was written. */
  readonly weight: number;
  /** The last weight whose analysis passed; a resumed run moves on from it. */
  readonly passedWeight?: number;
  readonly message: string;
  readonly updatedAt: string;
}

/** Where the service's traffic stands when a run starts, read from its route objects. */
export interface StartingPoint {
  /** The canary's weight: the lowest any route gives it. */
  readonly current: number;
  /** The one other version that carries traffic, else the stable version the canary state names. */
  readonly stable: string | undefined;
  /** This version's canary state, from the first route object that holds one. */
  readonly state: CanaryState | undefined;
  /** Every route object's weights, for messages. */
  readonly splitText: string;
}

/** What a run does from its starting point: nothing, or these weights in turn. */
export type CanaryPlan =
  | { readonly kind: 'already-promoted'; readonly message: string }
  | {
      readonly kind: 'run';
      readonly stable: string;
      readonly schedule: readonly number[];
      /** The weight a resumed run found. */
      readonly resumedFrom?: number;
      /** The weight found, when its analysis already passed: the run moves on from it. */
      readonly passed?: number;
    };

export function parseState(object: KubeObject | undefined): CanaryState | undefined {
  const text = object?.metadata.annotations?.[CANARY_ANNOTATION];
  if (!text) return undefined;
  try {
    return JSON.parse(text) as CanaryState;
  } catch {
    return undefined;
  }
}

/** Throws unless the steps are whole percentages strictly increasing within 1..99. */
export function checkSteps(steps: readonly number[]): void {
  if (steps.length === 0) throw new Error('give at least one canary step');
  let last = 0;
  for (const s of steps) {
    if (!Number.isInteger(s) || s <= last || s >= 100)
      throw new Error(
        `canary steps must be whole percentages increasing from above 0 to below 100 (got ${steps.join(',')})`,
      );
    last = s;
  }
}

/** Reads the weights and canary state of the route objects; throws when two other versions carry traffic. */
export function startingPoint(
  routes: readonly { readonly backend: Backend; readonly object: KubeObject }[],
  service: string,
  version: string,
): StartingPoint {
  const splits = routes.map((r) => readWeights(r.backend, r.object, service));
  const current = Math.min(...splits.map((s) => s.get(version) ?? 0));
  const others = new Map<string, number>();
  for (const split of splits)
    for (const [v, w] of split) if (v !== version && w > 0) others.set(v, Math.max(others.get(v) ?? 0, w));
  if (others.size > 1)
    throw new Error(
      `more than one other version of '${service}' carries traffic (${format(others)}): finish that rollout first`,
    );
  const state = routes.map((r) => parseState(r.object)).find((s) => s?.version === version);
  const stable: string | undefined = [...others.keys()][0] ?? state?.stable;
  const splitText = routes.map((r, i) => `${describe(r.object)}: ${format(splits[i])}`).join('; ');
  return { current, stable, state, splitText };
}

/**
 * The weights to go through: all steps from 0; from a weight found on the routes, that weight again (unless the state
 * says it passed) and the steps above it. Nothing when the version already takes 100% with no stable version left or
 * with its state promoted; throws when there is no stable version to shift from.
 */
export function planCanary(
  start: StartingPoint,
  steps: readonly number[],
  service: string,
  version: string,
): CanaryPlan {
  const { current, stable, state, splitText } = start;
  if (!stable) {
    if (current === 100)
      return {
        kind: 'already-promoted',
        message: `${service} ${version} already takes 100% (${splitText})`,
      };
    throw new Error(
      `no stable version of '${service}' carries traffic and no canary state says which: ${splitText}`,
    );
  }
  if (current === 100 && state?.phase === 'promoted')
    return { kind: 'already-promoted', message: `${service} ${version} was already promoted (${splitText})` };
  if (current === 0) return { kind: 'run', stable, schedule: steps };
  const passed = state?.phase === 'progressing' && state.passedWeight === current ? current : undefined;
  return {
    kind: 'run',
    stable,
    schedule: [...(passed === current ? [] : [current]), ...steps.filter((s) => s > current)],
    resumedFrom: current,
    ...(passed !== undefined ? { passed } : {}),
  };
}
