import { expect } from 'chai';
import { checkVerdict, evaluateGates, toMeasurement } from '@meshmart/ops/lib/canary-analysis.ts';

describe('ops/lib/canary-analysis', () => {
  describe('toMeasurement', () => {
    it('when every request succeeded but the ratio comes back as 99.99999999999999, then the success rate is 100', () => {
      const m = toMeasurement({ requestsPerSecond: 3, successRate: 99.99999999999999, p99Seconds: 0.25 });
      expect(m).to.deep.equal({ requestsPerSecond: 3, successRate: 100, p99Ms: 250 });
    });

    it('when the queries return nothing, then every field is undefined', () => {
      const m = toMeasurement({
        requestsPerSecond: undefined,
        successRate: undefined,
        p99Seconds: undefined,
      });
      expect(m).to.deep.equal({ requestsPerSecond: undefined, successRate: undefined, p99Ms: undefined });
    });
  });

  describe('evaluateGates', () => {
    const gates = (
      successRate: number | undefined,
      p99Ms: number | undefined,
    ): ReturnType<typeof evaluateGates> =>
      evaluateGates({ requestsPerSecond: 1, successRate, p99Ms }, 99, 500, '1m');

    it('when the success rate and p99 are within the limits, including on them, then it passes with no failures', () => {
      expect(gates(99, 500)).to.deep.equal({ passed: true, failures: [] });
      expect(gates(100, 12)).to.deep.equal({ passed: true, failures: [] });
    });

    it('when no request reached the canary, then it fails for that alone, not for the missing latency', () => {
      expect(gates(undefined, undefined)).to.deep.equal({
        passed: false,
        failures: ['no requests reached the canary in the last 1m'],
      });
    });

    it('when both the success rate and the p99 miss, then both failures are named', () => {
      expect(gates(98.5, 731.4)).to.deep.equal({
        passed: false,
        failures: ['success rate 98.50% is below 99%', 'p99 latency 731 ms is above 500 ms'],
      });
    });

    it('when requests succeeded but no latency histogram exists, then it fails', () => {
      expect(gates(100, undefined)).to.deep.equal({
        passed: false,
        failures: ['no latency histogram for the canary in the last 1m'],
      });
    });
  });

  describe('checkVerdict', () => {
    const failed = { passed: false, failures: ['x'] };

    it('when the gates passed, then it moves on whatever failed before', () => {
      expect(checkVerdict({ passed: true, failures: [] }, 2, 2)).to.equal('passed');
    });

    it('when a check failed, then it analyses again until the failures reach the limit, then rolls back', () => {
      expect(checkVerdict(failed, 1, 3)).to.equal('again');
      expect(checkVerdict(failed, 2, 3)).to.equal('again');
      expect(checkVerdict(failed, 3, 3)).to.equal('roll-back');
    });
  });
});
