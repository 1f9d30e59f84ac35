/**
 * The largest amount payments authorizes, in integer cents (1,000,000.00). Payments refuses more; checkout refuses a
 * cart over it up front (422 amount-over-limit) instead of starting a saga that can only fail at the payment step.
 */
export const MAX_PAYMENT_CENTS = 100_000_000;
