/**
 * The audit projection: a consumer that applies every event once to its own database
 * (`<dataDir>/audit.db`, or schema `audit` with `DATABASE_URL`), on the same service runtime as the
 * shop. It proves the bus's promise of effectively-once effects end to end — the crash test kills
 * the server while producers publish and then checks that each stored event was applied exactly
 * once — and it is a small audit trail an operator can query. Enabled by `FLAMINGO_AUDIT_PROJECTION=1`.
 */
import { busTablesMigration, type AnyPublishInput } from '../../bus/index.ts';
import { declareOpaqueReads } from '../../contracts/index.ts';
import { startServiceRuntime } from '../runtime.ts';
import type { ServiceDefinition } from '../service.ts';
import { auditTables } from './migrations/001_audit.ts';
import { auditStore, type AuditDatabase } from './store.ts';

/** The subscription name of the audit projection. */
export const AUDIT_SUBSCRIPTION = 'audit';

/** What the audit projection reads: every event whole, no field of `data` (it records events, it does not interpret them). */
export const auditReads = declareOpaqueReads(AUDIT_SUBSCRIPTION, ['*']);

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
        await runtime.subscribe({ name: AUDIT_SUBSCRIPTION, reads: auditReads, startAt: 'beginning', concurrency: 8 }, async (event, handlerContext) => {
          await auditStore.delivered(runtime.db, event.id);
          await runtime.once(event, handlerContext, async (trx) => {
            await auditStore.apply(trx, event);
            return [];
          });
        });
        context.logger.info('audit projection running');
      }),
  };
}
