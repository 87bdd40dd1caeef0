import type { Kysely, Migration } from 'kysely';

/**
 * `delivery_targets`: where events go and how (one bus subscription each). `delivery_limiters`: each
 * target's limiter state, shared by every process that delivers for it (see limiter.ts).
 * `delivery_attempts`: every request sent (the seed's results backend).
 */
export const deliveryTables: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('delivery_targets')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('url', 'text', (c) => c.notNull())
      /** JSON array of types / patterns. */
      .addColumn('types', 'text', (c) => c.notNull())
      .addColumn('rate_limit', 'integer', (c) => c.notNull())
      .addColumn('rate_interval_ms', 'integer', (c) => c.notNull())
      .addColumn('burst', 'integer', (c) => c.notNull())
      .addColumn('timeout_ms', 'integer', (c) => c.notNull())
      .addColumn('max_in_flight', 'integer', (c) => c.notNull())
      .addColumn('ordering', 'text', (c) => c.notNull())
      .addColumn('content_mode', 'text', (c) => c.notNull())
      /** JSON object of extra request headers. */
      .addColumn('headers', 'text', (c) => c.notNull())
      /** JSON of the retry policy (bus RetryPolicy). */
      .addColumn('retry', 'text', (c) => c.notNull())
      /** JSON of the start position. */
      .addColumn('start_at', 'text', (c) => c.notNull())
      /** JSON array of `{ secret, expiresAt }`, newest first. */
      .addColumn('secrets', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('status_reason', 'text')
      .addColumn('circuit', 'text', (c) => c.notNull())
      .addColumn('circuit_changed_at', 'text')
      /** Grows on every change: processes restart their subscription when it does. */
      .addColumn('revision', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('delivery_limiters')
      .addColumn('target_id', 'text', (c) => c.primaryKey())
      /** GCRA theoretical arrival time, ms since the epoch. */
      .addColumn('tat', 'double precision', (c) => c.notNull())
      /** No request before this, ms since the epoch (what the target said). */
      .addColumn('paused_until', 'double precision', (c) => c.notNull())
      .addColumn('pause_reason', 'text')
      /** The target's own bucket size when it tells it (`X-Shopify-Shop-Api-Call-Limit`). */
      .addColumn('learned_size', 'integer')
      .execute();

    await db.schema
      .createTable('delivery_attempts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('target_id', 'text', (c) => c.notNull())
      .addColumn('event_id', 'text', (c) => c.notNull())
      .addColumn('event_type', 'text', (c) => c.notNull())
      .addColumn('attempt', 'integer', (c) => c.notNull())
      .addColumn('started_at', 'text', (c) => c.notNull())
      .addColumn('duration_ms', 'double precision', (c) => c.notNull())
      .addColumn('status', 'integer')
      /** JSON object. */
      .addColumn('response_headers', 'text')
      /** The first 4 KB of the response body. */
      .addColumn('response_body', 'text')
      .addColumn('error', 'text')
      .addColumn('outcome', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('delivery_attempts_target').on('delivery_attempts').columns(['target_id', 'started_at']).execute();
    await db.schema.createIndex('delivery_attempts_event').on('delivery_attempts').columns(['target_id', 'event_id']).execute();
  },
  async down(db: Kysely<unknown>) {
    for (const table of ['delivery_attempts', 'delivery_limiters', 'delivery_targets']) await db.schema.dropTable(table).execute();
  },
};
