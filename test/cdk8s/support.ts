import { Chart, Testing } from 'cdk8s';
import { defaultConfig, type MeshmartConfig } from '@meshmart/cdk8s/config.ts';
import { policyContext } from '@meshmart/cdk8s/policy/context.ts';
import type { Manifest, PolicyContext } from '@meshmart/cdk8s/policy/types.ts';
import { buildProfile, PROFILE_NAMES, type ProfileName } from '@meshmart/cdk8s/profiles/index.ts';
import { profileObjects, type KubeObject } from '@meshmart/cdk8s/synth.ts';

export { PROFILE_NAMES, type ProfileName };

const cache = new Map<ProfileName, { objects: KubeObject[]; context: PolicyContext }>();

/** A profile synthesized once per test run with the default config. */
export function synthesized(name: ProfileName): { objects: KubeObject[]; context: PolicyContext } {
  let hit = cache.get(name);
  if (!hit) {
    const config = defaultConfig();
    const profile = buildProfile(name, config);
    hit = { objects: profileObjects(profile), context: policyContext(profile, config) };
    cache.set(name, hit);
  }
  return hit;
}

/** A deep copy the test may break without touching the cache. */
export function copyOf<T>(value: T): T {
  return structuredClone(value);
}

export function find(objects: readonly Manifest[], kind: string, name: string, namespace?: string): Manifest {
  const found = objects.find(
    (o) =>
      o.kind === kind &&
      o.metadata?.name === name &&
      (namespace === undefined || o.metadata?.namespace === namespace),
  );
  if (!found) throw new Error(`no ${kind} ${namespace ?? '*'}/${name}`);
  return found;
}

export function testChart(): Chart {
  return new Chart(Testing.app(), 'test');
}

export function config(overrides: Partial<MeshmartConfig> = {}): MeshmartConfig {
  return { ...defaultConfig(), ...overrides };
}
