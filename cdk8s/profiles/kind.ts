import type { MeshmartConfig } from '../config.ts';
import { compose, type Profile } from './compose.ts';
import { observabilityStack } from '../constructs/observability/stack.ts';

/** kind: in-cluster MongoDB and Redis, plain ClusterIP Services, no AWS; the kit's client enforces the policy. */
export function kindProfile(config: MeshmartConfig): Profile {
  const c = compose({ name: 'kind', platform: 'kind', config });
  observabilityStack({
    platform: 'kind',
    config,
    namespaces: c.chart('01-observability-namespaces'),
    objects: c.chart('50-observability'),
  });
  return { name: 'kind', app: c.app, charts: c.charts, model: c.model, reports: {}, callersVia: 'pods' };
}
