import type { Kysely, Migration } from 'kysely';

/**
 * `cart_products`: the webshop's replica of the catalog (from `product.created` / `product.updated`),
 * enough to price a cart; `carts` and `cart_items`: the carts themselves.
 */
export const cartsTables: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('cart_products')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('number', 'integer')
      .addColumn('sku', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('price_cents', 'integer', (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('active', 'integer', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('carts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('order_id', 'text', (c) => c.unique())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('checked_out_at', 'text')
      .execute();

    await db.schema
      .createTable('cart_items')
      .addColumn('cart_id', 'text', (c) => c.notNull())
      .addColumn('product_id', 'text', (c) => c.notNull())
      .addColumn('quantity', 'integer', (c) => c.notNull())
      .addColumn('added_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('cart_items_pk', ['cart_id', 'product_id'])
      .execute();
  },
  async down(db: Kysely<unknown>) {
    for (const table of ['cart_items', 'carts', 'cart_products']) await db.schema.dropTable(table).execute();
  },
};
