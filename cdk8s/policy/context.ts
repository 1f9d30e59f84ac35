import { LATTICE_CIDR } from '@meshmart/mesh/render/network-policies.ts';
import { roleArn, type MeshmartConfig } from '../config.ts';
import type { Profile } from '../profiles/compose.ts';
import type { PolicyContext } from './types.ts';

/** The policy context of a profile: its model, the metrics scraper, and Lattice when callers go through it. */
export function policyContext(profile: Profile, config: MeshmartConfig): PolicyContext {
  return {
    model: profile.model,
    metricsNamespace: config.observability.metricsNamespace,
    ...(profile.callersVia === 'pods'
      ? {}
      : {
          lattice: {
            cidr: LATTICE_CIDR,
            principal: (service: string) => roleArn(config, service),
            alongsidePods: profile.callersVia === 'both',
          },
        }),
  };
}
