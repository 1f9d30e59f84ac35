import { defineCounter } from '@meshmart/kit/metric-declarations';

/** The catalog's own metrics (the kit's are in kitMetrics); dashboards and alerts read these names. */
export const catalogMetrics = {
  cacheRequests: defineCounter({
    name: 'catalog_cache_requests_total',
    help: 'Catalog cache lookups by kind of entry and result (hit, miss, error)',
    labelNames: ['kind', 'result'],
  }),
  cacheErrors: defineCounter({
    name: 'catalog_cache_errors_total',
    help: 'Catalog cache calls that failed, by operation (lookup, store, invalidate); reads fell through to the store',
    labelNames: ['operation'],
  }),
} as const;
