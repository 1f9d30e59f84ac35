import jsonata from 'jsonata';

/** One HTTP call an HTTP Task would make. */
export interface WalkedCall {
  readonly method: string;
  /** ApiEndpoint plus the query string. */
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: unknown;
}

export interface Answer {
  readonly status: number;
  readonly body?: unknown;
}

type State = Record<string, any>;

export interface WalkOptions {
  /**
   * The Cause of the error a non-2xx answer raises (its Error is `States.Http.StatusCode.<status>`). @default the
   * response body as a JSON string (`HTTP <status>` without one)
   */
  readonly cause?: (answer: Answer) => string;
}

/**
 * Runs an ASL (JSONata) state machine the way Step Functions would for Task (`http:invoke`), Choice, Pass, Map,
 * Succeed and Fail states: JSONata expressions evaluated with `$states`, Retry (attempts only; no waiting) and Catch
 * matched on `States.Http.StatusCode.<status>`, a failed Map iteration failing the Map with its error. Every HTTP
 * call goes to `answer`. Returns the calls in order and the final state's name.
 */
export async function walk(
  machine: { StartAt: string; States: Record<string, State> },
  input: unknown,
  answer: (call: WalkedCall) => Answer,
  options: WalkOptions = {},
): Promise<{ calls: WalkedCall[]; end: string; output: unknown }> {
  const calls: WalkedCall[] = [];
  const causeOf =
    options.cause ?? ((a: Answer) => (a.body === undefined ? `HTTP ${a.status}` : JSON.stringify(a.body)));
  const run = async (
    m: { StartAt: string; States: Record<string, State> },
    data: unknown,
    context: Record<string, unknown>,
  ): Promise<{ end: string; output: unknown; error?: { Error: string; Cause: string } }> => {
    let name = m.StartAt;
    let current = data;
    for (let hops = 0; hops < 1_000; hops++) {
      const state = m.States[name];
      if (!state) throw new Error(`walk: no state '${name}'`);
      const states = { input: current, context };
      switch (state.Type) {
        case 'Succeed':
          return { end: name, output: current };
        case 'Fail':
          return {
            end: name,
            output: current,
            error: {
              Error: (await evaluate(state.Error, { states })) as string,
              Cause: (await evaluate(state.Cause, { states })) as string,
            },
          };
        case 'Pass':
          current = await evaluate(state.Output ?? '{% $states.input %}', { states });
          if (state.End) return { end: name, output: current };
          name = state.Next as string;
          break;
        case 'Choice': {
          let next = state.Default as string;
          for (const choice of state.Choices as State[]) {
            if ((await evaluate(choice.Condition, { states })) === true) {
              next = choice.Next as string;
              break;
            }
          }
          name = next;
          break;
        }
        case 'Map': {
          const items = (await evaluate(state.Items, { states })) as unknown[];
          const results: unknown[] = [];
          let failed: { Error: string; Cause: string } | undefined;
          for (const [index, value] of items.entries()) {
            const itemContext = { ...context, Map: { Item: { Index: index, Value: value } } };
            const selected = await evaluate(state.ItemSelector, {
              states: { input: current, context: itemContext },
            });
            const iteration = await run(state.ItemProcessor, selected, itemContext);
            if (iteration.error) {
              failed = iteration.error;
              break;
            }
            results.push(iteration.output);
          }
          if (failed) {
            const caught = ((state.Catch ?? []) as State[]).find((c) => matches(c.ErrorEquals, failed.Error));
            if (!caught) return { end: `${name} (uncaught ${failed.Error})`, output: current, error: failed };
            current = caught.Output
              ? await evaluate(caught.Output, { states: { ...states, errorOutput: failed } })
              : failed;
            name = caught.Next as string;
            break;
          }
          current = await evaluate(state.Output, { states: { ...states, result: results } });
          name = state.Next as string;
          break;
        }
        case 'Task': {
          if (state.Resource !== 'arn:aws:states:::http:invoke')
            throw new Error(`walk: ${name}: not an HTTP Task`);
          const args = (await evaluate(state.Arguments, { states })) as State;
          const query = new URLSearchParams(
            (args.QueryParameters ?? {}) as Record<string, string>,
          ).toString();
          const call: WalkedCall = {
            method: args.Method as string,
            url: `${args.ApiEndpoint as string}${query ? `?${query}` : ''}`,
            headers: (args.Headers ?? {}) as Record<string, string>,
            body: args.RequestBody,
          };
          const retried = new Map<State, number>();
          let error: string | undefined;
          let failure: Answer | undefined;
          let result: Answer | undefined;
          for (;;) {
            calls.push(call);
            const a = answer(call);
            if (a.status < 400) {
              result = a;
              error = undefined;
              break;
            }
            error = `States.Http.StatusCode.${a.status}`;
            failure = a;
            const rule = ((state.Retry ?? []) as State[]).find((r) => matches(r.ErrorEquals, error!));
            if (!rule || (retried.get(rule) ?? 0) >= (rule.MaxAttempts as number)) break;
            retried.set(rule, (retried.get(rule) ?? 0) + 1);
          }
          if (result) {
            const taskResult = { StatusCode: result.status, ResponseBody: result.body };
            current = await evaluate(state.Output ?? '{% $states.result %}', {
              states: { ...states, result: taskResult },
            });
            if (state.End) return { end: name, output: current };
            name = state.Next as string;
            break;
          }
          const caught = ((state.Catch ?? []) as State[]).find((c) => matches(c.ErrorEquals, error!));
          const errorOutput = { Error: error!, Cause: causeOf(failure!) };
          if (!caught) return { end: `${name} (uncaught ${error})`, output: current, error: errorOutput };
          current = caught.Output
            ? await evaluate(caught.Output, { states: { ...states, errorOutput } })
            : errorOutput;
          name = caught.Next as string;
          break;
        }
        default:
          throw new Error(`walk: ${name}: state type ${String(state.Type)} is not walked`);
      }
    }
    throw new Error('walk: more than 1000 transitions; is there a loop?');
  };
  const { end, output } = await run(machine, input, {});
  return { calls, end, output };
}

function matches(errors: readonly string[], error: string): boolean {
  return errors.includes(error) || errors.includes('States.ALL');
}

/** Evaluates `{% %}` strings anywhere in a value; other values are kept. */
async function evaluate(value: unknown, bindings: Record<string, unknown>): Promise<unknown> {
  if (typeof value === 'string') {
    const m = /^\{%([\s\S]*)%\}$/.exec(value.trim());
    return m ? jsonata(m[1]).evaluate({}, bindings) : value;
  }
  if (Array.isArray(value)) return Promise.all(value.map((v) => evaluate(v, bindings)));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = await evaluate(v, bindings);
    return out;
  }
  return value;
}
