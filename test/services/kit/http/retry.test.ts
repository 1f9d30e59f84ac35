import { expect } from 'chai';
import { fullJitterDelay, parseRetryAfter } from '../../../../services/kit/src/http/retry.ts';

describe('retry backoff', () => {
  it('when random is 0, then the delay is 0', () => {
    expect(fullJitterDelay(3, { random: () => 0 })).to.equal(0);
  });

  it('when attempts grow, then the ceiling doubles from base up to cap', () => {
    const top = () => 0.999999;
    const ceilings = [0, 1, 2, 3, 4, 10].map((n) =>
      fullJitterDelay(n, { baseMs: 100, capMs: 1_000, random: top }),
    );
    expect(ceilings).to.deep.equal([99, 199, 399, 799, 999, 999]);
  });

  it('when random is mid-range, then the delay is that fraction of the ceiling', () => {
    expect(fullJitterDelay(1, { baseMs: 100, capMs: 10_000, random: () => 0.5 })).to.equal(100);
  });

  it('when the attempt is huge, then the cap still bounds the delay', () => {
    expect(fullJitterDelay(5_000, { baseMs: 50, capMs: 300, random: () => 0.5 })).to.equal(150);
  });

  it('when Retry-After holds seconds, then it is read as milliseconds', () => {
    expect(parseRetryAfter('2')).to.equal(2_000);
    expect(parseRetryAfter(['0'])).to.equal(0);
  });

  it('when Retry-After holds an HTTP date, then it is the time until that date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:03 GMT', now)).to.equal(3_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', now)).to.equal(0);
  });

  it('when Retry-After is missing or garbage, then it is undefined', () => {
    expect(parseRetryAfter(undefined)).to.equal(undefined);
    expect(parseRetryAfter('')).to.equal(undefined);
    expect(parseRetryAfter('soon')).to.equal(undefined);
    expect(parseRetryAfter('-1')).to.equal(undefined);
  });
});
