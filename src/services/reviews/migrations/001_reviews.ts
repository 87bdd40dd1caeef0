import type { Kysely, Migration } from 'kysely';

/**
 * `reviews`: what customers wrote, `published` or `flagged` by moderation. `review_products`: the
 * products that exist (from the catalog's events). `user_bans`: who is banned (from `user.banned` /
 * `user.unbanned`), so a banned customer cannot review.
 */
export const reviewsTables: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('reviews')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('product_id', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('rating', 'integer', (c) => c.notNull())
      .addColumn('title', 'text')
      .addColumn('comment', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('flag_reasons', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('flagged_at', 'text')
      .addUniqueConstraint('reviews_one_per_customer', ['product_id', 'user_id'])
      .execute();
    await db.schema.createIndex('reviews_product').on('reviews').columns(['product_id', 'id']).execute();
    await db.schema.createIndex('reviews_user').on('reviews').columns(['user_id', 'id']).execute();

    await db.schema
      .createTable('review_products')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('active', 'integer', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('user_bans')
      .addColumn('user_id', 'text', (c) => c.primaryKey())
      .addColumn('banned', 'integer', (c) => c.notNull())
      .addColumn('until', 'text')
      .addColumn('reason', 'text')
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>) {
    for (const table of ['user_bans', 'review_products', 'reviews']) await db.schema.dropTable(table).execute();
  },
};
