import { MAX_PAYMENT_CENTS } from '@meshmart/contracts';
import { Type } from '@meshmart/kit';

export const Id = Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,128}$', description: 'an identifier' });
export const Cents = Type.Integer({ minimum: 1, maximum: MAX_PAYMENT_CENTS, description: 'integer cents' });

const History = Type.Object({
  at: Type.String({ format: 'date-time' }),
  operation: Type.String(),
  status: Type.String(),
  amountCents: Type.Integer(),
  reason: Type.Optional(Type.String()),
});

export const PaymentSchema = Type.Object({
  id: Type.String(),
  orderId: Type.String(),
  amountCents: Type.Integer(),
  currency: Type.Literal('USD'),
  status: Type.Union(
    ['AUTHORIZED', 'DECLINED', 'CAPTURED', 'VOIDED', 'PARTIALLY_REFUNDED', 'REFUNDED'].map((s) =>
      Type.Literal(s),
    ),
  ),
  capturedCents: Type.Integer(),
  refundedCents: Type.Integer(),
  declineReason: Type.Optional(Type.String()),
  history: Type.Array(History),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

export const IDEMPOTENCY_HEADER = {
  'Idempotency-Key': {
    description: 'client-chosen key (1-255 visible ASCII characters); a repeat returns the first answer',
    required: true,
    schema: Type.String({ minLength: 1, maxLength: 255 }),
  },
} as const;
