import { expect } from 'chai';
import { AppError, toProblem } from '@meshmart/kit';

describe('errors', () => {
  describe('when an AppError becomes a problem document', () => {
    it('then type, title, status, detail, instance, field errors and extensions are all there', () => {
      const err = new AppError(409, 'version-conflict', 'order o-1 changed meanwhile', {
        extensions: { expectedVersion: 3, actualVersion: 4 },
        errors: [{ field: 'body/version', message: 'is stale' }],
      });
      expect(toProblem(err, '/orders/o-1')).to.deep.equal({
        type: '/problems/version-conflict',
        title: 'Conflict',
        status: 409,
        detail: 'order o-1 changed meanwhile',
        instance: '/orders/o-1',
        errors: [{ field: 'body/version', message: 'is stale' }],
        expectedVersion: 3,
        actualVersion: 4,
      });
    });

    it('then extensions cannot overwrite the standard members', () => {
      const err = new AppError(400, 'bad-request', 'no', { extensions: { status: 200, type: 'x' } });
      expect(toProblem(err)).to.include({ status: 400, type: '/problems/bad-request' });
    });
  });

  describe('when a status has no registered title', () => {
    it('then the title falls back by class', () => {
      expect(new AppError(418, 'teapot', 'short and stout').title).to.equal('Client Error');
      expect(new AppError(507, 'full', 'disk').title).to.equal('Server Error');
    });
  });

  describe('when helpers build common errors', () => {
    it('then they carry the right status and code, and the cause is kept for the logs', () => {
      expect(AppError.notFound('x')).to.include({ status: 404, code: 'not-found' });
      expect(AppError.badRequest('x')).to.include({ status: 400, code: 'bad-request' });
      expect(AppError.badRequest('x', [{ field: 'a', message: 'b' }])).to.include({
        code: 'validation-failed',
      });
      const cause = new Error('ECONNREFUSED');
      expect(AppError.unavailable('db down', cause).cause).to.equal(cause);
    });
  });

  describe('when an error comes from another loaded copy of the kit', () => {
    it('then instanceof AppError still recognises it by its brand, and plain errors and subclasses stay apart', async () => {
      const foreign = Object.assign(new Error('gone'), {
        [Symbol.for('meshmart.kit.AppError')]: true,
        status: 404,
        code: 'not-found',
      });
      expect(foreign instanceof AppError).to.equal(true);
      expect(new Error('plain') instanceof AppError).to.equal(false);
      const { PoisonMessageError } = await import('@meshmart/kit/events');
      expect(AppError.notFound('x') instanceof PoisonMessageError).to.equal(false);
    });
  });
});
