import { InMemoryAuditLog } from '../../../../services/audit/src/adapters/in-memory-audit-log.ts';
import { MongoAuditLog } from '../../../../services/audit/src/adapters/mongo-audit-log.ts';
import { testMongo } from '../../../support/stores.ts';
import { auditLogContract } from './audit-log.contract.ts';

describe('audit log [memory]', () => {
  auditLogContract(() => Promise.resolve({ log: new InMemoryAuditLog(), close: () => Promise.resolve() }));
});

describe('audit log [real]', () => {
  auditLogContract(async () => {
    const mongo = await testMongo('audit_log');
    const log = new MongoAuditLog(mongo.db);
    await log.ensureIndexes();
    return { log, close: () => mongo.close() };
  });
});
