import type { Kysely, Migration } from 'kysely';

/** The sandbox provider's own books: charges and refunds remembered by idempotency key, as Stripe does. */
export const sandboxTables: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('sandbox_charges')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('idempotency_key', 'text', (c) => c.notNull().unique())
      .addColumn('token', 'text', (c) => c.notNull())
      .addColumn('amount_cents', 'bigint', (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('failure_message', 'text')
      .addColumn('failure_code', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('settles_at', 'text', (c) => c.notNull())
      .addColumn('settled_at', 'text')
      .execute();

    await db.schema
      .createTable('sandbox_refunds')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('idempotency_key', 'text', (c) => c.notNull().unique())
      .addColumn('charge_id', 'text', (c) => c.notNull().unique())
      .addColumn('amount_cents', 'bigint', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('sandbox_refunds').execute();
    await db.schema.dropTable('sandbox_charges').execute();
  },
};
