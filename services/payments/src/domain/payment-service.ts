import { createHash, randomUUID } from 'node:crypto';
import { AppError } from '@meshmart/kit';
import { outboxEntry, type NewEvent, type OutboxEntry, type OutboxWritten } from '@meshmart/kit/events';
import { events } from '@meshmart/contracts';
import type { PaymentProvider } from '../adapters/payment-provider.ts';
import type { PaymentRepository } from '../adapters/payment-repository.ts';
import {
  authorized,
  capture,
  declined,
  refund,
  voidAuthorization,
  type Change,
  type Payment,
} from './payment.ts';

export const TOPIC = 'payments.events';
const SOURCE = 'payments';
const MAX_ATTEMPTS = 10;

/** A request's or delivery's trace context, carried into the events it causes. */
export type TraceContext = NonNullable<NewEvent['context']>;

export interface PaymentServiceProps {
  readonly repository: PaymentRepository;
  readonly provider: PaymentProvider;
  /** Called after each write that added events, with the document and entries (hand them to the outbox relay). */
  readonly onEvents?: OutboxWritten;
  readonly newId?: () => string;
  readonly now?: () => Date;
}

export interface AuthorizeCommand {
  readonly orderId: string;
  readonly amountCents: number;
  readonly currency: string;
  readonly paymentToken: string;
}

/** The use cases: each reads, asks the provider, and writes the new state with its event in one document write. */
export class PaymentService {
  private readonly newId: () => string;
  private readonly now: () => Date;

  constructor(private readonly props: PaymentServiceProps) {
    this.newId = props.newId ?? (() => `pay_${randomUUID()}`);
    this.now = props.now ?? (() => new Date());
  }

  /**
   * Resolves the authorized payment; a declined card is stored too, then reported as 402 'payment-declined'.
   *
   * With the request's Idempotency-Key, the payment's id follows from the order and the key: a repeat that runs again
   * after the first run stored its payment but died before recording the answer (payments killed mid-request, its
   * key's lease expired) finds that payment and answers with it instead of authorizing the card a second time.
   *
   * `firstRun`: the key was never claimed before (the idempotency store says so), so no earlier run stored a payment to
   * look for, and none is read. Should one exist anyway (its key forgotten after the retention, or a write that
   * failed after it was applied), the insert meets it and the repeat answers with it all the same.
   */
  async authorize(
    command: AuthorizeCommand,
    trace?: TraceContext,
    requestKey?: string,
    options: { readonly firstRun?: boolean } = {},
  ): Promise<Payment> {
    const id = requestKey === undefined ? this.newId() : paymentIdFor(command.orderId, requestKey);
    if (requestKey !== undefined && !options.firstRun) {
      const earlier = await this.props.repository.get(id);
      if (earlier) return sameAuthorization(earlier, command);
    }
    const result = await this.props.provider.authorize(command);
    const input = {
      id,
      orderId: command.orderId,
      amountCents: command.amountCents,
      currency: command.currency,
      at: this.now().toISOString(),
    };
    const change = result.approved ? authorized(input) : declined(input, result.reason);
    const entries = [this.entry(change, trace)];
    try {
      await this.props.repository.insert(change.next, entries);
    } catch (err) {
      // Two runs of one request at once (only when a lease ran out under a live first run): the first write stands.
      const earlier = requestKey === undefined ? undefined : await this.props.repository.get(id);
      if (earlier) return sameAuthorization(earlier, command);
      throw err;
    }
    this.props.onEvents?.(this.props.repository.outboxKey(change.next.id), entries);
    if (!result.approved) throw declinedError(change.next.id, result.reason);
    return change.next;
  }

  capture(id: string, amountCents: number | undefined, trace?: TraceContext): Promise<Payment> {
    return this.change(
      id,
      (p, at) => capture(p, at, amountCents),
      (c) => this.props.provider.capture(id, c.entry.amountCents),
      trace,
    );
  }

  void(id: string, trace?: TraceContext): Promise<Payment> {
    return this.change(
      id,
      (p, at) => voidAuthorization(p, at),
      () => this.props.provider.void(id),
      trace,
    );
  }

  refund(id: string, amountCents: number | undefined, trace?: TraceContext): Promise<Payment> {
    return this.change(
      id,
      (p, at) => refund(p, at, amountCents),
      (c) => this.props.provider.refund(id, c.entry.amountCents),
      trace,
    );
  }

  async get(id: string): Promise<Payment> {
    const payment = await this.props.repository.get(id);
    if (!payment) throw AppError.notFound(`payment ${id} does not exist`);
    return payment;
  }

  findByOrder(orderId: string): Promise<Payment[]> {
    return this.props.repository.findByOrder(orderId);
  }

  /** The transition is checked before the provider is asked, and again (by version) when written. */
  private async change(
    id: string,
    decide: (payment: Payment, at: string) => Change,
    call: (change: Change) => Promise<void>,
    trace: TraceContext | undefined,
  ): Promise<Payment> {
    let called = false;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const current = await this.get(id);
      const change = decide(current, this.now().toISOString());
      if (!called) {
        await call(change);
        called = true;
      }
      const entries = [this.entry(change, trace)];
      const written = await this.props.repository.update(change.next, current.version, change.entry, entries);
      if (written) {
        this.props.onEvents?.(this.props.repository.outboxKey(id), entries);
        return change.next;
      }
    }
    throw new AppError(409, 'version-conflict', `payment ${id} is being changed concurrently; retry`);
  }

  private entry(change: Change, trace: TraceContext | undefined): OutboxEntry {
    const event = events.assertValid(TOPIC, {
      type: change.event.type,
      data: change.event.data,
      ...(trace ? { context: trace } : {}),
    });
    return outboxEntry(TOPIC, event, SOURCE);
  }
}

/** The id of the payment one authorization request creates: the same for every run of that request. */
export function paymentIdFor(orderId: string, requestKey: string): string {
  const h = createHash('sha256').update(`${orderId}\0${requestKey}`).digest('hex');
  return `pay_${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function declinedError(paymentId: string, reason: string): AppError {
  return new AppError(402, 'payment-declined', `the card was declined: ${reason}`, {
    extensions: { paymentId, reason },
  });
}

/** An earlier run's payment answers the repeat: as it was then (declined stays declined), if it was this request. */
function sameAuthorization(earlier: Payment, command: AuthorizeCommand): Payment {
  if (earlier.amountCents !== command.amountCents || earlier.currency !== command.currency) {
    throw new AppError(
      422,
      'idempotency-key-reused',
      'this Idempotency-Key was already used for a different request',
    );
  }
  if (earlier.status === 'DECLINED') throw declinedError(earlier.id, earlier.declineReason ?? 'declined');
  return earlier;
}
