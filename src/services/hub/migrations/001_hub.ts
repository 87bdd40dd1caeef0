import { SqliteAdapter, type Kysely, type Migration } from 'kysely';

/**
 * The hub's read model, all of it rebuilt from events: `orders` (one row per order, current status
 * and totals), `timeline` (one entry per event about an order), `notifications` (the inbox; `read_at`
 * is the customer's own mark), `stream` (every change a customer's live page is told, numbered by
 * `position`, the SSE id).
 */
export const hubTables: Migration = {
  async up(db: Kysely<unknown>) {
    const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
    await db.schema
      .createTable('orders')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('total_cents', 'bigint', (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('item_count', 'integer', (c) => c.notNull())
      .addColumn('placed_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('orders_user').on('orders').columns(['user_id', 'placed_at', 'id']).execute();

    await db.schema
      .createTable('timeline')
      .addColumn('event_id', 'text', (c) => c.primaryKey())
      .addColumn('order_id', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('sentence', 'text', (c) => c.notNull())
      .addColumn('time', 'text', (c) => c.notNull())
      .addColumn('sequence', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('timeline_order').on('timeline').columns(['order_id', 'time', 'sequence']).execute();

    await db.schema
      .createTable('notifications')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('category', 'text', (c) => c.notNull())
      .addColumn('urgency', 'text', (c) => c.notNull())
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('body', 'text', (c) => c.notNull())
      .addColumn('link', 'text', (c) => c.notNull())
      .addColumn('order_id', 'text')
      .addColumn('source_event_id', 'text', (c) => c.notNull())
      .addColumn('source_type', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('sequence', 'bigint', (c) => c.notNull())
      .addColumn('read_at', 'text')
      .execute();
    await db.schema.createIndex('notifications_user').on('notifications').columns(['user_id', 'created_at', 'sequence']).execute();
    await db.schema.createIndex('notifications_unread').on('notifications').columns(['user_id', 'read_at']).execute();

    await db.schema
      .createTable('stream')
      // SQLite: an INTEGER PRIMARY KEY is the rowid, numbered in insertion order.
      .addColumn('position', sqlite ? 'integer' : 'bigserial', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('stream_user').on('stream').columns(['user_id', 'position']).execute();

  },
  async down(db: Kysely<unknown>) {
    for (const table of ['stream', 'notifications', 'timeline', 'orders']) await db.schema.dropTable(table).execute();
  },
};
