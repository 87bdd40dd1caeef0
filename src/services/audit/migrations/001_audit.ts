import type { Kysely, Migration } from 'kysely';

/** One row per applied event, and the deliveries seen per event. */
export const auditTables: Migration = {
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
};
