import type { Kysely, Migration } from 'kysely';

/**
 * `notifications`: one per (source event, customer), the id derived from both. `recipients` and
 * `order_owners`: who a notification goes to, learnt from `user.*` and `order.placed`.
 * `preferences`: a customer's choices that differ from the defaults. `email_outbox`: one row per
 * email to send, claimed with a lease, retried with backoff until sent.
 */
export const notificationsTables: Migration = {
  async up(db: Kysely<unknown>) {
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
      .execute();
    await db.schema.createIndex('notifications_user').on('notifications').columns(['user_id', 'created_at']).execute();

    await db.schema
      .createTable('recipients')
      .addColumn('user_id', 'text', (c) => c.primaryKey())
      .addColumn('email', 'text', (c) => c.notNull())
      .addColumn('name', 'text')
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('order_owners')
      .addColumn('order_id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('preferences')
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('category', 'text', (c) => c.notNull())
      .addColumn('email', 'integer', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('preferences_pk', ['user_id', 'category'])
      .execute();

    await db.schema
      .createTable('email_outbox')
      .addColumn('notification_id', 'text', (c) => c.primaryKey())
      .addColumn('priority', 'integer', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('next_attempt_at', 'text', (c) => c.notNull())
      .addColumn('last_error', 'text')
      .addColumn('sent_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('email_outbox_due').on('email_outbox').columns(['status', 'priority', 'next_attempt_at']).execute();
  },
  async down(db: Kysely<unknown>) {
    for (const table of ['email_outbox', 'preferences', 'order_owners', 'recipients', 'notifications']) await db.schema.dropTable(table).execute();
  },
};
