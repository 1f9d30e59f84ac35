import { expect } from 'chai';
import { KeyedLock } from '@meshmart/kit';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('KeyedLock', function () {
  it('when tasks share a key, then they run one at a time in arrival order', async function () {
    const mutex = new KeyedLock();
    const trace: string[] = [];
    const task = (name: string) => async () => {
      trace.push(`${name} start`);
      await tick();
      trace.push(`${name} end`);
      return name;
    };
    const results = await Promise.all([mutex.run('a', task('1')), mutex.run('a', task('2'))]);
    expect(results).to.deep.equal(['1', '2']);
    expect(trace).to.deep.equal(['1 start', '1 end', '2 start', '2 end']);
  });

  it('when tasks have different keys, then they overlap', async function () {
    const mutex = new KeyedLock();
    const trace: string[] = [];
    const task = (name: string) => async () => {
      trace.push(`${name} start`);
      await tick();
      trace.push(`${name} end`);
    };
    await Promise.all([mutex.run('a', task('a')), mutex.run('b', task('b'))]);
    expect(trace.slice(0, 2)).to.deep.equal(['a start', 'b start']);
  });

  it('when a task fails, then the next one for the key still runs', async function () {
    const mutex = new KeyedLock();
    const failed = mutex.run('a', () => Promise.reject(new Error('boom')));
    const next = mutex.run('a', () => Promise.resolve('ok'));
    let error: unknown;
    await failed.catch((err: unknown) => (error = err));
    expect(error).to.be.instanceOf(Error);
    expect(await next).to.equal('ok');
  });

  it('when tasks hold overlapping key sets, then neither waits for ever', async function () {
    const mutex = new KeyedLock();
    const done = await Promise.all([
      mutex.runAll(['x', 'y'], async () => {
        await tick();
        return 1;
      }),
      mutex.runAll(['y', 'x'], async () => {
        await tick();
        return 2;
      }),
    ]);
    expect(done).to.deep.equal([1, 2]);
  });
});
