import { loadConfig, type MeshmartConfig } from '../config.ts';
import { applyImageSettings } from '../images.ts';
import { buildFromDefinition } from './build.ts';
import type { Profile } from './compose.ts';
import { PROFILES } from './definitions.ts';
import { PROFILE_NAMES, type ProfileName } from './names.ts';

export type { Profile } from './compose.ts';

export { PROFILE_NAMES, type ProfileName } from './names.ts';
export { PROFILES, type ProfileDefinition } from './definitions.ts';

/** Builds one profile's construct tree (nothing written). */
export function buildProfile(name: ProfileName, config: MeshmartConfig = loadConfig({})): Profile {
  const def = PROFILES[name];
  if (!def)
    throw new Error(
      `buildProfile: unknown profile '${String(name)}'; choose from ${PROFILE_NAMES.join(', ')}`,
    );
  const profile = buildFromDefinition(name, def, config);
  applyImageSettings(profile.app, config.images);
  return profile;
}
