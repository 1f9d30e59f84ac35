import { defineCounter, defineHistogram } from '@meshmart/kit/metric-declarations';

/** The checkout saga's metrics (the kit's are in kitMetrics); dashboards, alerts and rule tests read these names. */
export const checkoutMetrics = {
  sagas: defineCounter({
    name: 'checkout_sagas_total',
    help: 'Checkout sagas ended, by outcome (completed, compensated, failed)',
    labelNames: ['outcome'],
  }),
  sagaDuration: defineHistogram({
    name: 'checkout_saga_duration_seconds',
    help: 'Time from the start of a checkout saga to its end',
    labelNames: ['outcome'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
  }),
  stepAttempts: defineCounter({
    name: 'checkout_step_attempts_total',
    help: 'Attempts of saga steps and compensations, by outcome (success, business, transient)',
    labelNames: ['step', 'outcome'],
  }),
} as const;
