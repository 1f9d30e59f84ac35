import type { RetryPolicy, SagaDefinition, StepDefinition } from '../domain/saga-definition.ts';

/**
 * The checkout saga (a SagaDefinition: data) as an AWS Step Functions state machine in Amazon States Language, query
 * language JSONata: one HTTP Task (`arn:aws:states:::http:invoke`) per participant call, the calls' bodies, paths and
 * Idempotency-Keys as the engine and HttpParticipants send them, Retry from each step's policy, Catch into the
 * compensations in reverse order, the pivot marked. The execution input is the saga's context plus `sagaId`.
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
      states[name] = task(step, c.participant, c.operation, false, next, {
        ...(step.pivot ? { Comment: `PIVOT: once ${step.name} succeeds the saga only moves forward` } : {}),
        Retry: [retry(step.retry)],
        Catch: onFailure,
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
          { ErrorEquals: ['States.Http.StatusCode.404'], Next: next, Comment: 'nothing to undo' },
          { ErrorEquals: ['States.ALL'], Next: COMPENSATION_FAILED, Output: failureOutput() },
        ],
      });
      if (`${c.participant}.${c.operation}` === 'payments.voidAuthorization') {
        // The authorization's answer may have been lost: then void every payment the order has authorized.
        addVoidByOrder(states, name, compensationTask, next, options, step, timeout);
      } else states[name] = compensationTask;
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
    Retry: [retry(step.compensationRetry ?? step.retry)],
    Catch: [failed],
    Output: `{% $merge([$states.input, {"authorized": [$states.result.ResponseBody.items[status = "AUTHORIZED"].id]}]) %}`,
    Next: each,
  };
  states[each] = {
    Type: 'Map',
    Items: '{% $states.input.authorized %}',
    ItemSelector: {
      paymentId: '{% $states.context.Map.Item.Value %}',
      key: `{% $states.input.sagaId & ${JSON.stringify(`:${key}:`)} & $states.context.Map.Item.Value %}`,
    },
    MaxConcurrency: 1,
    ItemProcessor: {
      ProcessorConfig: { Mode: 'INLINE' },
      StartAt: 'Void',
      States: {
        Void: {
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
          Retry: [retry(step.compensationRetry ?? step.retry)],
          End: true,
        },
      },
    },
    Output: '{% $states.input %}',
    Catch: [failed],
    Next: next,
  };
}
