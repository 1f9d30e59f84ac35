import { expect } from 'chai';

/**
 * What `promise` rejects with, checked to be an instance of `type`; fails the test when it resolves or rejects with
 * something else.
 */
export async function rejectionOf<E>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => E,
): Promise<E> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(type);
    return err as E;
  }
  return expect.fail(`expected a rejection with ${type.name}`);
}
