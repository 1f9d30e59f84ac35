import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { InMemoryEventBus } from '../../../../services/kit/src/events/index.ts';
import { eventually } from '../../../support/wait.ts';
import { eventBusContract } from './event-bus.contract.ts';

eventBusContract('InMemoryEventBus', ({ registry }) =>
  Promise.resolve(new InMemoryEventBus({ source: 'contract', registry })),
);

describe('InMemoryEventBus', function () {
  it('when a message is published, then the handler runs after publish returns, not inside it', async function () {
    const bus = new InMemoryEventBus({ source: 'test' });
    const calls: string[] = [];
    await bus.subscribe({ topic: 't', group: 'g', handler: () => void calls.push('handler') });
    const publishing = bus.publish('t', { type: 'x', data: 1 });
    calls.push('published');
    await publishing;
    await eventually(() => calls.length === 2, 'handler');
    expect(calls).to.deep.equal(['published', 'handler']);
    await bus.close();
  });

  it('when more than maxLen messages are published, then a late group sees only the newest', async function () {
    const bus = new InMemoryEventBus({ source: 'test', maxLen: 3 });
    for (let i = 0; i < 5; i++) await bus.publish('t', { type: 'x', data: i });
    const seen: unknown[] = [];
    await bus.subscribe({ topic: 't', group: 'late', handler: (e) => void seen.push(e.data) });
    await eventually(() => seen.length >= 3, 'three deliveries to the late group');
    expect(seen).to.deep.equal([2, 3, 4]);
    await bus.close();
  });

  it('when concurrency is 4, then up to four messages are handled at once', async function () {
    const bus = new InMemoryEventBus({ source: 'test' });
    let running = 0;
    let peak = 0;
    let done = 0;
    await bus.subscribe({
      topic: 't',
      group: 'g',
      concurrency: 4,
      handler: async () => {
        peak = Math.max(peak, ++running);
        await sleep(10); // a handler that takes a moment, so the deliveries overlap
        running--;
        done++;
      },
    });
    for (let i = 0; i < 10; i++) await bus.publish('t', { type: 'x', data: i });
    await eventually(() => done === 10, 'all handled');
    expect(peak).to.equal(4);
    await bus.close();
  });
});
