import { checkoutMetrics } from '@meshmart/checkout/metrics';
import { inventoryMetrics } from '@meshmart/inventory/metrics';
import { paymentsMetrics } from '@meshmart/payments/metrics';
import { TAGS, type DashboardDef } from '../model.ts';
import { quantile, rate, share } from '../queries.ts';

export function businessDashboard(): DashboardDef {
  const perMinute = (expr: string) => `${expr} * 60`;
  return {
    uid: 'meshmart-business',
    title: 'MeshMart / Business',
    description: 'Checkouts, cancellations and how long a checkout takes end to end.',
    tags: [...TAGS, 'business'],
    rows: [
      {
        title: 'Checkouts',
        panels: [
          {
            title: 'Checkouts per minute by outcome',
            viz: 'timeseries',
            unit: 'short',
            queries: [
              { expr: perMinute(rate(checkoutMetrics.sagas.name, '', 'outcome')), legend: '{{outcome}}' },
            ],
          },
          {
            title: 'Cancellations per minute by reason',
            description:
              'A saga step refused for a business reason: reserveStock (out of stock), authorizePayment (declined).',
            viz: 'timeseries',
            unit: 'short',
            queries: [
              {
                expr: perMinute(rate(checkoutMetrics.stepAttempts.name, 'outcome="business"', 'step')),
                legend: '{{step}} refused',
              },
            ],
          },
          {
            title: 'Saga duration',
            viz: 'timeseries',
            unit: 's',
            queries: [0.5, 0.95, 0.99].map((q) => ({
              expr: quantile(q, checkoutMetrics.sagaDuration, '', ''),
              legend: `p${q * 100}`,
            })),
          },
          {
            title: 'Completed share',
            viz: 'stat',
            unit: 'percentunit',
            queries: [{ expr: share(checkoutMetrics.sagas, '', 'outcome="completed"', 'service') }],
          },
          {
            title: 'Payments per minute by outcome',
            viz: 'timeseries',
            unit: 'short',
            queries: [
              {
                expr: perMinute(rate(paymentsMetrics.operations.name, '', 'operation, outcome')),
                legend: '{{operation}} {{outcome}}',
              },
            ],
          },
          {
            title: 'Reservations per minute by outcome',
            viz: 'timeseries',
            unit: 'short',
            queries: [
              {
                expr: perMinute(rate(inventoryMetrics.reservationOutcomes.name, '', 'outcome')),
                legend: '{{outcome}}',
              },
            ],
          },
        ],
      },
    ],
  };
}
