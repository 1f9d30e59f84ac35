import type { NewEvent } from '@meshmart/kit/events';

/** Valid events of several topics, as their publishers would send them. */
export const AT = '2026-03-01T10:00:00.000Z';
export const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
export const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

export const sampleEvents: [topic: string, event: NewEvent][] = [
  [
    'orders.events',
    {
      type: 'OrderPlaced',
      occurredAt: AT,
      headers: { traceparent: TRACEPARENT },
      data: {
        orderId: 'o-1',
        userId: 'alice',
        orderVersion: 1,
        items: [{ productId: 'p-1', name: 'Lamp', unitPriceCents: 1250, quantity: 2 }],
        totalCents: 2500,
        currency: 'USD',
      },
    },
  ],
  [
    'payments.events',
    {
      type: 'PaymentAuthorized',
      occurredAt: AT,
      data: { paymentId: 'pay-1', orderId: 'o-1', amountCents: 2500, currency: 'USD' },
    },
  ],
  [
    'catalog.events',
    {
      type: 'ProductUpdated',
      occurredAt: AT,
      data: { productId: 'p-1', name: 'Lamp', priceCents: 1300, category: 'home', actor: 'admin' },
    },
  ],
  [
    'gateway.user-actions',
    {
      type: 'UserAction',
      occurredAt: AT,
      data: {
        actor: 'alice',
        action: 'checkout',
        resource: 'order/o-1',
        method: 'POST',
        path: '/api/v1/checkout',
        status: 202,
        at: AT,
        traceId: 'abc123',
      },
    },
  ],
];

export function paymentEvent(n: number): NewEvent {
  return {
    type: 'PaymentCaptured',
    occurredAt: AT,
    data: { paymentId: `pay-${n}`, orderId: `o-${n}`, amountCents: 100 + n, currency: 'USD' },
  };
}
