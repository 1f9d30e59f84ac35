import { catalogue } from '@meshmart/catalogue';
import type { DashboardDef } from './model.ts';
import { businessDashboard } from './definitions/business.ts';
import { eventsDashboard } from './definitions/events.ts';
import { meshDashboard } from './definitions/mesh.ts';
import { overviewDashboard } from './definitions/overview.ts';
import { serviceDashboard } from './definitions/service.ts';
import { sloDashboard } from './definitions/slo.ts';

export {
  businessDashboard,
  eventsDashboard,
  meshDashboard,
  overviewDashboard,
  serviceDashboard,
  sloDashboard,
};

/** Every dashboard, one module each under definitions/, in the order they are generated. */
export function dashboardDefs(): DashboardDef[] {
  return [
    overviewDashboard(),
    ...catalogue.map(serviceDashboard),
    businessDashboard(),
    eventsDashboard(),
    sloDashboard(),
    meshDashboard(),
  ];
}
