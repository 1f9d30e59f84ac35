import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rm, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { MongoClient, ObjectId } from 'mongodb';
import { testenv } from '../support/testenv.ts';
import { until } from '../support/wait.ts';

// Smoke tests of the real test environment started by `make testenv-up` (scripts/testenv.sh up).

const execFileAsync = promisify(execFile);

interface PromQueryResponse {
  status: string;
  data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

async function promQuery(query: string): Promise<PromQueryResponse> {
  const res = await fetch(`${testenv('PROMETHEUS_URL')}/api/v1/query?query=${encodeURIComponent(query)}`);
  expect(res.status).to.equal(200);
  return (await res.json()) as PromQueryResponse;
}

describe('testenv', function () {
  describe('redis', function () {
    let redis: Redis;

    before(function () {
      redis = new Redis(testenv('REDIS_URL'), { lazyConnect: true, maxRetriesPerRequest: 1 });
    });

    after(async function () {
      await redis.quit();
    });

    it('when Redis is pinged, then it answers PONG', async function () {
      await redis.connect();
      expect(await redis.ping()).to.equal('PONG');
    });

    it('when a key is set, then it is read back', async function () {
      const key = `testenv:${randomUUID()}`;
      try {
        await redis.set(key, 'value', 'EX', 60);
        expect(await redis.get(key)).to.equal('value');
      } finally {
        await redis.del(key);
      }
    });
  });

  describe('mongodb (FerretDB)', function () {
    let client: MongoClient;
    const dbName = `testenv_${process.pid}_${Date.now()}`;

    before(async function () {
      client = new MongoClient(testenv('MONGO_URL'), { serverSelectionTimeoutMS: 5000 });
      await client.connect();
    });

    after(async function () {
      await client.db(dbName).dropDatabase();
      await client.close();
    });

    it('when a document is inserted into a fresh database, then it is found back', async function () {
      const items = client.db(dbName).collection<{ _id: string; name: string; qty: number }>('items');
      await items.insertOne({ _id: 'sku-1', name: 'mesh', qty: 3 });
      const found = await items.findOne({ _id: 'sku-1' });
      expect(found).to.deep.equal({ _id: 'sku-1', name: 'mesh', qty: 3 });
    });

    it('when 20 conditional updates race for 5 units of one document, then exactly 5 match (single-document atomicity)', async function () {
      const stock = client.db(dbName).collection<{ _id: string; available: number }>('stock');
      await stock.insertOne({ _id: 'race', available: 5 });
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          stock.updateOne({ _id: 'race', available: { $gte: 1 } }, { $inc: { available: -1 } }),
        ),
      );
      expect(results.filter((r) => r.modifiedCount === 1)).to.have.length(5);
      expect((await stock.findOne({ _id: 'race' }))?.available).to.equal(0);
    });

    it('when writes by _id and by another field, findAndModify and deletes race on one document, then each still sees the others whole', async function () {
      const stock = client
        .db(dbName)
        .collection<{ _id: string; sku: string; available: number }>('stock_mixed');
      await stock.insertOne({ _id: 'mixed', sku: 'lamp', available: 10 });
      const take = (i: number) =>
        i % 3 === 0
          ? stock.updateOne({ _id: 'mixed', available: { $gte: 1 } }, { $inc: { available: -1 } })
          : i % 3 === 1
            ? stock.updateOne({ sku: 'lamp', available: { $gte: 1 } }, { $inc: { available: -1 } })
            : stock
                .findOneAndUpdate({ _id: 'mixed', available: { $gte: 1 } }, { $inc: { available: -1 } })
                .then((doc) => ({ modifiedCount: doc ? 1 : 0 }));
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => take(i)));
      expect(results.filter((r) => r.modifiedCount === 1)).to.have.length(10);
      expect((await stock.findOne({ _id: 'mixed' }))?.available).to.equal(0);
      // Documents of one collection are written side by side: 20 other documents, each changed once, all kept.
      await stock.insertMany(
        Array.from({ length: 20 }, (_, i) => ({ _id: `d${i}`, sku: `s${i}`, available: 1 })),
      );
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => stock.updateOne({ _id: `d${i}` }, { $inc: { available: 1 } })),
      );
      expect(await stock.countDocuments({ available: 2 })).to.equal(20);
    });

    it('when concurrent updates set different fields of one document, then none is lost', async function () {
      const docs = client.db(dbName).collection<Record<string, unknown> & { _id: string }>('fields');
      await docs.insertOne({ _id: 'doc' });
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => docs.updateOne({ _id: 'doc' }, { $set: { [`f${i}`]: i } })),
      );
      const doc = await docs.findOne({ _id: 'doc' });
      expect(Object.keys(doc ?? {}).filter((k) => k.startsWith('f'))).to.have.length(20);
    });

    it('when a write fails, then none of it is stored and it answers as MongoDB does (duplicate _id, ordered and unordered inserts, updates, upserts)', async function () {
      // The test FerretDB runs a single-statement write without a transaction around it (scripts/testenv.sh).
      const docs = client.db(dbName).collection<{ _id: string; v: number }>('single_statement');
      await docs.insertOne({ _id: 'taken', v: 1 });
      const code = (p: Promise<unknown>) =>
        p.then(
          () => 'none',
          (err: { code?: unknown }) => err.code,
        );
      const stored = async () => (await docs.find({}).toArray()).map((d) => `${d._id}=${d.v}`).sort();
      expect(await code(docs.insertOne({ _id: 'taken', v: 2 })), 'a duplicate _id').to.equal(11000);
      expect(
        await code(
          docs.insertMany([
            { _id: 'o1', v: 1 },
            { _id: 'taken', v: 3 },
            { _id: 'o2', v: 1 },
          ]),
        ),
        'ordered',
      ).to.equal(11000);
      expect(
        await code(
          docs.insertMany(
            [
              { _id: 'u1', v: 1 },
              { _id: 'taken', v: 4 },
              { _id: 'u2', v: 1 },
            ],
            { ordered: false },
          ),
        ),
        'unordered',
      ).to.equal(11000);
      expect(
        await stored(),
        'the documents before the duplicate (ordered) or all others (unordered), and the first write unchanged',
      ).to.deep.equal(['o1=1', 'taken=1', 'u1=1', 'u2=1']);
      const one = await docs.updateOne({ _id: 'o1' }, { $inc: { v: 1 } });
      expect([one.matchedCount, one.modifiedCount]).to.deep.equal([1, 1]);
      const none = await docs.updateOne({ _id: 'absent' }, { $inc: { v: 1 } });
      expect([none.matchedCount, none.modifiedCount]).to.deep.equal([0, 0]);
      const many = await docs.updateMany({ v: 1 }, { $set: { v: 7 } });
      expect([many.matchedCount, many.modifiedCount]).to.deep.equal([3, 3]);
      const upsert = await docs.updateOne({ _id: 'new' }, { $set: { v: 9 } }, { upsert: true });
      expect(upsert.upsertedId).to.equal('new');
      expect(
        await code(docs.updateOne({ _id: 'o1' }, { $set: { _id: 'taken' } })),
        'an _id changed',
      ).to.not.equal('none');
      expect(await stored()).to.deep.equal(['new=9', 'o1=2', 'taken=7', 'u1=7', 'u2=7']);
    });

    it('when more updates run at once than FerretDB has PostgreSQL connections, then every one completes and pings still answer (300 updates, findAndModifys and removes)', async function () {
      this.timeout(90_000);
      // FerretDB 1.24 kept each update's query open on one pooled connection while writing on a second: with 50 at
      // once (its pool) every command waited forever. The test FerretDB reads the matches before it writes.
      const wide = new MongoClient(testenv('MONGO_URL'), {
        maxPoolSize: 400,
        maxConnecting: 400,
        serverSelectionTimeoutMS: 5000,
      });
      try {
        const coll = wide.db(dbName).collection<{ _id: string; n: number; pad: string[] }>('pool');
        // Documents of 20 KB: each write spends long enough between its query and its write for many to overlap.
        const pad = Array.from({ length: 1000 }, (_, i) => `padding-${String(i).padStart(11, '0')}`);
        for (let from = 0; from < 300; from += 100)
          await coll.insertMany(Array.from({ length: 100 }, (_, i) => ({ _id: `p${from + i}`, n: 0, pad })));
        // A connection per write already open, as in a busy system: the writes then reach FerretDB together.
        await Promise.all(
          Array.from({ length: 300 }, (_, i) => coll.findOne({ _id: `p${i}` }, { projection: { n: 1 } })),
        );
        const writes = Array.from({ length: 300 }, (_, i) =>
          i % 3 === 0
            ? coll.updateOne({ _id: `p${i}` }, { $inc: { n: 1 } }).then((r) => r.modifiedCount)
            : i % 3 === 1
              ? coll.findOneAndUpdate({ _id: `p${i}` }, { $inc: { n: 1 } }).then((d) => (d ? 1 : 0))
              : coll.findOneAndDelete({ _id: `p${i}` }).then((d) => (d ? 1 : 0)),
        );
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new Error('300 concurrent writes did not all complete within 60 s (FerretDB pool starved?)'),
              ),
            60_000,
          );
        });
        try {
          const done = await Promise.race([Promise.all(writes), deadline]);
          expect(
            done.reduce((x, y) => x + y, 0),
            'writes that found their document',
          ).to.equal(300);
        } finally {
          clearTimeout(timer);
        }
        expect(await coll.countDocuments({ n: 1 }), 'documents updated once').to.equal(200);
        expect(await coll.countDocuments({}), 'documents left after the removes').to.equal(200);
        expect((await wide.db(dbName).command({ ping: 1 })).ok).to.equal(1);
      } finally {
        await wide.close(true);
      }
    });

    /** A collection of 5,000 documents `d0` … `d4999`, its PostgreSQL table analyzed, and the table's scans so far. */
    async function fiveThousand(name: string) {
      const coll = client.db(dbName).collection<{ _id: string; owner: string; n?: number }>(name);
      for (let from = 0; from < 5000; from += 1000)
        await coll.insertMany(Array.from({ length: 1000 }, (_, i) => ({ _id: `d${from + i}`, owner: 'a' })));
      const table = await ferretTable(dbName, name);
      // Statistics as a longer-lived table has them: a planner that believes the table empty may read it whole.
      await psql(`ANALYZE "${dbName}"."${table}"`);
      return { coll, table, before: await scans(dbName, table) };
    }

    /** How often PostgreSQL read `table` whole since `before`, once it has counted `lookups` more index scans. */
    async function sequentialScansAfter(
      table: string,
      before: { seq: number; idx: number },
      lookups: number,
    ): Promise<number> {
      const after = await until(async () => {
        const now = await scans(dbName, table);
        return now.idx - before.idx >= lookups ? now : undefined; // statistics reach the view within a moment
      }, 'PostgreSQL to count the index scans');
      return after.seq - before.seq;
    }

    it('when documents are looked up or updated by _id, then PostgreSQL answers from the _id index, not by reading the table (5,000 documents)', async function () {
      const { coll, table, before } = await fiveThousand('by_id');
      for (let i = 0; i < 20; i++) {
        expect((await coll.findOne({ _id: `d${i * 7}` }))?._id).to.equal(`d${i * 7}`);
        await coll.updateOne({ _id: `d${i * 7}`, owner: 'a' }, { $set: { n: i } });
      }
      expect(
        await coll.findOne({ _id: 'd7', owner: 'somebody else' }),
        'the rest of the filter still applies',
      ).to.equal(null);
      // 41 lookups: index scans; PostgreSQL read the table once (seen: the first plan of a new prepared statement).
      expect(await sequentialScansAfter(table, before, 40), 'sequential scans of the table').to.be.at.most(1);
    });

    it('when documents are selected with $in, then the same ones are found as MongoDB finds (ids, statuses, arrays holding a value, mixed types)', async function () {
      const coll = client
        .db(dbName)
        .collection<{ _id: unknown; s?: unknown; t?: unknown; n?: number }>('in_filter');
      const oid = new ObjectId();
      await coll.insertMany([
        { _id: 'a', s: 'RUNNING', t: ['x', 'y'], n: 1 },
        { _id: 'b', s: 'DONE', t: 'x', n: 2 },
        { _id: 'c', s: 'COMPENSATING', n: 3 },
        { _id: oid, s: 5, t: ['z'] },
      ]);
      const ids = async (filter: Record<string, unknown>) =>
        (await coll.find(filter).toArray()).map((d) => String(d._id)).sort();
      expect(await ids({ _id: { $in: ['a', 'c', 'none'] } })).to.deep.equal(['a', 'c']);
      expect(await ids({ _id: { $in: [oid, 'b'] } })).to.deep.equal([String(oid), 'b'].sort());
      expect(await ids({ s: { $in: ['RUNNING', 'COMPENSATING'] } })).to.deep.equal(['a', 'c']);
      expect(await ids({ t: { $in: ['y'] } }), 'an array holding the value').to.deep.equal(['a']);
      expect(await ids({ t: { $in: ['x'] } }), 'the value, or an array holding it').to.deep.equal(['a', 'b']);
      expect(await ids({ s: { $in: ['RUNNING', 5] } }), 'strings and numbers').to.deep.equal(
        ['a', String(oid)].sort(),
      );
      expect(
        await ids({ s: { $in: ['RUNNING', 'COMPENSATING'] }, n: { $gte: 2 } }),
        'and the rest',
      ).to.deep.equal(['c']);
      expect(await ids({ _id: { $in: [] } })).to.deep.equal([]);
      const many = Array.from({ length: 150 }, (_, i) => `other${i}`);
      expect(await ids({ _id: { $in: [...many, 'b'] } }), 'a long list').to.deep.equal(['b']);
      expect(await coll.countDocuments({}), 'nothing changed').to.equal(4);
    });

    it('when documents are looked up by a list of _ids ($in), then PostgreSQL answers from the _id index (5,000 documents)', async function () {
      const { coll, table, before } = await fiveThousand('by_ids');
      for (let i = 0; i < 20; i++) {
        const wanted = [`d${i * 7}`, `d${i * 7 + 4000}`, `missing${i}`];
        expect(await coll.find({ _id: { $in: wanted } }).toArray()).to.have.length(2);
      }
      expect(await sequentialScansAfter(table, before, 20), 'sequential scans of the table').to.be.at.most(1);
    });

    it('when the database is dropped, then it is no longer listed', async function () {
      const db = client.db(`${dbName}_drop`);
      await db.collection('x').insertOne({ a: 1 });
      await db.dropDatabase();
      const { databases } = await client.db('admin').admin().listDatabases();
      expect(databases.map((d) => d.name)).not.to.include(`${dbName}_drop`);
    });
  });

  describe('prometheus', function () {
    const selfcheck = randomUUID();
    const targetsFile = () => join(testenv('PROMETHEUS_TARGETS_DIR'), `testenv-selfcheck-${selfcheck}.json`);

    after(async function () {
      await rm(targetsFile(), { force: true });
    });

    it('when /-/ready is requested, then Prometheus is ready', async function () {
      const res = await fetch(`${testenv('PROMETHEUS_URL')}/-/ready`);
      expect(res.status).to.equal(200);
      await res.body?.cancel();
    });

    it('when the query up is run, then the result is a vector', async function () {
      const body = await promQuery('up');
      expect(body.status).to.equal('success');
      expect(body.data.resultType).to.equal('vector');
      expect(body.data.result).to.be.an('array');
    });

    it('when a targets file is written, then its target is scraped within seconds', async function () {
      this.timeout(60_000);
      // Prometheus scraping its own /metrics stands in for an app under test.
      const target = new URL(testenv('PROMETHEUS_URL')).host;
      const tmp = `${targetsFile()}.tmp`;
      await writeFile(tmp, JSON.stringify([{ targets: [target], labels: { testenv_selfcheck: selfcheck } }]));
      await rename(tmp, targetsFile());
      const query = `up{job="meshmart",testenv_selfcheck="${selfcheck}"}`;
      await until(
        async () => ((await promQuery(query)).data.result[0]?.value[1] === '1' ? true : undefined),
        `${query} to be 1`,
        30_000,
        250,
      );
    });
  });

  describe('promtool', function () {
    it('when promtool --version is run, then it exits 0 and names itself', async function () {
      const { stdout, stderr } = await execFileAsync(testenv('PROMTOOL'), ['--version']);
      expect(`${stdout}${stderr}`).to.match(/^promtool, version \d+\.\d+/m);
    });
  });
});

/** psql against the test environment's PostgreSQL (FerretDB's storage). */
async function psql(sql: string): Promise<string> {
  const { stdout: dirs } = await execFileAsync('bash', ['-c', 'ls -d /usr/lib/postgresql/*/bin | tail -n 1']);
  const { stdout } = await execFileAsync(`${dirs.trim()}/psql`, [
    '-h',
    '127.0.0.1',
    '-p',
    process.env.TESTENV_POSTGRES_PORT ?? '15432',
    '-U',
    'postgres',
    '-d',
    'ferretdb',
    '-tAc',
    sql,
  ]);
  return stdout.trim();
}

/** The PostgreSQL table FerretDB keeps a collection in. */
async function ferretTable(db: string, collection: string): Promise<string> {
  return psql(
    `SELECT table_name FROM "${db}"._ferretdb_database_metadata m, LATERAL (SELECT m._jsonb->>'table' AS table_name) t WHERE m._jsonb->>'_id' = '${collection}'`,
  );
}

async function scans(db: string, table: string): Promise<{ seq: number; idx: number }> {
  const row = await psql(
    `SELECT coalesce(seq_scan, 0) || ' ' || coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE schemaname = '${db}' AND relname = '${table}'`,
  );
  const [seq, idx] = row.split(' ').map(Number);
  return { seq, idx };
}
