/**
 * Checkout's HTTP contract: what POST /checkouts takes, the one Idempotency-Key rule, and what checkout answers (the
 * accepted checkout, the saga). Checkout validates and documents with it; the gateway composes its public checkout
 * route and its saga routes from it and forwards `<userId>:<key>`, which checkout's limit on a scoped key makes room
 * for, so the gateway never accepts a request checkout would refuse nor documents an answer checkout does not give.
 */
import { Type } from '@sinclair/typebox';

const ID_MAX_LENGTH = 128;
/** User and saga ids as checkout accepts them. */
export const Id = Type.String({ minLength: 1, maxLength: ID_MAX_LENGTH, pattern: '^[A-Za-z0-9_.:@-]+$' });

/** The most characters of a client's Idempotency-Key (a UUID has 36). */
export const IDEMPOTENCY_KEY_MAX_LENGTH = 128;
/**
 * The most characters of the key checkout takes: a client's key, or one its caller scoped to the user as
 * `<userId>:<key>` (the gateway does, so that two users choosing the same key never meet): room for an `Id` and a key.
 */
export const SCOPED_IDEMPOTENCY_KEY_MAX_LENGTH = ID_MAX_LENGTH + 1 + IDEMPOTENCY_KEY_MAX_LENGTH;

/** Printable ASCII, no space. */
const PRINTABLE = '^[\\x21-\\x7e]+$';
const PRINTABLE_RE = new RegExp(PRINTABLE);

/** A client's Idempotency-Key: one per checkout attempt. */
export const IdempotencyKey = Type.String({
  minLength: 1,
  maxLength: IDEMPOTENCY_KEY_MAX_LENGTH,
  pattern: PRINTABLE,
});

/** The Idempotency-Key of POST /checkouts: a client's key, perhaps scoped to the user (`<userId>:<key>`). */
export const ScopedIdempotencyKey = Type.String({
  minLength: 1,
  maxLength: SCOPED_IDEMPOTENCY_KEY_MAX_LENGTH,
  pattern: PRINTABLE,
});

/**
 * Whether `value` is an Idempotency-Key of at most `maxLength` printable characters: the check of the header the
 * schemas above describe (the kit's router only enforces that a required header is present).
 */
export function isIdempotencyKey(value: unknown, maxLength: number): value is string {
  return typeof value === 'string' && value.length <= maxLength && PRINTABLE_RE.test(value);
}

export const PaymentToken = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' });

export const ExpectedTotalCents = Type.Integer({
  minimum: 0,
  maximum: Number.MAX_SAFE_INTEGER,
  description: 'the total shown to the user; another total now is 409 price-changed instead of a charge',
});

export const StartBody = Type.Object(
  {
    userId: Id,
    paymentToken: PaymentToken,
    expectedTotalCents: Type.Optional(ExpectedTotalCents),
  },
  { additionalProperties: false },
);

/** Where a checkout saga is: running forward, undoing its steps, or finished one of three ways. */
export const SAGA_STATUSES = ['RUNNING', 'COMPENSATING', 'COMPLETED', 'COMPENSATED', 'FAILED'] as const;
export type SagaStatus = (typeof SAGA_STATUSES)[number];

/** GET /sagas (and the gateway's /admin/sagas): a status to filter by, and how many, newest first. */
export const SagaListQuery = Type.Object(
  {
    status: Type.Optional(Type.Union(SAGA_STATUSES.map((s) => Type.Literal(s)))),
    limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
  },
  { additionalProperties: false },
);

/** What POST /checkouts answers (202): the saga and order started with this key, now or before. */
export const Accepted = Type.Object({
  sagaId: Type.String({ description: 'the checkout saga' }),
  orderId: Type.String(),
  status: Type.Union(
    [Type.Literal('PENDING'), Type.Literal('CONFIRMED'), Type.Literal('CANCELLED'), Type.Literal('FAILED')],
    { description: 'PENDING when new; the current status when the key was used before' },
  ),
  sagaStatus: Type.String(),
});

const StepError = Type.Object({ kind: Type.String(), code: Type.String(), message: Type.String() });

/** A saga as checkout shows it to operators and clients: no payment token, no lease, no outbox. */
export const SagaView = Type.Object({
  sagaId: Type.String(),
  orderId: Type.String(),
  userId: Type.String(),
  status: Type.String({ description: SAGA_STATUSES.join(' | ') }),
  checkoutStatus: Type.String({ description: 'PENDING | CONFIRMED | CANCELLED | FAILED' }),
  reason: Type.Optional(Type.String()),
  totalCents: Type.Integer(),
  currency: Type.String(),
  reservationId: Type.String(),
  paymentId: Type.Optional(Type.String()),
  steps: Type.Array(
    Type.Object({
      name: Type.String(),
      status: Type.String(),
      attempts: Type.Integer(),
      compensationAttempts: Type.Integer(),
      startedAt: Type.Optional(Type.String()),
      finishedAt: Type.Optional(Type.String()),
      error: Type.Optional(StepError),
      compensationError: Type.Optional(StepError),
    }),
  ),
  log: Type.Array(
    Type.Object({
      at: Type.String(),
      event: Type.String(),
      step: Type.Optional(Type.String()),
      attempt: Type.Optional(Type.Integer()),
      detail: Type.Optional(Type.String()),
    }),
  ),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  finishedAt: Type.Optional(Type.String()),
});

/** GET /sagas: newest first. */
export const SagaList = Type.Object({ items: Type.Array(SagaView), limit: Type.Integer() });
