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
              { expr: perMinute(rate('checkout_sagas_total', '', 'outcome')), legend: '{{outcome}}' },
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
                expr: perMinute(rate('checkout_step_attempts_total', 'outcome="business"', 'step')),
                legend: '{{step}} refused',
              },
            ],
          },
          {
            title: 'Saga duration',
            viz: 'timeseries',
            unit: 's',
            queries: [0.5, 0.95, 0.99].map((q) => ({
              expr: quantile(q, 'checkout_saga_duration_seconds', '', ''),
              legend: `p${q * 100}`,
            })),
          },
          {
            title: 'Completed share',
            viz: 'stat',
            unit: 'percentunit',
            queries: [{ expr: share('checkout_sagas_total', '', 'outcome="completed"', 'service') }],
          },
          {
            title: 'Payments per minute by outcome',
            viz: 'timeseries',
            unit: 'short',
            queries: [
              {
                expr: perMinute(rate('payments_total', '', 'operation, outcome')),
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
                expr: perMinute(rate('inventory_reservation_outcomes_total', '', 'outcome')),
                legend: '{{outcome}}',
              },
            ],
          },
        ],
      },
    ],
  };
}
