import { sql, type Kysely, type Migration } from 'kysely';

/**
 * `products` with their on-hand stock and rating totals; `product_numbers`, the counter of catalog
 * numbers; `stock_adjustments`, the audit of changes by hand; `order_stock` and `reservations`, what
 * each order holds (so a release gives back exactly that, once); `product_ratings`, the reviews
 * counted into the averages (so a flagged review can be taken out again).
 */
export const catalogTables: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('products')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('number', 'integer', (c) => c.notNull().unique())
      .addColumn('sku', 'text', (c) => c.notNull().unique())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('description', 'text')
      .addColumn('price_cents', 'integer', (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('on_hand', 'integer', (c) => c.notNull())
      .addColumn('low_stock_threshold', 'integer', (c) => c.notNull())
      .addColumn('active', 'integer', (c) => c.notNull())
      .addColumn('rating_sum', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('rating_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('product_numbers')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('value', 'integer', (c) => c.notNull())
      .execute();
    await sql`insert into product_numbers (name, value) values ('product', 0)`.execute(db);

    await db.schema
      .createTable('stock_adjustments')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('product_id', 'text', (c) => c.notNull())
      .addColumn('delta', 'integer', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('note', 'text')
      .addColumn('on_hand', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('stock_adjustments_product').on('stock_adjustments').columns(['product_id', 'id']).execute();

    await db.schema
      .createTable('order_stock')
      .addColumn('order_id', 'text', (c) => c.primaryKey())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('reservations')
      .addColumn('order_id', 'text', (c) => c.notNull())
      .addColumn('product_id', 'text', (c) => c.notNull())
      .addColumn('quantity', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('reservations_pk', ['order_id', 'product_id'])
      .execute();

    await db.schema
      .createTable('product_ratings')
      .addColumn('review_id', 'text', (c) => c.primaryKey())
      .addColumn('product_id', 'text', (c) => c.notNull())
      .addColumn('rating', 'integer')
      .addColumn('counted', 'integer', (c) => c.notNull())
      .addColumn('flagged', 'integer', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>) {
    for (const table of ['product_ratings', 'reservations', 'order_stock', 'stock_adjustments', 'product_numbers', 'products']) {
      await db.schema.dropTable(table).execute();
    }
  },
};
