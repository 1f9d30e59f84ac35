import type { Db } from 'mongodb';
import type { EventBus, Subscription } from '@meshmart/kit/events';
import { createApp } from '../../../services/audit/src/app.ts';
import type { AuditLog } from '../../../services/audit/src/adapters/audit-log.ts';
import { InMemoryAuditLog } from '../../../services/audit/src/adapters/in-memory-audit-log.ts';
import { MongoAuditLog } from '../../../services/audit/src/adapters/mongo-audit-log.ts';
import { startAuditConsumers } from '../../../services/audit/src/consumers/audit-consumer.ts';
import { AuditTrail } from '../../../services/audit/src/domain/audit-trail.ts';
import {
  testBus,
  testKit,
  testMongo,
  testRedis,
  type Backend,
  type TestMongo,
  type TestRedis,
} from '../../support/stores.ts';

export interface AuditFixture {
  readonly app: ReturnType<typeof createApp>;
  readonly log: AuditLog;
  /** Set on the real backend: the database behind the log, for tampering. */
  readonly db?: Db;
  /** Set on the memory backend: the twin, for tampering. */
  readonly memory?: InMemoryAuditLog;
  /** A publisher's bus on the same streams the consumers read. */
  readonly bus: EventBus;
  close(): Promise<void>;
}

/**
 * The audit app with `consumers` consumers in the 'audit' group, each with its own trail and bus connection over the
 * same log (as separate replicas would have).
 */
export async function auditFixture(backend: Backend, consumers = 1): Promise<AuditFixture> {
  const kit = testKit('audit');
  let mongo: TestMongo | undefined;
  let redis: TestRedis | undefined;
  let log: AuditLog;
  let memory: InMemoryAuditLog | undefined;
  if (backend === 'real') {
    mongo = await testMongo('audit');
    redis = await testRedis('audit');
    const m = new MongoAuditLog(mongo.db);
    await m.ensureIndexes();
    log = m;
  } else {
    memory = new InMemoryAuditLog();
    log = memory;
  }
  // The in-process bus is one object per process: replicas share it, as they share one Redis.
  const bus = testBus(backend, 'publisher', redis);
  const buses: EventBus[] = [];
  const subscriptions: Subscription[] = [];
  let trail: AuditTrail | undefined;
  for (let i = 0; i < consumers; i++) {
    const own = backend === 'real' ? testBus(backend, 'audit', redis) : bus;
    if (own !== bus) buses.push(own);
    const t = new AuditTrail({ log });
    trail ??= t;
    subscriptions.push(
      ...(await startAuditConsumers({
        bus: own,
        trail: t,
        consumer: `audit-${i}`,
        retryDelayMs: 20,
      })),
    );
  }
  const app = createApp({ ...kit, log, trail: trail ?? new AuditTrail({ log }) });
  return {
    app,
    log,
    bus,
    ...(mongo ? { db: mongo.db } : {}),
    ...(memory ? { memory } : {}),
    async close() {
      await Promise.all(subscriptions.map((s) => s.close()));
      for (const b of buses) await b.close();
      await bus.close();
      await mongo?.close();
      await redis?.close();
    },
  };
}
