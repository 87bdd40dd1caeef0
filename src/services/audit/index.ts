/**
 * The audit projection: a consumer that applies every event once to its own database
 * (`<dataDir>/audit.db`, or schema `audit` with `DATABASE_URL`), on the same service runtime as the
 * shop. It proves the bus's promise of effectively-once effects end to end — the crash test kills
 * the server while producers publish and then checks that each stored event was applied exactly
 * once — and it is a small audit trail an operator can query. Enabled by `FLAMINGO_AUDIT_PROJECTION=1`.
 */
import { busTablesMigration, handleOnceBatch, type AnyPublishInput } from '../../bus/index.ts';
import { declareOpaqueReads } from '../../contracts/index.ts';
import { startServiceRuntime } from '../runtime.ts';
import type { ServiceDefinition } from '../service.ts';
import { auditTables } from './migrations/001_audit.ts';
import { auditStore, type AuditDatabase } from './store.ts';

/** The subscription name of the audit projection. */
export const AUDIT_SUBSCRIPTION = 'audit';

/** What the audit projection reads: every event whole, no field of `data` (it records events, it does not interpret them). */
export const auditReads = declareOpaqueReads(AUDIT_SUBSCRIPTION, ['*']);

/** Events the projection handles in one transaction when they are waiting. */
const AUDIT_BATCH = 100;

export const auditMigrations = { '000_bus': busTablesMigration, '001_audit': auditTables };

export type { AuditDatabase } from './store.ts';

/** The audit projection; it publishes nothing. */
export function auditService(): ServiceDefinition {
  return {
    name: 'audit',
    /** What its subscriptions read (issue 14). */
    reads: [auditReads],
    start: (context) =>
      startServiceRuntime<AuditDatabase, AnyPublishInput>(context, { name: 'audit', migrations: auditMigrations }, async (runtime) => {
        // The events first handled are applied together, in one statement of the inbox's transaction.
        const apply = handleOnceBatch<AuditDatabase>(runtime.db, async () => {}, { finish: (trx, handled) => auditStore.applyAll(trx, handled) });
        // A batch's deliveries are counted in one statement (its own transaction), then applied in another (the inbox's).
        await runtime.subscribeBatch({ name: AUDIT_SUBSCRIPTION, reads: auditReads, startAt: 'beginning', concurrency: 8, maxBatchSize: AUDIT_BATCH }, async (events, handlerContext) => {
          await auditStore.delivered(runtime.db, events.map((event) => event.id));
          return apply(events, handlerContext);
        });
        context.logger.info('audit projection running');
      }),
  };
}
