import { defineCounter } from '@meshmart/kit/metric-declarations';

/** The payments service's own metrics (the kit's are in kitMetrics); dashboards and alerts read these names. */
export const paymentsMetrics = {
  operations: defineCounter({
    name: 'payments_total',
    help: 'Payment operations, by operation and outcome',
    labelNames: ['operation', 'outcome'],
  }),
} as const;
