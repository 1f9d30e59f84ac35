import { expect } from 'chai';
import {
  checkSteps,
  planCanary,
  type CanaryState,
  type StartingPoint,
} from '@meshmart/ops/lib/canary-plan.ts';

const STEPS = [5, 10, 20, 50];

function start(current: number, stable: string | undefined, state?: Partial<CanaryState>): StartingPoint {
  return {
    current,
    stable,
    state: state
      ? {
          version: 'v2',
          stable: 'v1',
          phase: 'progressing',
          weight: current,
          message: '',
          updatedAt: '',
          ...state,
        }
      : undefined,
    splitText: 'HTTPRoute ns/catalog: v1 90%, v2 10%',
  };
}

describe('ops/lib/canary-plan', () => {
  describe('planCanary', () => {
    it('when the canary has no weight yet, then it goes through every step from the stable version', () => {
      expect(planCanary(start(0, 'v1'), STEPS, 'catalog', 'v2')).to.deep.equal({
        kind: 'run',
        stable: 'v1',
        schedule: STEPS,
      });
    });

    it('when a run stopped at 10% before its analysis passed, then it resumes with 10% and the steps above', () => {
      expect(planCanary(start(10, 'v1', { passedWeight: 5 }), STEPS, 'catalog', 'v2')).to.deep.equal({
        kind: 'run',
        stable: 'v1',
        schedule: [10, 20, 50],
        resumedFrom: 10,
      });
    });

    it('when the analysis at 10% had passed, then it resumes with the steps above 10% only', () => {
      expect(planCanary(start(10, 'v1', { passedWeight: 10 }), STEPS, 'catalog', 'v2')).to.deep.equal({
        kind: 'run',
        stable: 'v1',
        schedule: [20, 50],
        resumedFrom: 10,
        passed: 10,
      });
    });

    it('when the version takes 100% with no other version, then it is already promoted', () => {
      expect(planCanary(start(100, undefined), STEPS, 'catalog', 'v2')).to.include({
        kind: 'already-promoted',
      });
    });

    it('when the version takes 100% and its state says promoted, then it is already promoted', () => {
      const plan = planCanary(start(100, 'v1', { phase: 'promoted' }), STEPS, 'catalog', 'v2');
      expect(plan).to.deep.equal({
        kind: 'already-promoted',
        message: 'catalog v2 was already promoted (HTTPRoute ns/catalog: v1 90%, v2 10%)',
      });
    });

    it('when no version carries traffic and no state names a stable one, then it refuses', () => {
      expect(() => planCanary(start(20, undefined), STEPS, 'catalog', 'v2')).to.throw(
        /no stable version of 'catalog' carries traffic/,
      );
    });
  });

  describe('checkSteps', () => {
    it('when the steps are whole, increasing and below 100, then they are accepted', () => {
      expect(() => checkSteps([1, 50, 99])).not.to.throw();
    });

    for (const steps of [[], [10, 10], [20, 10], [0, 5], [50, 100], [2.5]]) {
      it(`when the steps are [${steps.join(', ')}], then they are refused`, () => {
        expect(() => checkSteps(steps)).to.throw(/canary step/);
      });
    }
  });
});
