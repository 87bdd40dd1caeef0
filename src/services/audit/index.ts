/**
 * The audit projection: a built-in consumer that applies every event once to its own database
 * (`<dataDir>/audit.db`, or schema `audit` with `DATABASE_URL`). It proves the bus's promise of
 * effectively-once effects end to end — the crash test kills the server while producers publish
 * and then checks that each stored event was applied exactly once — and it is a small audit
 * trail an operator can query. Enabled by `FLAMINGO_AUDIT_PROJECTION=1`.
 */
import { sql, type Kysely, type Migration, type Transaction } from 'kysely';
import { busTablesMigration, handleOnce, type DeliveredEvent } from '../../bus/index.ts';
import { migrate, openDatabase } from '../../platform/db.ts';
import type { ServiceDefinition } from '../service.ts';

/** The subscription name of the audit projection. */
export const AUDIT_SUBSCRIPTION = 'audit';

export interface AuditDatabase {
  /** One row per applied event; `applications` stays 1 when `handleOnce` keeps its promise. */
  audit_events: { event_id: string; sequence: number; type: string; subject: string | null; applications: number };
  /** Deliveries seen, redeliveries included (outside the transaction: at-least-once is visible here). */
  audit_deliveries: { event_id: string; deliveries: number };
}

const migrations: Record<string, Migration> = {
  '000_bus': busTablesMigration,
  '001_audit': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('audit_events')
        .addColumn('event_id', 'text', (c) => c.primaryKey())
        .addColumn('sequence', 'bigint', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('subject', 'text')
        .addColumn('applications', 'integer', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('audit_deliveries')
        .addColumn('event_id', 'text', (c) => c.primaryKey())
        .addColumn('deliveries', 'integer', (c) => c.notNull())
        .execute();
    },
  },
};

/** The effect, inside `handleOnce`'s transaction; counting applications makes a second one visible. */
async function apply(event: DeliveredEvent, trx: Transaction<AuditDatabase>): Promise<void> {
  await trx
    .insertInto('audit_events')
    .values({ event_id: event.id, sequence: event.sequence, type: event.type, subject: event.subject ?? null, applications: 1 })
    .onConflict((oc) => oc.column('event_id').doUpdateSet({ applications: sql`audit_events.applications + 1` }))
    .execute();
}

export const auditProjection: ServiceDefinition = {
  name: 'audit',
  async start({ bus, database, logger }) {
    const handle = await openDatabase<AuditDatabase>('audit', database);
    await migrate(handle.db, migrations);
    const { db } = handle;
    const applyOnce = handleOnce(db, apply);
    const subscription = await bus.subscribe({ name: AUDIT_SUBSCRIPTION, types: ['*'], startAt: 'beginning', concurrency: 8 }, async (event, context) => {
      await db
        .insertInto('audit_deliveries')
        .values({ event_id: event.id, deliveries: 1 })
        .onConflict((oc) => oc.column('event_id').doUpdateSet({ deliveries: sql`audit_deliveries.deliveries + 1` }))
        .execute();
      await applyOnce(event, context);
    });
    logger.info({ location: handle.location }, 'audit projection running');
    return {
      async stop() {
        await subscription.close();
        await handle.close();
      },
    };
  },
};
