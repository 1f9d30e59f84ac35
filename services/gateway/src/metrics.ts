import { defineCounter } from '@meshmart/kit/metric-declarations';

/** The gateway's own metrics (the kit's are in kitMetrics); dashboards and alerts read these names. */
export const gatewayMetrics = {
  rateLimitErrors: defineCounter({
    name: 'gateway_rate_limit_errors_total',
    help: 'Rate-limit checks that failed or timed out (the request was let through)',
  }),
  rateLimitRejections: defineCounter({
    name: 'gateway_rate_limit_rejections_total',
    help: 'Requests refused with 429, by the bucket that ran dry',
    labelNames: ['scope'],
  }),
  userActions: defineCounter({
    name: 'gateway_user_actions_total',
    help: 'UserAction events by publish result',
    labelNames: ['result'],
  }),
  cacheRequests: defineCounter({
    name: 'gateway_cache_requests_total',
    help: 'Lookups in the gateway response cache by result (hit, miss, error)',
    labelNames: ['result'],
  }),
} as const;
