/** Products by hand: an administrator creates and changes them; each change is one `product.*` event. */
import { v7 as uuidv7 } from 'uuid';
import { ApiError, notFound } from '../../platform/errors.ts';
import type { Dialect } from '../../platform/db.ts';
import { becameLow, CATALOG_SOURCE, productState, stockLowEvent, type CatalogEvent } from './events.ts';
import { lockProducts, nextProductNumber, type CatalogDb, type ProductRow, type ProductsTable } from './store.ts';

export interface NewProduct {
  readonly sku: string;
  readonly name: string;
  readonly description?: string;
  readonly priceCents: number;
  /** (Default: 'EUR') */
  readonly currency?: string;
  /** Units on hand to start with. (Default: 0) */
  readonly onHand?: number;
  /** `stock.low` when on hand falls to or below this. (Default: 0, an alert when sold out) */
  readonly lowStockThreshold?: number;
  /** (Default: true) */
  readonly active?: boolean;
}

export type ProductPatch = Partial<Pick<NewProduct, 'sku' | 'name' | 'description' | 'priceCents' | 'currency' | 'lowStockThreshold' | 'active'>>;

export interface ProductChange {
  readonly row: ProductRow;
  readonly events: CatalogEvent[];
}

const skuTaken = (sku: string) =>
  new ApiError(409, 'sku_taken', `another product already has sku ${sku}`, [{ path: '/body/sku', message: 'must be unique' }]);

async function assertSkuFree(trx: CatalogDb, sku: string, except?: string): Promise<void> {
  let query = trx.selectFrom('products').select('id').where('sku', '=', sku);
  if (except !== undefined) query = query.where('id', '!=', except);
  if (await query.executeTakeFirst()) throw skuTaken(sku);
}

export async function createProduct(trx: CatalogDb, input: NewProduct, now = new Date().toISOString()): Promise<ProductChange> {
  await assertSkuFree(trx, input.sku);
  const row: ProductRow = {
    id: uuidv7(),
    number: await nextProductNumber(trx),
    sku: input.sku,
    name: input.name,
    description: input.description ?? null,
    price_cents: input.priceCents,
    currency: input.currency ?? 'EUR',
    on_hand: input.onHand ?? 0,
    low_stock_threshold: input.lowStockThreshold ?? 0,
    active: input.active === false ? 0 : 1,
    rating_sum: 0,
    rating_count: 0,
    created_at: now,
    updated_at: now,
  };
  await trx.insertInto('products').values(row).execute();
  return { row, events: [{ type: 'product.created', source: CATALOG_SOURCE, data: productState(row) }] };
}

const COLUMNS = {
  sku: 'sku',
  name: 'name',
  description: 'description',
  priceCents: 'price_cents',
  currency: 'currency',
  lowStockThreshold: 'low_stock_threshold',
  active: 'active',
} as const satisfies Record<keyof ProductPatch, keyof ProductsTable>;

/** Applies the fields of `patch` that differ; no event when nothing changes. */
export async function updateProduct(trx: CatalogDb, dialect: Dialect, id: string, patch: ProductPatch, now = new Date().toISOString()): Promise<ProductChange> {
  const before = (await lockProducts(trx, dialect, [id])).get(id);
  if (!before) throw notFound(`no product ${id}`);
  const changes: Partial<ProductsTable> = {};
  const changed: string[] = [];
  for (const field of Object.keys(COLUMNS) as (keyof ProductPatch)[]) {
    const value = patch[field];
    if (value === undefined) continue;
    const column = COLUMNS[field];
    const stored = typeof value === 'boolean' ? (value ? 1 : 0) : value;
    if (before[column] === stored || (typeof stored === 'number' && Number(before[column]) === stored)) continue;
    Object.assign(changes, { [column]: stored });
    changed.push(field);
  }
  if (changed.length === 0) return { row: before, events: [] };
  if (changes.sku !== undefined) await assertSkuFree(trx, changes.sku, id);
  const row: ProductRow = { ...before, ...changes, updated_at: now };
  await trx.updateTable('products').set({ ...changes, updated_at: now }).where('id', '=', id).execute();
  const events: CatalogEvent[] = [{ type: 'product.updated', source: CATALOG_SOURCE, data: { ...productState(row), changed } }];
  const onHand = Number(row.on_hand);
  if (becameLow({ onHand, threshold: Number(before.low_stock_threshold) }, { onHand, threshold: Number(row.low_stock_threshold) })) {
    events.push(stockLowEvent(row, onHand));
  }
  return { row, events };
}
