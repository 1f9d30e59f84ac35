import { defineCounter } from '@meshmart/kit/metric-declarations';

/** The orders service's own metrics (the kit's are in kitMetrics); dashboards and alerts read these names. */
export const ordersMetrics = {
  commands: defineCounter({
    name: 'orders_commands_total',
    help: 'Order commands handled, by command and outcome',
    labelNames: ['command', 'outcome'],
  }),
  projectedEvents: defineCounter({
    name: 'orders_projected_events_total',
    help: 'Order events handled by the read-model projector, by outcome',
    labelNames: ['outcome'],
  }),
} as const;
