// Apart from manifests.ts: loading cdk8s takes most of a second, which only `--synth` needs.
import { loadConfig, type MeshmartConfig } from '@meshmart/cdk8s/config.ts';
import { buildProfile, type ProfileName } from '@meshmart/cdk8s/profiles/index.ts';
import { profileObjects } from '@meshmart/cdk8s/synth.ts';
import type { KubeObject } from './kube.ts';

/** A profile synthesized in this process, without writing dist/. */
export function objectsFromSynth(profile: ProfileName, config?: MeshmartConfig): KubeObject[] {
  const objects = profileObjects(buildProfile(profile, config ?? loadConfig(process.env)));
  return structuredClone(objects) as unknown as KubeObject[];
}
