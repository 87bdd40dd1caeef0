import type { Kysely, Selectable } from 'kysely';
import type { Dialect } from '../../platform/db.ts';

export interface ProductsTable {
  id: string;
  number: number;
  sku: string;
  name: string;
  description: string | null;
  price_cents: number;
  currency: string;
  on_hand: number;
  low_stock_threshold: number;
  /** 1 or 0 (SQLite has no boolean). */
  active: number;
  rating_sum: number;
  rating_count: number;
  created_at: string;
  updated_at: string;
}

export interface ProductNumbersTable {
  name: string;
  value: number;
}

export interface StockAdjustmentsTable {
  id: string;
  product_id: string;
  delta: number;
  reason: string;
  note: string | null;
  on_hand: number;
  created_at: string;
}

/** What the catalog did with one order: `reserved`, `failed`, `released`, or `cancelled` before anything was reserved. */
export type OrderStockStatus = 'reserved' | 'failed' | 'released' | 'cancelled';

export interface OrderStockTable {
  order_id: string;
  status: OrderStockStatus;
  updated_at: string;
}

export interface ReservationsTable {
  order_id: string;
  product_id: string;
  quantity: number;
}

export interface ProductRatingsTable {
  review_id: string;
  product_id: string;
  /** Null while only the flag is known (the flag overtook the review). */
  rating: number | null;
  /** 1 while the rating is in the product's totals. */
  counted: number;
  flagged: number;
}

export interface CatalogDatabase {
  products: ProductsTable;
  product_numbers: ProductNumbersTable;
  stock_adjustments: StockAdjustmentsTable;
  order_stock: OrderStockTable;
  reservations: ReservationsTable;
  product_ratings: ProductRatingsTable;
}

export type CatalogDb = Kysely<CatalogDatabase>;
export type ProductRow = Selectable<ProductsTable>;

/** A product as the HTTP API shows it. */
export interface Product {
  readonly id: string;
  readonly number: number;
  readonly sku: string;
  readonly name: string;
  readonly description?: string;
  readonly priceCents: number;
  readonly currency: string;
  readonly onHand: number;
  readonly lowStockThreshold: number;
  readonly active: boolean;
  /** From `product.reviewed`, without flagged reviews; `average` is null before the first review. */
  readonly rating: { readonly average: number | null; readonly count: number };
  readonly createdAt: string;
  readonly updatedAt: string;
}

export function productOf(row: ProductRow): Product {
  const count = Number(row.rating_count);
  return {
    id: row.id,
    number: Number(row.number),
    sku: row.sku,
    name: row.name,
    ...(row.description === null ? {} : { description: row.description }),
    priceCents: Number(row.price_cents),
    currency: row.currency,
    onHand: Number(row.on_hand),
    lowStockThreshold: Number(row.low_stock_threshold),
    active: Number(row.active) === 1,
    rating: { average: count === 0 ? null : Math.round((Number(row.rating_sum) / count) * 100) / 100, count },
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function findProduct(db: CatalogDb, id: string): Promise<ProductRow | undefined> {
  return db.selectFrom('products').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * The rows of `ids`, locked until the transaction ends on PostgreSQL (in id order, so two
 * transactions never wait on each other crosswise); SQLite runs one transaction at a time anyway.
 */
export async function lockProducts(trx: CatalogDb, dialect: Dialect, ids: readonly string[]): Promise<Map<string, ProductRow>> {
  if (ids.length === 0) return new Map();
  let query = trx.selectFrom('products').selectAll().where('id', 'in', [...ids]).orderBy('id');
  if (dialect === 'postgres') query = query.forUpdate();
  const rows = await query.execute();
  return new Map(rows.map((row) => [row.id, row]));
}

export interface ProductPage {
  readonly products: Product[];
  /** Pass as `after` for the next page; absent on the last one. */
  readonly next?: string;
}

/** Products in creation order (ids are UUIDv7), `limit` at a time after the id `after`. */
export async function listProducts(db: CatalogDb, options: { limit: number; after?: string; activeOnly?: boolean }): Promise<ProductPage> {
  let query = db.selectFrom('products').selectAll().orderBy('id').limit(options.limit + 1);
  if (options.after !== undefined) query = query.where('id', '>', options.after);
  if (options.activeOnly) query = query.where('active', '=', 1);
  const rows = await query.execute();
  const page = rows.slice(0, options.limit).map(productOf);
  return rows.length > options.limit ? { products: page, next: page[page.length - 1].id } : { products: page };
}

/** The next catalog number; the counter row stays locked until the transaction ends. */
export async function nextProductNumber(trx: CatalogDb): Promise<number> {
  const bumped = await trx
    .updateTable('product_numbers')
    .set((eb) => ({ value: eb('value', '+', 1) }))
    .where('name', '=', 'product')
    .returning('value')
    .executeTakeFirstOrThrow();
  return Number(bumped.value);
}

/** True for a unique-constraint violation on either dialect. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
