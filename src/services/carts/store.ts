import type { Kysely, Selectable } from 'kysely';
import type { Dialect } from '../../platform/db.ts';

/** The catalog as the webshop knows it, from `product.created` / `product.updated`. */
export interface CartProductsTable {
  id: string;
  number: number | null;
  sku: string;
  name: string;
  price_cents: number;
  currency: string;
  active: number;
  updated_at: string;
}

export type CartStatus = 'open' | 'checked_out';

export interface CartsTable {
  id: string;
  user_id: string | null;
  status: CartStatus;
  /** The order the cart became at checkout. */
  order_id: string | null;
  created_at: string;
  updated_at: string;
  checked_out_at: string | null;
}

export interface CartItemsTable {
  cart_id: string;
  product_id: string;
  quantity: number;
  added_at: string;
}

export interface CartsDatabase {
  cart_products: CartProductsTable;
  carts: CartsTable;
  cart_items: CartItemsTable;
}

export type CartsDb = Kysely<CartsDatabase>;
export type CartRow = Selectable<CartsTable>;
export type CartProductRow = Selectable<CartProductsTable>;

/** One line of a cart, priced from the replica as it is now. */
export interface CartLine {
  readonly productId: string;
  readonly number: number | null;
  readonly sku: string;
  readonly name: string;
  readonly quantity: number;
  readonly unitPriceCents: number;
  readonly currency: string;
  readonly active: boolean;
}

export interface Cart {
  readonly id: string;
  readonly userId?: string;
  readonly status: CartStatus;
  readonly orderId?: string;
  readonly items: CartLine[];
  readonly totalCents: number;
  /** The currency of the items; absent for an empty cart. */
  readonly currency?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** The cart row, locked until the transaction ends on PostgreSQL. */
export async function lockCart(trx: CartsDb, dialect: Dialect, id: string): Promise<CartRow | undefined> {
  let query = trx.selectFrom('carts').selectAll().where('id', '=', id);
  if (dialect === 'postgres') query = query.forUpdate();
  return query.executeTakeFirst();
}

/** The lines of a cart in the order they were added. */
export async function linesOf(db: CartsDb, cartId: string): Promise<CartLine[]> {
  const rows = await db
    .selectFrom('cart_items')
    .innerJoin('cart_products', 'cart_products.id', 'cart_items.product_id')
    .select([
      'cart_items.product_id',
      'cart_items.quantity',
      'cart_products.number',
      'cart_products.sku',
      'cart_products.name',
      'cart_products.price_cents',
      'cart_products.currency',
      'cart_products.active',
    ])
    .where('cart_items.cart_id', '=', cartId)
    .orderBy('cart_items.added_at')
    .orderBy('cart_items.product_id')
    .execute();
  return rows.map((r) => ({
    productId: r.product_id,
    number: r.number === null ? null : Number(r.number),
    sku: r.sku,
    name: r.name,
    quantity: Number(r.quantity),
    unitPriceCents: Number(r.price_cents),
    currency: r.currency,
    active: Number(r.active) === 1,
  }));
}

export function cartOf(row: CartRow, items: CartLine[]): Cart {
  return {
    id: row.id,
    ...(row.user_id === null ? {} : { userId: row.user_id }),
    status: row.status,
    ...(row.order_id === null ? {} : { orderId: row.order_id }),
    items,
    totalCents: items.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0),
    ...(items.length === 0 ? {} : { currency: items[0].currency }),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function findCart(db: CartsDb, id: string): Promise<Cart | undefined> {
  const row = await db.selectFrom('carts').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? cartOf(row, await linesOf(db, id)) : undefined;
}
