import type { RequestListener } from 'node:http';
import type { Db } from 'mongodb';
import { buildService } from '@meshmart/kit';
import type { EventBus } from '@meshmart/kit/events';
import type { AuditLog } from '../../../services/audit/src/adapters/audit-log.ts';
import { InMemoryAuditLog } from '../../../services/audit/src/adapters/in-memory-audit-log.ts';
import { definition } from '../../../services/audit/src/service.ts';
import { storesEnv } from '../../support/service-env.ts';
import { testBus, testKit, type Backend } from '../../support/stores.ts';

export interface AuditFixture {
  readonly app: RequestListener;
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
 * The audit service built by its definition (service.ts) `replicas` times over one log, each replica a consumer in
 * the 'audit' group; `app` is the first's. Real: each replica connects to the test's FerretDB database and Redis
 * streams itself. Memory: the replicas share the publisher's in-process bus (as host) and one in-memory log.
 */
export async function auditFixture(backend: Backend, replicas = 1): Promise<AuditFixture> {
  const stores = await storesEnv(backend, 'audit');
  const bus = testBus(backend, 'publisher', stores.redis);
  const memory = backend === 'memory' ? new InMemoryAuditLog() : undefined;
  const replica = () =>
    buildService(definition, {
      env: stores.env,
      ...(memory ? { host: { bus }, overrides: { log: memory } } : {}),
      logger: testKit('audit').logger,
    });
  const built: Awaited<ReturnType<typeof replica>>[] = [];
  try {
    for (let i = 0; i < replicas; i++) built.push(await replica());
  } catch (err) {
    for (const b of built) await b.close();
    throw err;
  }
  const [first] = built;
  return {
    app: first.app,
    log: first.parts.log,
    bus,
    ...(stores.mongo ? { db: stores.mongo.db } : {}),
    ...(memory ? { memory } : {}),
    async close() {
      for (const b of built) await b.close();
      await bus.close();
      await stores.close();
    },
  };
}
