import type { Kysely, Migration } from 'kysely';

/**
 * `payment_orders`: what payments learned from `order.placed` (amount, the single-use token until it
 * is used) and whether the order was cancelled. `payments`: one charge attempt per order, written
 * before the provider is called, so a redelivered event or a restart reuses the same idempotency key.
 */
export const paymentsTables: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('payment_orders')
      .addColumn('order_id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('amount_cents', 'bigint', (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('payment_token', 'text')
      .addColumn('cancel_reason', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('payments')
      .addColumn('order_id', 'text', (c) => c.primaryKey())
      .addColumn('payment_id', 'text', (c) => c.notNull().unique())
      .addColumn('idempotency_key', 'text', (c) => c.notNull().unique())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('amount_cents', 'bigint', (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('provider_charge_id', 'text')
      .addColumn('error', 'text')
      .addColumn('code', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('settled_at', 'text')
      .addColumn('refund_id', 'text', (c) => c.unique())
      .addColumn('refund_status', 'text')
      .addColumn('refund_reason', 'text')
      .addColumn('refunded_at', 'text')
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('payments').execute();
    await db.schema.dropTable('payment_orders').execute();
  },
};
