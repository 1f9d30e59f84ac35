import { defineCounter } from '@meshmart/kit/metric-declarations';

/** The inventory service's own metrics (the kit's are in kitMetrics); dashboards and alerts read these names. */
export const inventoryMetrics = {
  reservationOutcomes: defineCounter({
    name: 'inventory_reservation_outcomes_total',
    help: 'Reservation state changes by outcome',
    labelNames: ['outcome'],
  }),
  sweeperActions: defineCounter({
    name: 'inventory_sweeper_actions_total',
    help: 'Reservations the sweeper expired or abandoned, and holds it repaired',
    labelNames: ['action'],
  }),
} as const;
