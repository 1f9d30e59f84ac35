import { expect } from 'chai';
import {
  CircuitBreaker,
  CircuitOpenError,
  type CircuitBreakerOptions,
  type CircuitState,
} from '../../../../services/kit/src/http/circuit-breaker.ts';

function breakerWithClock(options: CircuitBreakerOptions = {}) {
  const clock = { t: 1_000_000 };
  const changes: [CircuitState, CircuitState][] = [];
  const breaker = new CircuitBreaker({
    name: 'catalog',
    failureThreshold: 3,
    openMs: 1_000,
    now: () => clock.t,
    onStateChange: (to, from) => changes.push([from, to]),
    ...options,
  });
  return { breaker, clock, changes };
}

function fail(breaker: CircuitBreaker, times = 1): void {
  for (let i = 0; i < times; i++) breaker.acquire().failure();
}

function succeed(breaker: CircuitBreaker, times = 1): void {
  for (let i = 0; i < times; i++) breaker.acquire().success();
}

describe('circuit breaker', () => {
  it('when consecutive failures reach the threshold, then it opens and rejects immediately', () => {
    const { breaker, changes } = breakerWithClock();
    fail(breaker, 2);
    expect(breaker.state).to.equal('closed');
    fail(breaker);
    expect(breaker.state).to.equal('open');
    expect(changes).to.deep.equal([['closed', 'open']]);
    expect(() => breaker.acquire())
      .to.throw(CircuitOpenError, /circuit 'catalog' is open/)
      .with.property('retryAfterMs', 1_000);
  });

  it('when a success interrupts the failures, then the consecutive count starts again', () => {
    const { breaker } = breakerWithClock();
    fail(breaker, 2);
    succeed(breaker);
    fail(breaker, 2);
    expect(breaker.state).to.equal('closed');
  });

  it('when the failure ratio over the window passes the threshold with enough calls, then it opens', () => {
    const { breaker } = breakerWithClock({ failureThreshold: 100, failureRatio: 0.5, minimumRequests: 6 });
    for (let i = 0; i < 2; i++) {
      succeed(breaker);
      fail(breaker);
    }
    expect(breaker.state, 'below the minimum request count').to.equal('closed');
    succeed(breaker);
    fail(breaker);
    expect(breaker.state).to.equal('open');
  });

  it('when failures slid out of the rolling window, then they no longer count', () => {
    const { breaker, clock } = breakerWithClock({
      failureThreshold: 100,
      minimumRequests: 4,
      windowMs: 1_000,
    });
    fail(breaker, 3);
    clock.t += 2_000;
    succeed(breaker, 3);
    fail(breaker);
    expect(breaker.state).to.equal('closed');
  });

  it('when openMs has passed, then it is half-open and lets only the allowed probes through', () => {
    const { breaker, clock, changes } = breakerWithClock({ halfOpenProbes: 2 });
    fail(breaker, 3);
    clock.t += 999;
    expect(breaker.state).to.equal('open');
    clock.t += 1;
    expect(breaker.state).to.equal('half-open');
    breaker.acquire();
    breaker.acquire();
    expect(() => breaker.acquire())
      .to.throw(CircuitOpenError)
      .with.property('retryAfterMs', 0);
    expect(changes).to.deep.equal([
      ['closed', 'open'],
      ['open', 'half-open'],
    ]);
  });

  it('when a half-open probe succeeds, then it closes with a clean slate', () => {
    const { breaker, clock } = breakerWithClock();
    fail(breaker, 3);
    clock.t += 1_000;
    succeed(breaker);
    expect(breaker.state).to.equal('closed');
    fail(breaker, 2);
    expect(breaker.state).to.equal('closed');
  });

  it('when a half-open probe fails, then it opens again for another openMs', () => {
    const { breaker, clock, changes } = breakerWithClock();
    fail(breaker, 3);
    clock.t += 1_000;
    fail(breaker);
    expect(breaker.state).to.equal('open');
    clock.t += 999;
    expect(breaker.state).to.equal('open');
    expect(changes.at(-1)).to.deep.equal(['half-open', 'open']);
  });

  it('when a probe is released without an outcome, then another probe may go', () => {
    const { breaker, clock } = breakerWithClock();
    fail(breaker, 3);
    clock.t += 1_000;
    breaker.acquire().release();
    expect(breaker.state).to.equal('half-open');
    succeed(breaker);
    expect(breaker.state).to.equal('closed');
  });

  it('when a call admitted before the circuit opened settles later, then its outcome is ignored', () => {
    const { breaker, clock } = breakerWithClock();
    const late = breaker.acquire();
    fail(breaker, 3);
    clock.t += 1_000;
    expect(breaker.state).to.equal('half-open');
    late.success();
    expect(breaker.state).to.equal('half-open');
  });

  it('when a permit is settled twice, then only the first outcome counts', () => {
    const { breaker } = breakerWithClock();
    const permit = breaker.acquire();
    permit.failure();
    permit.failure();
    permit.failure();
    expect(breaker.state).to.equal('closed');
  });

  it('when execute runs a rejecting function, then the rejection counts unless classified as harmless', async () => {
    const { breaker } = breakerWithClock({ failureThreshold: 1 });
    const boom = () => Promise.reject(new Error('boom'));
    await breaker.execute(boom, () => false).catch(() => undefined);
    expect(breaker.state).to.equal('closed');
    expect(await breaker.execute(() => Promise.resolve(42))).to.equal(42);
    await breaker.execute(boom).catch(() => undefined);
    expect(breaker.state).to.equal('open');
    let ran = false;
    await breaker
      .execute(() => {
        ran = true;
        return Promise.resolve();
      })
      .catch(() => undefined);
    expect(ran).to.equal(false);
  });

  it('when options are out of range, then construction fails naming the option', () => {
    expect(() => new CircuitBreaker({ name: 'x', failureThreshold: 0 })).to.throw(/'x': failureThreshold/);
    expect(() => new CircuitBreaker({ failureRatio: 1.5 })).to.throw(/failureRatio/);
  });
});
