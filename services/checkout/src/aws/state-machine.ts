import type { RetryPolicy, SagaDefinition, StepDefinition } from '../domain/saga-definition.ts';

/**
 * The checkout saga (a SagaDefinition: data) as an AWS Step Functions state machine in Amazon States Language, query
 * language JSONata: one HTTP Task (`arn:aws:states:::http:invoke`) per participant call, the calls' bodies, paths and
 * Idempotency-Keys as the engine and HttpParticipants send them, Retry from each step's policy, a 409 sorted as
 * HttpParticipants sorts it (still in progress, already captured or voided, refused), Catch into the compensations in
 * reverse order, the pivot marked. The execution input is the saga's context plus `sagaId`.
 *
 * Not imported by the service: `make step-functions` (scripts/step-functions.ts) writes it for a team moving
 * orchestration to Step Functions.
 */
export interface StateMachineOptions {
  /** Base URL of each participant, HTTPS (an HTTP Task calls HTTPS endpoints only). */
  readonly endpoints: Readonly<Record<'orders' | 'inventory' | 'payments' | 'cart', string>>;
  /**
   * EventBridge connection the HTTP Tasks authenticate with (and, for private endpoints, reach the VPC through a VPC
   * Lattice resource configuration).
   */
  readonly connectionArn: string;
  /** Seconds one HTTP call may take before States.Timeout. @default 10 */
  readonly taskTimeoutSeconds?: number;
}

/** One participant call over HTTP: JSONata over `$c` (the saga's context: the state's input). */
interface HttpCall {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  readonly body?: string;
  /** Merged into the context from the answer (`$r` is the response body). */
  readonly output?: string;
}

const enc = (expr: string): string => `$encodeUrlComponent(${expr})`;

/**
 * How each operation of `Participants` goes over the wire: the same method, path and body as HttpParticipants
 * (services/checkout/src/adapters/http-participants.ts); a test drives both and compares what arrives.
 */
export const HTTP_CALLS: Readonly<Record<string, HttpCall>> = {
  'orders.place': {
    method: 'POST',
    path: `'/orders'`,
    body: `{'orderId': $c.orderId, 'userId': $c.userId, 'items': $c.items, 'currency': $c.currency}`,
  },
  'orders.stockReserved': {
    method: 'POST',
    path: `'/orders/' & ${enc('$c.orderId')} & '/stock-reserved'`,
    body: `{'reservationId': $c.reservationId}`,
  },
  'orders.paymentAuthorized': {
    method: 'POST',
    path: `'/orders/' & ${enc('$c.orderId')} & '/payment-authorized'`,
    body: `{'paymentId': $c.paymentId}`,
  },
  'orders.confirm': { method: 'POST', path: `'/orders/' & ${enc('$c.orderId')} & '/confirm'`, body: '{}' },
  'orders.cancel': {
    method: 'POST',
    path: `'/orders/' & ${enc('$c.orderId')} & '/cancel'`,
    body: `{'reason': $exists($c.failure) ? 'checkout failed: ' & $c.failure.Error : 'checkout failed'}`,
  },
  'inventory.reserve': {
    method: 'POST',
    path: `'/reservations'`,
    body: `{'reservationId': $c.reservationId, 'orderId': $c.orderId, 'items': [$c.items.{'productId': productId, 'quantity': quantity}]}`,
  },
  'inventory.commit': {
    method: 'POST',
    path: `'/reservations/' & ${enc('$c.reservationId')} & '/commit'`,
    body: '{}',
  },
  'inventory.release': {
    method: 'POST',
    path: `'/reservations/' & ${enc('$c.reservationId')} & '/release'`,
    body: '{}',
  },
  'payments.authorize': {
    method: 'POST',
    path: `'/payments/authorizations'`,
    body: `{'orderId': $c.orderId, 'amountCents': $c.totalCents, 'currency': $c.currency, 'paymentToken': $c.paymentToken}`,
    output: `{'paymentId': $r.id}`,
  },
  'payments.capture': {
    method: 'POST',
    path: `'/payments/' & ${enc('$c.paymentId')} & '/capture'`,
    body: '{}',
  },
  'payments.voidAuthorization': {
    method: 'POST',
    path: `'/payments/' & ${enc('$c.paymentId')} & '/void'`,
    body: '{}',
  },
  'cart.removeBought': {
    method: 'POST',
    path: `'/carts/' & ${enc('$c.userId')} & '/bought'`,
    body: `{'orderId': $c.orderId, 'items': [$c.items.{'productId': productId, 'quantity': quantity}]}`,
  },
};

/** Answers that mean "try again": the engine's transient failures (5xx, 408, 429, timeouts, unreachable). */
export const TRANSIENT_ERRORS: readonly string[] = [
  'States.Http.StatusCode.408',
  'States.Http.StatusCode.429',
  'States.Http.StatusCode.500',
  'States.Http.StatusCode.502',
  'States.Http.StatusCode.503',
  'States.Http.StatusCode.504',
  'States.Timeout',
];

/** The error a participant's 409 raises: a refusal, or "the same request is still being made" (see IN_PROGRESS). */
export const CONFLICT = 'States.Http.StatusCode.409';

/**
 * Problem types of a 409 that says "not yet" rather than "no" (HttpParticipants' IN_PROGRESS): the engine retries
 * them like a 5xx. A Retry matches error names only, so a Catch on 409 looks for them in the error's Cause.
 */
export const IN_PROGRESS: readonly string[] = ['request-in-progress', 'reservation-pending'];

export const SUCCEEDED = 'CheckoutCompleted';
export const COMPENSATED = 'CheckoutCompensated';
export const COMPENSATION_FAILED = 'CompensationFailed';
export const NEEDS_OPERATOR = 'FailedAfterPivot';

/** `reserveStock: inventory.reserve`: the state of one call of a step (or of its compensation). */
export function taskName(step: string, participant: string, operation: string, compensation = false): string {
  return `${compensation ? 'Undo ' : ''}${step}: ${participant}.${operation}`;
}

type State = Record<string, unknown>;

/** The ASL document (a plain object; JSON.stringify it for Step Functions). */
export function checkoutStateMachine<C>(
  definition: SagaDefinition<C>,
  options: StateMachineOptions,
): Record<string, unknown> {
  const timeout = options.taskTimeoutSeconds ?? 10;
  const states: Record<string, State> = {};
  const steps = definition.steps;
  const pivotIndex = steps.findIndex((s) => s.pivot);

  /** First state of the compensations that run once step `i` and those before it are to be undone. */
  const undoFrom = (i: number): string => {
    for (let j = i; j >= 0; j--) {
      const comp = steps[j].compensation ?? [];
      if (comp.length > 0) return taskName(steps[j].name, comp[0].participant, comp[0].operation, true);
    }
    return COMPENSATED;
  };
  const firstOf = (i: number): string =>
    i < steps.length
      ? taskName(steps[i].name, steps[i].action[0].participant, steps[i].action[0].operation)
      : SUCCEEDED;

  const task = (
    step: StepDefinition<C>,
    participant: string,
    operation: string,
    compensation: boolean,
    next: string,
    extra: State,
  ): State => {
    const http = HTTP_CALLS[`${participant}.${operation}`];
    if (!http)
      throw new Error(
        `checkoutStateMachine: no HTTP mapping for ${participant}.${operation}; add it to HTTP_CALLS in services/checkout/src/aws/state-machine.ts`,
      );
    const key = `${step.name}${compensation ? ':compensation' : ''}:${participant}.${operation}`;
    const args: State = {
      ApiEndpoint: `{% ${JSON.stringify(options.endpoints[participant as keyof StateMachineOptions['endpoints']])} & (${bind(http.path)}) %}`,
      Method: http.method,
      Authentication: { ConnectionArn: options.connectionArn },
      Headers: {
        'Content-Type': 'application/json',
        'Idempotency-Key': `{% $states.input.sagaId & ${JSON.stringify(`:${key}`)} %}`,
      },
      ...(http.body ? { RequestBody: `{% ${bind(http.body)} %}` } : {}),
    };
    return {
      Type: 'Task',
      Resource: 'arn:aws:states:::http:invoke',
      Arguments: args,
      TimeoutSeconds: timeout,
      Output: http.output
        ? `{% $merge([$states.input, (${bind(http.output).replace(/\$r\b/g, '$states.result.ResponseBody')})]) %}`
        : '{% $states.input %}',
      Next: next,
      ...extra,
    };
  };

  steps.forEach((step, i) => {
    const afterPivot = pivotIndex >= 0 && i > pivotIndex;
    step.action.forEach((c, k) => {
      const name = taskName(step.name, c.participant, c.operation);
      const next =
        k + 1 < step.action.length
          ? taskName(step.name, step.action[k + 1].participant, step.action[k + 1].operation)
          : firstOf(i + 1);
      const onFailure = step.bestEffort
        ? [{ ErrorEquals: ['States.ALL'], Next: firstOf(i + 1), Comment: 'best effort: skipped' }]
        : afterPivot || step.pivot
          ? [{ ErrorEquals: ['States.ALL'], Next: NEEDS_OPERATOR, Output: failureOutput() }]
          : [
              // Still retryable when retries ran out: the effect is unknown, so this step is undone too.
              { ErrorEquals: [...TRANSIENT_ERRORS], Next: undoFrom(i), Output: failureOutput() },
              // A refusal changed nothing here: only the steps before are undone.
              { ErrorEquals: ['States.ALL'], Next: undoFrom(i - 1), Output: failureOutput() },
            ];
      const forward = task(step, c.participant, c.operation, false, next, {
        ...(step.pivot ? { Comment: `PIVOT: once ${step.name} succeeds the saga only moves forward` } : {}),
        Retry: [retry(step.retry)],
        Catch: onFailure,
      });
      addNotYet(states, name, forward, step.retry, {
        ...(`${c.participant}.${c.operation}` === 'payments.capture'
          ? { confirm: { status: 'CAPTURED', paymentId: '$states.input.paymentId', done: next } }
          : {}),
        options,
        timeout,
      });
    });

    const comp = step.compensation ?? [];
    comp.forEach((c, k) => {
      const name = taskName(step.name, c.participant, c.operation, true);
      const next =
        k + 1 < comp.length
          ? taskName(step.name, comp[k + 1].participant, comp[k + 1].operation, true)
          : undoFrom(i - 1);
      const compensationTask = task(step, c.participant, c.operation, true, next, {
        Retry: [retry(step.compensationRetry ?? step.retry)],
        Catch: [
          // Output: without it a Catch passes on the error output, and the next compensation would lose the context.
          {
            ErrorEquals: ['States.Http.StatusCode.404'],
            Next: next,
            Comment: 'nothing to undo',
            Output: '{% $states.input %}',
          },
          { ErrorEquals: ['States.ALL'], Next: COMPENSATION_FAILED, Output: failureOutput() },
        ],
      });
      const policy = step.compensationRetry ?? step.retry;
      if (`${c.participant}.${c.operation}` === 'payments.voidAuthorization') {
        // The authorization's answer may have been lost: then void every payment the order has authorized.
        addVoidByOrder(states, name, compensationTask, next, options, step, timeout);
        addNotYet(states, `${name} (by id)`, compensationTask, policy, {
          confirm: { status: 'VOIDED', paymentId: '$states.input.paymentId', done: next },
          options,
          timeout,
        });
      } else addNotYet(states, name, compensationTask, policy, { options, timeout });
    });
  });

  states[SUCCEEDED] = { Type: 'Succeed' };
  states[COMPENSATED] = {
    Type: 'Fail',
    Error: 'CheckoutCompensated',
    Cause: '{% $exists($states.input.failure) ? $string($states.input.failure) : "compensated" %}',
  };
  states[COMPENSATION_FAILED] = {
    Type: 'Fail',
    Error: 'CompensationFailed',
    Cause: '{% $string($states.input.failure) %}',
    Comment: 'a compensation was refused or kept failing: needs an operator',
  };
  states[NEEDS_OPERATOR] = {
    Type: 'Fail',
    Error: 'FailedAfterPivot',
    Cause: '{% $string($states.input.failure) %}',
    Comment: 'the order is confirmed; a later step kept failing: needs an operator, never compensated',
  };

  return {
    Comment: `The ${definition.name} saga (services/checkout/src/domain/checkout-saga.ts), generated by services/checkout/src/aws/state-machine.ts; input: the saga context plus sagaId`,
    QueryLanguage: 'JSONata',
    StartAt: firstOf(0),
    States: states,
  };
}

/** The engine's policy in ASL: maxAttempts counts the first try, MaxAttempts does not; intervals are whole seconds. */
function retry(policy: RetryPolicy): State {
  return {
    ErrorEquals: [...TRANSIENT_ERRORS],
    IntervalSeconds: Math.max(1, Math.round(policy.backoffMs / 1_000)),
    MaxAttempts: policy.maxAttempts - 1,
    BackoffRate: 2,
    MaxDelaySeconds: Math.max(1, Math.ceil(policy.maxBackoffMs / 1_000)),
    JitterStrategy: 'FULL',
  };
}

function failureOutput(): string {
  return '{% $merge([$states.input, {"failure": $states.errorOutput}]) %}';
}

/** `$c` is the state's input inside the Tasks. */
function bind(expr: string): string {
  return expr.replace(/\$c\b/g, '$states.input');
}

/** Choice on paymentId: void it, or list the order's AUTHORIZED payments and void each (as HttpParticipants does). */
function addVoidByOrder<C>(
  states: Record<string, State>,
  name: string,
  voidTask: State,
  next: string,
  options: StateMachineOptions,
  step: StepDefinition<C>,
  timeout: number,
): void {
  const key = `${step.name}:compensation:payments.voidAuthorization`;
  const list = `${name} (list)`;
  const each = `${name} (each)`;
  const failed = (voidTask.Catch as State[]).at(-1)!;
  const policy = step.compensationRetry ?? step.retry;
  states[name] = {
    Type: 'Choice',
    Choices: [{ Condition: '{% $exists($states.input.paymentId) %}', Next: `${name} (by id)` }],
    Default: list,
  };
  states[`${name} (by id)`] = voidTask;
  states[list] = {
    Type: 'Task',
    Resource: 'arn:aws:states:::http:invoke',
    Arguments: {
      ApiEndpoint: `{% ${JSON.stringify(options.endpoints.payments)} & '/payments' %}`,
      Method: 'GET',
      Authentication: { ConnectionArn: options.connectionArn },
      QueryParameters: { orderId: '{% $states.input.orderId %}' },
    },
    TimeoutSeconds: timeout,
    Retry: [retry(policy)],
    Catch: [failed],
    Output: `{% $merge([$states.input, {"authorized": [$states.result.ResponseBody.items[status = "AUTHORIZED"].id]}]) %}`,
    Next: each,
  };
  // One iteration per payment; a failure fails the Map, whose Catch ends the compensations.
  const inner: Record<string, State> = {
    Voided: { Type: 'Succeed' },
    'Void failed': {
      Type: 'Fail',
      Error: '{% $states.input.failure.Error %}',
      Cause: '{% $string($states.input.failure) %}',
    },
  };
  const voidEach: State = {
    Type: 'Task',
    Resource: 'arn:aws:states:::http:invoke',
    Arguments: {
      ApiEndpoint: `{% ${JSON.stringify(options.endpoints.payments)} & '/payments/' & $encodeUrlComponent($states.input.paymentId) & '/void' %}`,
      Method: 'POST',
      Authentication: { ConnectionArn: options.connectionArn },
      Headers: { 'Content-Type': 'application/json', 'Idempotency-Key': '{% $states.input.key %}' },
      RequestBody: '{% {} %}',
    },
    TimeoutSeconds: timeout,
    Retry: [retry(policy)],
    Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Void failed', Output: failureOutput() }],
    Next: 'Voided',
  };
  addNotYet(inner, 'Void', voidEach, policy, {
    confirm: { status: 'VOIDED', paymentId: '$states.input.paymentId', done: 'Voided' },
    options,
    timeout,
  });
  states[each] = {
    Type: 'Map',
    Items: '{% $states.input.authorized %}',
    ItemSelector: {
      paymentId: '{% $states.context.Map.Item.Value %}',
      key: `{% $states.input.sagaId & ${JSON.stringify(`:${key}:`)} & $states.context.Map.Item.Value %}`,
    },
    MaxConcurrency: 1,
    ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, StartAt: 'Void', States: inner },
    Output: '{% $states.input %}',
    Catch: [failed],
    Next: next,
  };
}

/** The error output a 409 Catch keeps while the next states decide what the 409 meant; gone once they have. */
const NOT_YET = 'notYet';
const withoutNotYet = `($states.input ~> | $ | {}, ['${NOT_YET}'] |)`;

interface NotYetOptions {
  /**
   * The payment state that means the call's effect is already there (HttpParticipants: a capture refused on a
   * CAPTURED payment, a void refused on a VOIDED one, succeeded): after a 409 that is not "still in progress" the
   * payment is read, and in that state the call goes on to `done`.
   */
  readonly confirm?: {
    readonly status: 'CAPTURED' | 'VOIDED';
    readonly paymentId: string;
    readonly done: string;
  };
  readonly options: StateMachineOptions;
  readonly timeout: number;
}

/**
 * Adds HTTP Task `call` as `name`, with what HttpParticipants does with a 409: a Catch on 409 into a Choice that
 * looks in the error's Cause for an IN_PROGRESS problem type. Still in progress: the same call again, its Retry
 * taking 409 too (the same Idempotency-Key, so a repeat is safe; a later 409 refusal is replayed, costing only
 * time) and, when that runs out, the call's "retries exhausted" path. Otherwise (or when the Cause does not say):
 * with `confirm`, the payment is read first; then the path the call's Catch takes for any refusal.
 */
function addNotYet(
  states: Record<string, State>,
  name: string,
  call: State,
  policy: RetryPolicy,
  { confirm, options, timeout }: NotYetOptions,
): void {
  const catchers = call.Catch as State[];
  const refusal = catchers.find((c) => (c.ErrorEquals as string[]).includes('States.ALL'))!;
  const exhausted = catchers.find((c) => (c.ErrorEquals as string[]).includes('States.Timeout'));
  const decide = `${name} (409)`;
  const again = `${name} (again)`;
  const refused = `${name} (refused)`;
  const check = `${name} (read payment)`;
  const keep: State = {
    ErrorEquals: [CONFLICT],
    Next: decide,
    Output: `{% $merge([$states.input, {"${NOT_YET}": $states.errorOutput}]) %}`,
  };
  const allAt = catchers.indexOf(refusal);
  states[name] = { ...call, Catch: [...catchers.slice(0, allAt), keep, ...catchers.slice(allAt)] };

  const pattern = `/\\b(${IN_PROGRESS.join('|')})\\b/`;
  states[decide] = {
    Type: 'Choice',
    Comment:
      'a 409 saying the same request is still being made is retried, as the engine does; any other is a refusal',
    Choices: [
      {
        Condition: `{% $type($states.input.${NOT_YET}.Cause) = "string" and $contains($states.input.${NOT_YET}.Cause, ${pattern}) %}`,
        Next: again,
      },
    ],
    Default: confirm ? check : refused,
  };

  const rule = retry(policy);
  const clean = (output: unknown): unknown =>
    typeof output === 'string' ? output.replace(/\$states\.input\b(?!\.)/g, withoutNotYet) : output;
  states[again] = {
    ...call,
    // The call answered "not yet" once already: what is left of the step's attempts after this one.
    Retry: [
      {
        ...rule,
        ErrorEquals: [...(rule.ErrorEquals as string[]), CONFLICT],
        MaxAttempts: Math.max(0, policy.maxAttempts - 2),
      },
    ],
    Output: clean(call.Output ?? '{% $states.input %}'),
    Catch: catchers.map((c) => {
      const out = { ...c, ...(c.Output ? { Output: clean(c.Output) } : {}) };
      if (c === exhausted) return { ...out, ErrorEquals: [...(c.ErrorEquals as string[]), CONFLICT] };
      if (c === refusal && confirm)
        return { ...out, ErrorEquals: [CONFLICT], Next: check, Output: keep.Output };
      return out;
    }),
  };
  if (confirm) (states[again].Catch as State[]).push({ ...refusal, Output: clean(refusal.Output) });

  // The 409 taken as the call's own Catch `c` would have taken it: its error output, or the input with `failure` set.
  const passOn = (c: State): State => ({
    Type: 'Pass',
    Output: c.Output
      ? `{% $merge([${withoutNotYet}, {"failure": $states.input.${NOT_YET}}]) %}`
      : `{% $states.input.${NOT_YET} %}`,
    Next: c.Next,
  });
  states[refused] = passOn(refusal);
  // A step allowed one attempt gives up on "not yet" at once, as the engine does.
  if (policy.maxAttempts < 2) {
    const choice = (states[decide].Choices as State[])[0];
    choice.Next = `${name} (given up)`;
    states[choice.Next as string] = passOn(exhausted ?? refusal);
    delete states[again];
  }
  if (!confirm) return;
  const confirmed = `${name} (${confirm.status.toLowerCase()} already)`;
  const done = `${name} (done)`;
  states[check] = {
    Type: 'Task',
    Resource: 'arn:aws:states:::http:invoke',
    Arguments: {
      ApiEndpoint: `{% ${JSON.stringify(options.endpoints.payments)} & '/payments/' & $encodeUrlComponent(${confirm.paymentId}) %}`,
      Method: 'GET',
      Authentication: { ConnectionArn: options.connectionArn },
    },
    TimeoutSeconds: timeout,
    Retry: [rule],
    Output: `{% $merge([$states.input, {"${NOT_YET}": $merge([$states.input.${NOT_YET}, {"paymentStatus": $states.result.ResponseBody.status}])}]) %}`,
    Catch: [{ ...refusal, ...(refusal.Output ? { Output: clean(refusal.Output) } : {}) }],
    Next: confirmed,
  };
  states[confirmed] = {
    Type: 'Choice',
    Comment: `already ${confirm.status} is what was asked: the call succeeded (HttpParticipants does the same)`,
    Choices: [
      { Condition: `{% $states.input.${NOT_YET}.paymentStatus = "${confirm.status}" %}`, Next: done },
    ],
    Default: refused,
  };
  states[done] = { Type: 'Pass', Output: `{% ${withoutNotYet} %}`, Next: confirm.done };
}
