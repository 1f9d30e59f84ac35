import { loadConfig, type MeshmartConfig } from '../config.ts';
import { applyImageSettings } from '../images.ts';
import type { Profile } from './compose.ts';
import { eksAppMeshProfile } from './eks-appmesh.ts';
import { eksLatticeProfile } from './eks-lattice.ts';
import { kindProfile } from './kind.ts';
import { migrationProfile } from './migration.ts';
import { PROFILE_NAMES, type ProfileName } from './names.ts';

export type { Profile } from './compose.ts';

export { PROFILE_NAMES, type ProfileName } from './names.ts';

const BUILDERS: Readonly<Record<ProfileName, (config: MeshmartConfig) => Profile>> = {
  kind: kindProfile,
  'eks-appmesh': eksAppMeshProfile,
  'eks-lattice': eksLatticeProfile,
  migration: migrationProfile,
};

/** Builds one profile's construct tree (nothing written). */
export function buildProfile(name: ProfileName, config: MeshmartConfig = loadConfig({})): Profile {
  const build = BUILDERS[name];
  if (!build)
    throw new Error(
      `buildProfile: unknown profile '${String(name)}'; choose from ${PROFILE_NAMES.join(', ')}`,
    );
  const profile = build(config);
  applyImageSettings(profile.app, config.images);
  return profile;
}
