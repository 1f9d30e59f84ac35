import { defineCounter } from '@meshmart/kit/metric-declarations';

/** The audit service's own metrics (the kit's are in kitMetrics); dashboards and alerts read these names. */
export const auditMetrics = {
  records: defineCounter({
    name: 'audit_records_total',
    help: 'Events the audit trail received, by topic and outcome (appended or duplicate)',
    labelNames: ['topic', 'outcome'],
  }),
} as const;
