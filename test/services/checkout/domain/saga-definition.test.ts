import { expect } from 'chai';
import {
  checkoutSaga,
  type CheckoutContext,
} from '../../../../services/checkout/src/domain/checkout-saga.ts';
import type { Saga, StepStatus } from '../../../../services/checkout/src/domain/saga.ts';
import {
  backoffDelay,
  call,
  initialSteps,
  nextMove,
  onCompensationFailure,
  onStepFailure,
  validateDefinition,
} from '../../../../services/checkout/src/domain/saga-definition.ts';

const definition = checkoutSaga({ retry: { maxAttempts: 3, backoffMs: 100, maxBackoffMs: 1000 } });
const transient = { kind: 'transient' as const, code: 'unavailable', message: 'down' };
const declined = {
  kind: 'business' as const,
  code: 'payment-declined',
  message: 'payment declined: card_declined',
};

function sagaWith(
  status: Saga['status'],
  steps: Partial<Record<string, [StepStatus, number?]>>,
): Saga<CheckoutContext> {
  const at = new Date().toISOString();
  return {
    id: 's',
    definition: 'checkout',
    idempotencyKey: 'k',
    userId: 'u',
    orderId: 'o',
    status,
    context: {} as CheckoutContext,
    steps: initialSteps(definition).map((s) => {
      const [st, attempts] = steps[s.name] ?? ['PENDING', 0];
      return { ...s, status: st, attempts: attempts ?? 1, compensationAttempts: attempts ?? 1 };
    }),
    log: [],
    lease: null,
    trace: {},
    createdAt: at,
    updatedAt: at,
  };
}

describe('saga definition (pure decisions)', () => {
  it('when the checkout definition is read, then its steps run in the documented order with confirmOrder as pivot', () => {
    expect(definition.steps.map((s) => s.name)).to.deep.equal([
      'placeOrder',
      'reserveStock',
      'authorizePayment',
      'confirmOrder',
      'commitReservation',
      'capturePayment',
      'clearCart',
    ]);
    expect(definition.steps.filter((s) => s.pivot).map((s) => s.name)).to.deep.equal(['confirmOrder']);
    expect(definition.steps.filter((s) => s.compensation).map((s) => s.name)).to.deep.equal([
      'placeOrder',
      'reserveStock',
      'authorizePayment',
    ]);
  });

  it('when a definition repeats a step name or has two pivots, then it is rejected', () => {
    const step = {
      name: 'a',
      action: [call('orders', 'confirm', () => ({ orderId: 'o' }))],
      retry: definition.steps[0].retry,
    };
    expect(() => validateDefinition({ name: 'x', steps: [step, step] })).to.throw(/defined twice/);
    expect(() =>
      validateDefinition({
        name: 'x',
        steps: [
          { ...step, pivot: true },
          { ...step, name: 'b', pivot: true },
        ],
      }),
    ).to.throw(/pivot/);
  });

  it('when some steps succeeded, then the next move is the first one that has not', () => {
    const saga = sagaWith('RUNNING', { placeOrder: ['SUCCEEDED'], reserveStock: ['RUNNING'] });
    expect(nextMove(definition, saga)).to.deep.equal({ kind: 'forward', index: 1 });
  });

  it('when every step succeeded or was skipped, then the saga completes', () => {
    const all = Object.fromEntries(definition.steps.map((s) => [s.name, ['SUCCEEDED'] as [StepStatus]]));
    expect(nextMove(definition, sagaWith('RUNNING', { ...all, clearCart: ['SKIPPED'] }))).to.deep.equal({
      kind: 'complete',
    });
  });

  it('when compensating, then completed steps are undone last-first and a business refusal is not undone', () => {
    const saga = sagaWith('COMPENSATING', {
      placeOrder: ['SUCCEEDED'],
      reserveStock: ['SUCCEEDED'],
      authorizePayment: ['FAILED'],
    });
    saga.steps[2].error = declined;
    expect(nextMove(definition, saga)).to.deep.equal({ kind: 'compensate', index: 1 });
    saga.steps[1].status = 'COMPENSATED';
    expect(nextMove(definition, saga)).to.deep.equal({ kind: 'compensate', index: 0 });
    saga.steps[0].status = 'COMPENSATED';
    expect(nextMove(definition, saga)).to.deep.equal({ kind: 'compensated' });
  });

  it('when a step failed transiently, then it is compensated too (its effect is unknown)', () => {
    const saga = sagaWith('COMPENSATING', {
      placeOrder: ['SUCCEEDED'],
      reserveStock: ['SUCCEEDED'],
      authorizePayment: ['FAILED'],
    });
    saga.steps[2].error = transient;
    expect(nextMove(definition, saga)).to.deep.equal({ kind: 'compensate', index: 2 });
  });

  it('when a compensation gave up, then the saga ends FAILED', () => {
    const saga = sagaWith('COMPENSATING', {
      placeOrder: ['COMPENSATED'],
      reserveStock: ['COMPENSATION_FAILED'],
    });
    expect(nextMove(definition, saga)).to.deep.equal({ kind: 'failed' });
  });

  it('when a transient failure has attempts left, then it is retried after a backoff', () => {
    const saga = sagaWith('RUNNING', { placeOrder: ['RUNNING', 2] });
    const decision = onStepFailure(definition, saga, 0, transient, () => 0.5);
    expect(decision).to.deep.equal({ kind: 'retry', delayMs: 150 });
  });

  it('when a transient failure used every attempt, then the saga compensates naming the step and the count', () => {
    const saga = sagaWith('RUNNING', { placeOrder: ['SUCCEEDED'], reserveStock: ['RUNNING', 3] });
    expect(onStepFailure(definition, saga, 1, transient)).to.deep.equal({
      kind: 'compensate',
      reason: 'reserveStock failed after 3 attempts',
    });
  });

  it('when a business failure happens, then it compensates at once with the participant’s reason', () => {
    const saga = sagaWith('RUNNING', { authorizePayment: ['RUNNING', 1] });
    expect(onStepFailure(definition, saga, 2, declined)).to.deep.equal({
      kind: 'compensate',
      reason: 'payment declined: card_declined',
    });
  });

  it('when a step after the confirmed pivot gives up, then the saga fails instead of compensating', () => {
    const saga = sagaWith('RUNNING', { confirmOrder: ['SUCCEEDED'], capturePayment: ['RUNNING', 3] });
    const decision = onStepFailure(definition, saga, 5, transient);
    expect(decision.kind).to.equal('fail');
  });

  it('when a forward retry budget is given, then placing the order, the pivot, the steps after it and every compensation use it', () => {
    const d = checkoutSaga({ retry: { maxAttempts: 3 }, forwardRetry: { maxAttempts: 9 } });
    const attempts = Object.fromEntries(d.steps.map((s) => [s.name, s.retry.maxAttempts]));
    expect(attempts).to.include({ reserveStock: 3, authorizePayment: 3, clearCart: 3 });
    expect(attempts).to.include({ placeOrder: 9, confirmOrder: 9, commitReservation: 9, capturePayment: 9 });
    const undo = d.steps.filter((s) => s.compensation).map((s) => s.compensationRetry?.maxAttempts);
    expect(undo).to.deep.equal([9, 9, 9]);
    const own = checkoutSaga({ forwardRetry: { maxAttempts: 9 }, compensationRetry: { maxAttempts: 4 } });
    expect(own.steps[0].compensationRetry?.maxAttempts).to.equal(4);
  });

  it('when a best-effort step gives up, then it is skipped', () => {
    const saga = sagaWith('RUNNING', { clearCart: ['RUNNING', 3] });
    expect(onStepFailure(definition, saga, 6, transient).kind).to.equal('skip');
  });

  it('when a compensation finds nothing to undo, then it counts as done; a refusal gives up at once', () => {
    const saga = sagaWith('COMPENSATING', { reserveStock: ['COMPENSATING', 1] });
    const notFound = { kind: 'business' as const, code: 'not-found', message: 'gone' };
    expect(onCompensationFailure(definition, saga, 1, notFound)).to.deep.equal({ kind: 'done' });
    const refused = { kind: 'business' as const, code: 'reservation-committed', message: 'committed' };
    expect(onCompensationFailure(definition, saga, 1, refused).kind).to.equal('give-up');
    expect(onCompensationFailure(definition, saga, 1, transient).kind).to.equal('retry');
  });

  it('when backoff grows, then it doubles per attempt within [half, full] and stops at the cap', () => {
    const policy = { maxAttempts: 10, backoffMs: 100, maxBackoffMs: 1000 };
    expect([1, 2, 3].map((n) => backoffDelay(policy, n, () => 0))).to.deep.equal([50, 100, 200]);
    expect([1, 2, 3].map((n) => backoffDelay(policy, n, () => 0.999999))).to.deep.equal([100, 200, 400]);
    expect(backoffDelay(policy, 9, () => 0.999999)).to.equal(1000);
  });
});
