import { randomUUID } from 'node:crypto';
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

  /** Resolves the authorized payment; a declined card is stored too, then reported as 402 'payment-declined'. */
  async authorize(command: AuthorizeCommand, trace?: TraceContext): Promise<Payment> {
    const result = await this.props.provider.authorize(command);
    const input = {
      id: this.newId(),
      orderId: command.orderId,
      amountCents: command.amountCents,
      currency: command.currency,
      at: this.now().toISOString(),
    };
    const change = result.approved ? authorized(input) : declined(input, result.reason);
    const entries = [this.entry(change, trace)];
    await this.props.repository.insert(change.next, entries);
    this.props.onEvents?.(this.props.repository.outboxKey(change.next.id), entries);
    if (!result.approved) {
      throw new AppError(402, 'payment-declined', `the card was declined: ${result.reason}`, {
        extensions: { paymentId: change.next.id, reason: result.reason },
      });
    }
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
