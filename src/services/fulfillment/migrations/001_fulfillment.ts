import type { Kysely, Migration } from 'kysely';

/**
 * `shipments`: one per confirmed order, created → dispatched → delivered. `order_addresses`: where a
 * placed order goes (from `order.placed`), kept only until its shipment is created or it is cancelled.
 */
export const fulfillmentTables: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('shipments')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('order_id', 'text', (c) => c.notNull().unique())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('items', 'text', (c) => c.notNull())
      .addColumn('address', 'text')
      .addColumn('carrier', 'text')
      .addColumn('tracking_number', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('dispatched_at', 'text')
      .addColumn('delivered_at', 'text')
      .execute();
    await db.schema.createIndex('shipments_user').on('shipments').columns(['user_id', 'id']).execute();

    await db.schema
      .createTable('order_addresses')
      .addColumn('order_id', 'text', (c) => c.primaryKey())
      .addColumn('address', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('order_addresses').execute();
    await db.schema.dropTable('shipments').execute();
  },
};
