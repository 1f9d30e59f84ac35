import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import validator from 'asl-validator';
import { createLogger } from '../../../../services/kit/src/logger.ts';
import { HttpParticipants } from '../../../../services/checkout/src/adapters/http-participants.ts';
import { InMemorySagaRepository } from '../../../../services/checkout/src/adapters/in-memory-saga-repository.ts';
import {
  checkoutStateMachine,
  COMPENSATED,
  NEEDS_OPERATOR,
  SUCCEEDED,
  taskName,
  TRANSIENT_ERRORS,
  type StateMachineOptions,
} from '../../../../services/checkout/src/aws/state-machine.ts';
import {
  checkoutSaga,
  reservationIdFor,
  type CheckoutContext,
} from '../../../../services/checkout/src/domain/checkout-saga.ts';
import {
  initialSteps,
  type SagaDefinition,
} from '../../../../services/checkout/src/domain/saga-definition.ts';
import { SagaEngine } from '../../../../services/checkout/src/domain/saga-engine.ts';
import type { Saga } from '../../../../services/checkout/src/domain/saga.ts';
import { startMoto, type Moto } from '../../../support/moto.ts';
import { walk, type Answer, type WalkOptions } from './asl-walker.ts';

const PARTICIPANTS = ['orders', 'inventory', 'payments', 'cart'] as const;
const OPTIONS: StateMachineOptions = {
  endpoints: {
    orders: 'https://orders.meshmart.internal',
    inventory: 'https://inventory.meshmart.internal',
    payments: 'https://payments.meshmart.internal',
    cart: 'https://cart.meshmart.internal',
  },
  connectionArn: 'arn:aws:events:eu-west-1:111122223333:connection/meshmart-participants/0b1c2d3e',
};
// Small budgets keep the engine's real backoff sleeps short; the ASL gets the same attempt counts.
const DEFINITION = checkoutSaga({
  retry: { maxAttempts: 2, backoffMs: 1, maxBackoffMs: 2 },
  forwardRetry: { maxAttempts: 3, backoffMs: 1, maxBackoffMs: 2 },
});
const SAGA_ID = 'saga-7f3a';
const CONTEXT: CheckoutContext = {
  orderId: 'ord-42',
  userId: 'alice',
  paymentToken: 'tok_visa',
  items: [
    { productId: 'lamp-1', name: 'Lamp', unitPriceCents: 1999, quantity: 2 },
    { productId: 'mug/2', name: 'Mug', unitPriceCents: 899, quantity: 1 },
  ],
  totalCents: 4897,
  currency: 'EUR',
  reservationId: reservationIdFor(SAGA_ID),
};

/** A participant call as it reaches the wire, whoever made it. */
interface Call {
  readonly participant: string;
  readonly method: string;
  readonly path: string;
  readonly key: string | undefined;
  readonly body: unknown;
}

type Scenario = (participant: string, method: string, path: string) => Answer | undefined;

/** What every participant answers unless the scenario says otherwise. */
function answer(scenario: Scenario, participant: string, method: string, path: string): Answer {
  const special = scenario(participant, method, path);
  if (special) return special;
  if (participant === 'payments' && method === 'GET')
    return {
      status: 200,
      body: {
        items: [
          { id: 'pay-1', status: 'AUTHORIZED' },
          { id: 'pay-0', status: 'VOIDED' },
        ],
      },
    };
  if (participant === 'payments' && path === '/payments/authorizations')
    return { status: 201, body: { id: 'pay-1', status: 'AUTHORIZED' } };
  if (participant === 'cart') return { status: 200, body: { removed: true } };
  return { status: 200, body: { id: 'x', status: 'OK', version: 1 } };
}

const problem = (status: number, type: string, extra: Record<string, unknown> = {}): Answer => ({
  status,
  body: { type: `/problems/${type}`, title: type, status, detail: type, ...extra },
});

/** `special` for the first `times` calls that `match`, then the usual answers (each run gets a fresh count). */
const first =
  (times: number, match: (participant: string, method: string, path: string) => boolean, special: Answer) =>
  (): Scenario => {
    let left = times;
    return (p, m, path) => (match(p, m, path) && left-- > 0 ? special : undefined);
  };

/** The payment as GET /payments/pay-1 shows it. */
const paymentIs =
  (status: string): Scenario =>
  (_p, m, path) =>
    m === 'GET' && path === '/payments/pay-1' ? { status: 200, body: { id: 'pay-1', status } } : undefined;
const both =
  (...scenarios: Scenario[]): Scenario =>
  (p, m, path) => {
    for (const s of scenarios) {
      const a = s(p, m, path);
      if (a) return a;
    }
    return undefined;
  };
const isCapture = (_p: string, _m: string, path: string): boolean => path.endsWith('/capture');
const isVoid = (_p: string, _m: string, path: string): boolean => path.endsWith('/void');

/** Runs the engine with HttpParticipants against a real HTTP server playing the four participants. */
async function engineRun(
  definition: SagaDefinition<CheckoutContext>,
  scenario: Scenario,
): Promise<{ calls: Call[]; status: string }> {
  const calls: Call[] = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      const [, participant, ...rest] = (req.url ?? '').split('/');
      const path = `/${rest.join('/')}`;
      calls.push({
        participant,
        method: req.method ?? '',
        path,
        key: req.headers['idempotency-key'] as string | undefined,
        body: raw === '' ? undefined : JSON.parse(raw),
      });
      const a = answer(scenario, participant, req.method ?? '', path);
      const type = a.status >= 400 ? 'application/problem+json' : 'application/json';
      res.writeHead(a.status, a.body === undefined ? {} : { 'content-type': type });
      res.end(a.body === undefined ? undefined : JSON.stringify(a.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const participants = new HttpParticipants({
    ordersUrl: `${base}/orders`,
    inventoryUrl: `${base}/inventory`,
    paymentsUrl: `${base}/payments`,
    cartUrl: `${base}/cart`,
  });
  const repository = new InMemorySagaRepository<CheckoutContext>();
  const engine = new SagaEngine({
    definition,
    repository,
    participants,
    logger: createLogger({ service: 'checkout', level: 'silent' }),
    random: () => 0.5,
  });
  const now = new Date().toISOString();
  const saga: Saga<CheckoutContext> = {
    id: SAGA_ID,
    definition: definition.name,
    idempotencyKey: 'client-key',
    userId: CONTEXT.userId,
    orderId: CONTEXT.orderId,
    status: 'RUNNING',
    context: CONTEXT,
    steps: initialSteps(definition),
    log: [],
    lease: null,
    trace: {},
    createdAt: now,
    updatedAt: now,
  };
  try {
    await repository.create(saga, []);
    const done = await engine.run(SAGA_ID);
    return { calls, status: done?.status ?? 'missing' };
  } finally {
    await engine.close();
    await participants.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Walks the ASL with the same scenario and returns its calls in the same shape. */
async function aslRun(
  asl: ReturnType<typeof checkoutStateMachine>,
  scenario: Scenario,
  options: WalkOptions = {},
): Promise<{ calls: Call[]; end: string }> {
  const byHost = Object.fromEntries(Object.entries(OPTIONS.endpoints).map(([p, url]) => [url, p]));
  const parse = (url: string): { participant: string; path: string } => {
    const u = new URL(url);
    return { participant: byHost[u.origin], path: `${u.pathname}${u.search}` };
  };
  const { calls, end } = await walk(
    asl as unknown as Parameters<typeof walk>[0],
    { ...CONTEXT, sagaId: SAGA_ID },
    (call) => {
      const { participant, path } = parse(call.url);
      return answer(scenario, participant, call.method, path);
    },
    options,
  );
  return {
    end,
    calls: calls.map((c) => ({
      ...parse(c.url),
      method: c.method,
      key: c.headers['Idempotency-Key'],
      body: c.body,
    })),
  };
}

/** The engine's cancellation reason is its own message; the ASL's names the error. Both must give one. */
function withoutReason(calls: readonly Call[]): Call[] {
  return calls.map((c) => {
    if (!c.path.endsWith('/cancel')) return c;
    const { reason, ...rest } = c.body as { reason: unknown };
    expect(reason).to.be.a('string').and.not.equal('');
    return { ...c, body: rest };
  });
}

describe('checkout saga as Amazon States Language (services/checkout/src/aws/state-machine.ts)', function () {
  this.timeout(60_000);
  const asl = checkoutStateMachine(DEFINITION, OPTIONS);
  let moto: Moto;

  before(async () => {
    moto = await startMoto();
  });
  after(async () => {
    await moto?.stop();
  });

  it('when validated with asl-validator, then it has no errors; a broken copy has', () => {
    const result = validator(JSON.parse(JSON.stringify(asl)) as object);
    expect(result.errors, JSON.stringify(result.errors)).to.deep.equal([]);
    expect(result.isValid).to.equal(true);
    const broken = JSON.parse(JSON.stringify(asl)) as { States: Record<string, { Next?: string }> };
    broken.States[taskName('placeOrder', 'orders', 'place')].Next = 'NoSuchState';
    expect(validator(broken).isValid).to.equal(false);
  });

  it('when walked, then it has the same steps in the same order, the pivot marked, compensations in reverse', () => {
    const states = asl.States as Record<string, { Type: string; Comment?: string; Next?: string }>;
    const forward: string[] = [];
    for (let name = asl.StartAt as string; states[name].Type === 'Task'; name = states[name].Next!)
      forward.push(name);
    expect(forward).to.deep.equal(
      DEFINITION.steps.flatMap((s) => s.action.map((c) => taskName(s.name, c.participant, c.operation))),
    );
    const pivot = DEFINITION.steps.find((s) => s.pivot)!;
    expect(states[taskName(pivot.name, 'orders', 'confirm')].Comment).to.match(/^PIVOT/);

    // From the last step before the pivot, the compensation chain undoes every compensable step, last first.
    const pivotIndex = DEFINITION.steps.indexOf(pivot);
    const last = DEFINITION.steps[pivotIndex - 1];
    const transientCatch = (
      states[taskName(last.name, last.action[0].participant, last.action[0].operation)] as unknown as {
        Catch: { ErrorEquals: string[]; Next: string }[];
      }
    ).Catch[0];
    expect(transientCatch.ErrorEquals).to.deep.equal(TRANSIENT_ERRORS);
    const undone: string[] = [];
    for (let name = transientCatch.Next; name !== COMPENSATED;) {
      const s = states[name] as { Type: string; Next?: string; Default?: string };
      if (!name.endsWith(')')) undone.push(name);
      name = s.Type === 'Choice' ? `${name} (by id)` : name.endsWith('(by id)') ? s.Next! : s.Next!;
    }
    expect(undone).to.deep.equal(
      DEFINITION.steps
        .slice(0, pivotIndex)
        .filter((s) => s.compensation?.length)
        .reverse()
        .flatMap((s) => s.compensation!.map((c) => taskName(s.name, c.participant, c.operation, true))),
    );
  });

  it('when the retry policy is rendered, then attempts, backoff and cap follow each step (after the pivot: forwardRetry)', () => {
    const states = asl.States as Record<
      string,
      { Retry?: { MaxAttempts: number; MaxDelaySeconds: number }[] }
    >;
    for (const step of DEFINITION.steps) {
      for (const c of step.action) {
        const [rule] = states[taskName(step.name, c.participant, c.operation)].Retry!;
        expect(rule.MaxAttempts, step.name).to.equal(step.retry.maxAttempts - 1);
      }
    }
    const full = checkoutStateMachine(checkoutSaga({ forwardRetry: { maxAttempts: 20 } }), OPTIONS);
    const capture = (full.States as Record<string, { Retry: Record<string, unknown>[] }>)[
      taskName('capturePayment', 'payments', 'capture')
    ].Retry[0];
    expect(capture).to.include({ MaxAttempts: 19, IntervalSeconds: 1, MaxDelaySeconds: 5, BackoffRate: 2 });
  });

  /** Calls as compared: the engine repeats a whole operation, where the ASL repeats the one Task that failed. */
  type Compare = (calls: readonly Call[]) => Call[];
  const sameCalls: Compare = (calls) => [...calls];
  const READ_PAYMENT = 'GET /payments/pay-1';
  /** Keeps the first of the calls to `path` (a repeated step's calls the ASL does not repeat). */
  const once =
    (method: string, path: (p: string) => boolean): Compare =>
    (calls) =>
      calls.filter(
        (c, i) =>
          c.method !== method ||
          !path(c.path) ||
          calls.findIndex((d) => d.method === method && d.path === c.path) === i,
      );
  // The engine's void-by-order lists the order's payments again before each repeat; the ASL's Map repeats the void.
  const listedOnce = once('GET', (p) => p.startsWith('/payments?'));
  /** A scenario: its answers, the engine's end, the ASL's, and calls both must make (so the case is reached). */
  const scenarios: [string, () => Scenario, string, string, { compare?: Compare; made?: string[] }?][] = [
    ['every participant agrees', () => () => undefined, 'COMPLETED', SUCCEEDED],
    [
      'the card is declined',
      () => (_p, _m, path) =>
        path === '/payments/authorizations'
          ? problem(402, 'payment-declined', { reason: 'card_declined' })
          : undefined,
      'COMPENSATED',
      COMPENSATED,
    ],
    [
      'stock runs out',
      () => (_p, _m, path) =>
        path === '/reservations' ? problem(409, 'out-of-stock', { products: ['lamp-1'] }) : undefined,
      'COMPENSATED',
      COMPENSATED,
    ],
    [
      'payments stays down while authorizing (the answer may be lost: void what the order has authorized)',
      () => (_p, _m, path) => (path === '/payments/authorizations' ? problem(503, 'unavailable') : undefined),
      'COMPENSATED',
      COMPENSATED,
    ],
    [
      'orders refuses the payment record after the authorization (void by id)',
      () => (_p, _m, path) =>
        path.endsWith('/payment-authorized') ? problem(409, 'invalid-transition') : undefined,
      'COMPENSATED',
      COMPENSATED,
    ],
    [
      'capture keeps failing after the pivot',
      () => (_p, _m, path) => (path.endsWith('/capture') ? problem(503, 'unavailable') : undefined),
      'FAILED',
      NEEDS_OPERATOR,
    ],
    [
      'the cart cannot be cleared (best effort)',
      () => (p) => (p === 'cart' ? problem(503, 'unavailable') : undefined),
      'COMPLETED',
      SUCCEEDED,
    ],
    [
      'the card is declined and the reservation is already gone (404: nothing to undo, the order is still cancelled)',
      () => (_p, _m, path) =>
        path === '/payments/authorizations'
          ? problem(402, 'payment-declined', { reason: 'card_declined' })
          : path.endsWith('/release')
            ? problem(404, 'not-found')
            : undefined,
      'COMPENSATED',
      COMPENSATED,
      { made: ['POST /orders/ord-42/cancel'] },
    ],
    [
      'payments answers the capture 409 request-in-progress once (a crashed call holds the key), then captures',
      first(1, isCapture, problem(409, 'request-in-progress')),
      'COMPLETED',
      SUCCEEDED,
    ],
    [
      'inventory answers the reservation 409 reservation-pending once, then reserves',
      first(
        1,
        (_p, m, path) => m === 'POST' && path === '/reservations',
        problem(409, 'reservation-pending'),
      ),
      'COMPLETED',
      SUCCEEDED,
    ],
    [
      'the reservation stays pending (retries run out: the reservation is released too)',
      first(
        99,
        (_p, m, path) => m === 'POST' && path === '/reservations',
        problem(409, 'reservation-pending'),
      ),
      'COMPENSATED',
      COMPENSATED,
    ],
    [
      'the capture is refused because the payment is already CAPTURED (a crashed call captured it)',
      () => both(first(1, isCapture, problem(409, 'invalid-transition'))(), paymentIs('CAPTURED')),
      'COMPLETED',
      SUCCEEDED,
      { made: [READ_PAYMENT] },
    ],
    [
      'the capture is refused and the payment is not CAPTURED',
      () => both(first(1, isCapture, problem(409, 'invalid-transition'))(), paymentIs('AUTHORIZED')),
      'FAILED',
      NEEDS_OPERATOR,
      { made: [READ_PAYMENT] },
    ],
    [
      'the void (by id) is refused because the payment is already VOIDED',
      () =>
        both(
          // Retries run out on recording the authorization: this step is undone too, its payment voided by id.
          (_p, _m, path) => (path.endsWith('/payment-authorized') ? problem(503, 'unavailable') : undefined),
          first(1, isVoid, problem(409, 'invalid-transition'))(),
          paymentIs('VOIDED'),
        ),
      'COMPENSATED',
      COMPENSATED,
      // The engine repeats the authorization with the step, the ASL only the Task that failed (same key: no new one).
      {
        compare: once('POST', (p) => p === '/payments/authorizations'),
        made: ['POST /payments/pay-1/void', READ_PAYMENT],
      },
    ],
    [
      "the void of an order's payment (by order) answers request-in-progress once, then voids",
      () =>
        both(
          (_p, _m, path) => (path === '/payments/authorizations' ? problem(503, 'unavailable') : undefined),
          first(1, isVoid, problem(409, 'request-in-progress'))(),
        ),
      'COMPENSATED',
      COMPENSATED,
      { compare: listedOnce, made: ['POST /payments/pay-1/void'] },
    ],
    [
      "the void of an order's payment (by order) is refused because it is already VOIDED",
      () =>
        both(
          (_p, _m, path) => (path === '/payments/authorizations' ? problem(503, 'unavailable') : undefined),
          first(1, isVoid, problem(409, 'invalid-transition'))(),
          paymentIs('VOIDED'),
        ),
      'COMPENSATED',
      COMPENSATED,
      { made: [READ_PAYMENT] },
    ],
  ];
  for (const [what, scenario, engineStatus, aslEnd, { compare = sameCalls, made = [] } = {}] of scenarios) {
    it(`when ${what}, then the ASL makes the engine's calls — participants, paths, bodies, keys, retries — in its order`, async () => {
      const engine = await engineRun(DEFINITION, scenario());
      const machine = await aslRun(asl, scenario());
      expect(engine.status).to.equal(engineStatus);
      expect(machine.end).to.equal(aslEnd);
      expect(engine.calls.length).to.be.greaterThan(0);
      expect(engine.calls.every((c) => (PARTICIPANTS as readonly string[]).includes(c.participant))).to.equal(
        true,
      );
      expect(compare(withoutReason(machine.calls))).to.deep.equal(compare(withoutReason(engine.calls)));
      const seen = engine.calls.map((c) => `${c.method} ${c.path}`);
      for (const call of made) expect(seen, call).to.include(call);
    });
  }

  it('when a step is allowed one attempt and answered "still in progress", then both give up at once the same way', async () => {
    const single = checkoutSaga({
      retry: { maxAttempts: 1, backoffMs: 1, maxBackoffMs: 2 },
      forwardRetry: { maxAttempts: 1, backoffMs: 1, maxBackoffMs: 2 },
    });
    const scenario = first(
      99,
      (_p, m, path) => m === 'POST' && path === '/reservations',
      problem(409, 'reservation-pending'),
    );
    const engine = await engineRun(single, scenario());
    const machine = await aslRun(checkoutStateMachine(single, OPTIONS), scenario());
    expect(engine.status).to.equal('COMPENSATED');
    expect(machine.end).to.equal(COMPENSATED);
    expect(engine.calls.filter((c) => c.path === '/reservations')).to.have.length(1);
    expect(withoutReason(machine.calls)).to.deep.equal(withoutReason(engine.calls));
  });

  it('when the 409 Cause does not carry the problem type, then "still in progress" is taken for a refusal (as before) and an already CAPTURED payment still counts as captured', async () => {
    const statusTextOnly: WalkOptions = { cause: () => 'Conflict' };
    const inProgress = await aslRun(
      asl,
      first(1, isCapture, problem(409, 'request-in-progress'))(),
      statusTextOnly,
    );
    expect(inProgress.end).to.equal(NEEDS_OPERATOR);
    const captured = await aslRun(
      asl,
      both(first(1, isCapture, problem(409, 'invalid-transition'))(), paymentIs('CAPTURED')),
      statusTextOnly,
    );
    expect(captured.end).to.equal(SUCCEEDED);
    expect(captured.calls.filter((c) => c.method === 'GET').map((c) => c.path)).to.deep.equal([
      '/payments/pay-1',
    ]);
  });

  it("when created in moto's Step Functions, then it is stored with its definition", async () => {
    const post = async (target: string, body: unknown): Promise<Record<string, unknown>> => {
      const res = await fetch(moto.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': `AWSStepFunctions.${target}`,
          authorization:
            'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/eu-west-1/states/aws4_request, SignedHeaders=host, Signature=0',
        },
        body: JSON.stringify(body),
      });
      const json = (await res.json()) as Record<string, unknown>;
      expect(res.status, JSON.stringify(json)).to.equal(200);
      return json;
    };
    const definition = JSON.stringify(asl);
    const created = await post('CreateStateMachine', {
      name: 'meshmart-checkout',
      definition,
      roleArn: 'arn:aws:iam::123456789012:role/meshmart-checkout-sfn',
      type: 'STANDARD',
    });
    expect(created.stateMachineArn).to.match(
      /^arn:aws:states:eu-west-1:\d{12}:stateMachine:meshmart-checkout$/,
    );
    const described = await post('DescribeStateMachine', { stateMachineArn: created.stateMachineArn });
    expect(JSON.parse(described.definition as string)).to.deep.equal(asl);
  });
});
