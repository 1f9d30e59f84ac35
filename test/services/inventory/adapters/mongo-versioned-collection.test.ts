import { expect } from 'chai';
import { MongoVersionedCollection } from '../../../../services/inventory/src/adapters/mongo-versioned-collection.ts';
import { eventually, testMongo, type TestMongo } from '../../../support/stores.ts';

describe('MongoVersionedCollection (FerretDB)', function () {
  let mongo: TestMongo;
  beforeEach(async function () {
    mongo = await testMongo('inventory_versions');
  });
  afterEach(async function () {
    await mongo.close();
  });

  const counter = () => new MongoVersionedCollection<{ n: number }>(mongo.db, 'counters');
  const increment = (c: MongoVersionedCollection<{ n: number }>) =>
    c.change('k', (cur) => ({ state: { n: (cur?.n ?? 0) + 1 } }));

  for (const versions of [1, 2, 5, 13]) {
    it(`when another process wrote ${versions} versions, then a fresh instance finds the latest`, async function () {
      const writer = counter();
      for (let i = 0; i < versions; i++) await increment(writer);
      expect(await counter().latest('k')).to.deep.equal({ seq: versions - 1, state: { n: versions } });
    });
  }

  it('when an instance remembers an old version, then latest still walks to the newest', async function () {
    const a = counter();
    const b = counter();
    await increment(a);
    expect((await b.latest('k'))?.state).to.deep.equal({ n: 1 });
    await increment(a);
    await increment(a);
    expect((await b.latest('k'))?.state).to.deep.equal({ n: 3 });
  });

  it('when two instances change the same entity concurrently, then no change is lost', async function () {
    const a = counter();
    const b = counter();
    await Promise.all(Array.from({ length: 20 }, (_, i) => increment(i % 2 ? a : b)));
    expect((await counter().latest('k'))?.state).to.deep.equal({ n: 20 });
  });

  it('when versions are pruned, then the latest and version 0 stay, and a fresh instance still finds the latest', async function () {
    const c = new MongoVersionedCollection<{ n: number }>(mongo.db, 'counters', {
      pruneEvery: 1000,
      retainMs: 0,
    });
    for (let i = 0; i < 10; i++) await increment(c);
    expect(await c.prune('k', 9)).to.equal(8);
    const seqs = (await mongo.db.collection('counters').find({ key: 'k' }).toArray()).map(
      (d) => d.seq as number,
    );
    expect(seqs.sort((a, b) => a - b)).to.deep.equal([0, 9]);
    expect(await counter().latest('k')).to.deep.equal({ seq: 9, state: { n: 10 } });
    expect(await c.create('k', { state: { n: 0 } })).to.equal(false);
    await increment(counter());
    expect((await c.latest('k'))?.state).to.deep.equal({ n: 11 });
  });

  it('when versions are younger than retainMs, then pruning keeps them', async function () {
    const c = counter();
    for (let i = 0; i < 5; i++) await increment(c);
    expect(await c.prune('k', 4)).to.equal(0);
  });

  it('when an entity has several versions, then find matches only its current one and old ones are marked', async function () {
    const c = counter();
    for (let i = 0; i < 4; i++) await increment(c);
    await c.change('other', () => ({ state: { n: 100 } }));
    const found = await c.find({ 'state.n': { $gte: 1 } }, () => true, 10);
    expect(found.map((f) => `${f.key}:${f.state.n}`).sort()).to.deep.equal(['k:4', 'other:100']);
    expect(await c.find({ 'state.n': 2 }, (s) => s.n === 2, 10)).to.deep.equal([]);
    await eventually(
      async () =>
        (await mongo.db.collection('counters').countDocuments({ key: 'k', superseded: true })) === 3,
      'three superseded versions',
    );
  });

  it('when decide declines, then nothing is written', async function () {
    const c = counter();
    expect(await c.change('k', () => undefined)).to.equal(undefined);
    expect(await c.latest('k')).to.equal(undefined);
  });
});
