/**
 * Stock on hand: adjustments by hand, the all-or-nothing reservation of an order's lines on
 * `order.placed`, and the release of exactly what an order held on `order.cancelled`.
 * A reservation takes the units off `on_hand` at once (they are sold unless the order is cancelled).
 */
import { v7 as uuidv7 } from 'uuid';
import { MAX_QUANTITY, type EventData } from '../../contracts/index.ts';
import type { Dialect } from '../../platform/db.ts';
import { ApiError, notFound, unprocessable } from '../../platform/errors.ts';
import { becameLow, CATALOG_SOURCE, stockLowEvent, type CatalogEvent } from './events.ts';
import { lockProducts, type CatalogDb, type OrderStockStatus, type ProductRow } from './store.ts';

export type AdjustmentReason = EventData<'stock.adjusted'>['reason'];

export interface Adjustment {
  /** Units added (positive) or removed (negative); never zero. */
  readonly delta: number;
  readonly reason: AdjustmentReason;
  readonly note?: string;
}

export interface StockChange {
  readonly row: ProductRow;
  readonly events: CatalogEvent[];
}

function lowEvents(rows: readonly ProductRow[], deltas: ReadonlyMap<string, number>): CatalogEvent[] {
  const events: CatalogEvent[] = [];
  for (const row of rows) {
    const threshold = Number(row.low_stock_threshold);
    const before = Number(row.on_hand);
    const after = before + (deltas.get(row.id) ?? 0);
    if (becameLow({ onHand: before, threshold }, { onHand: after, threshold })) events.push(stockLowEvent(row, after));
  }
  return events;
}

/**
 * Adds or removes units by hand; refuses to go below zero (409 `insufficient_stock`) or above
 * `MAX_QUANTITY` (422 `too_much_stock`): the PostgreSQL `integer` column keeps room for the units
 * held by orders to come back.
 */
export async function adjustStock(trx: CatalogDb, dialect: Dialect, productId: string, adjustment: Adjustment, now = new Date().toISOString()): Promise<StockChange> {
  const before = (await lockProducts(trx, dialect, [productId])).get(productId);
  if (!before) throw notFound(`no product ${productId}`);
  const onHand = Number(before.on_hand) + adjustment.delta;
  if (onHand < 0) {
    throw new ApiError(409, 'insufficient_stock', `only ${before.on_hand} on hand; stock cannot go below zero`, [
      { path: '/body/delta', message: `must be >= ${-Number(before.on_hand)}` },
    ]);
  }
  if (onHand > MAX_QUANTITY) {
    throw unprocessable('too_much_stock', `at most ${MAX_QUANTITY} units may be on hand; ${before.on_hand} are`, [
      { path: '/body/delta', message: `must be <= ${MAX_QUANTITY - Number(before.on_hand)}` },
    ]);
  }
  await trx.updateTable('products').set({ on_hand: onHand, updated_at: now }).where('id', '=', productId).execute();
  await trx
    .insertInto('stock_adjustments')
    .values({ id: uuidv7(), product_id: productId, delta: adjustment.delta, reason: adjustment.reason, note: adjustment.note ?? null, on_hand: onHand, created_at: now })
    .execute();
  const events: CatalogEvent[] = [
    {
      type: 'stock.adjusted',
      source: CATALOG_SOURCE,
      data: { productId, delta: adjustment.delta, onHand, reason: adjustment.reason, ...(adjustment.note === undefined ? {} : { note: adjustment.note }) },
    },
    ...lowEvents([before], new Map([[productId, adjustment.delta]])),
  ];
  return { row: { ...before, on_hand: onHand, updated_at: now }, events };
}

/**
 * Order statuses read ahead for a batch's transaction (`readOrderStatuses`): order id → status, or
 * null for none; `setOrderStatus` keeps it up to date. A transaction without it reads each itself.
 */
const statusesAhead = new WeakMap<CatalogDb, Map<string, OrderStockStatus | null>>();

/**
 * Reads, in `trx`, the stock status of every order of a batch in one statement (locked on
 * PostgreSQL, as `orderStatus` locks one), instead of one statement an event.
 */
export async function readOrderStatuses(trx: CatalogDb, dialect: Dialect, orderIds: readonly string[]): Promise<void> {
  const known = new Map<string, OrderStockStatus | null>(orderIds.map((id) => [id, null]));
  if (known.size === 0) return;
  let query = trx.selectFrom('order_stock').select(['order_id', 'status']).where('order_id', 'in', [...known.keys()]).orderBy('order_id');
  if (dialect === 'postgres') query = query.forUpdate();
  for (const row of await query.execute()) known.set(row.order_id, row.status);
  statusesAhead.set(trx, known);
}

async function orderStatus(trx: CatalogDb, dialect: Dialect, orderId: string): Promise<OrderStockStatus | undefined> {
  const ahead = statusesAhead.get(trx)?.get(orderId);
  if (ahead !== undefined) return ahead ?? undefined;
  let query = trx.selectFrom('order_stock').select('status').where('order_id', '=', orderId);
  if (dialect === 'postgres') query = query.forUpdate();
  return (await query.executeTakeFirst())?.status;
}

async function setOrderStatus(trx: CatalogDb, orderId: string, status: OrderStockStatus, now: string): Promise<void> {
  await trx
    .insertInto('order_stock')
    .values({ order_id: orderId, status, updated_at: now })
    .onConflict((oc) => oc.column('order_id').doUpdateSet({ status, updated_at: now }))
    .execute();
  statusesAhead.get(trx)?.set(orderId, status);
}

/** The order's lines with one line per product (quantities of repeated products added up), in first-seen order. */
function linesOf(items: readonly { productId: string; quantity: number }[]): { productId: string; quantity: number }[] {
  const quantities = new Map<string, number>();
  for (const { productId, quantity } of items) quantities.set(productId, (quantities.get(productId) ?? 0) + quantity);
  return [...quantities].map(([productId, quantity]) => ({ productId, quantity }));
}

/**
 * Reserves every line of an order or none: `stock.reserved`, or `stock.reservation_failed` naming
 * the first line that cannot be served. An order seen before (reserved, failed or already
 * cancelled) publishes nothing again.
 */
export async function reserveForOrder(trx: CatalogDb, dialect: Dialect, order: Pick<EventData<'order.placed'>, 'orderId' | 'items'>, now = new Date().toISOString()): Promise<CatalogEvent[]> {
  const { orderId } = order;
  if ((await orderStatus(trx, dialect, orderId)) !== undefined) return [];
  const lines = linesOf(order.items);
  const products = await lockProducts(trx, dialect, lines.map((l) => l.productId));
  for (const { productId, quantity } of lines) {
    const product = products.get(productId);
    const available = product ? Number(product.on_hand) : 0;
    const reason = !product ? 'unknown_product' : Number(product.active) !== 1 ? 'inactive_product' : available < quantity ? 'insufficient_stock' : undefined;
    if (reason !== undefined) {
      await setOrderStatus(trx, orderId, 'failed', now);
      return [{ type: 'stock.reservation_failed', source: CATALOG_SOURCE, data: { orderId, productId, requested: quantity, available, reason } }];
    }
  }
  const deltas = new Map<string, number>();
  for (const { productId, quantity } of lines) {
    await trx
      .updateTable('products')
      .set((eb) => ({ on_hand: eb('on_hand', '-', quantity), updated_at: now }))
      .where('id', '=', productId)
      .execute();
    deltas.set(productId, -quantity);
  }
  await trx
    .insertInto('reservations')
    .values(lines.map((l) => ({ order_id: orderId, product_id: l.productId, quantity: l.quantity })))
    .execute();
  await setOrderStatus(trx, orderId, 'reserved', now);
  return [{ type: 'stock.reserved', source: CATALOG_SOURCE, data: { orderId, items: lines } }, ...lowEvents([...products.values()], deltas)];
}

/**
 * Gives back what the order holds, once: `stock.released` with exactly the reserved lines. An order
 * cancelled before its reservation is remembered, so a late `order.placed` reserves nothing.
 */
export async function releaseForOrder(trx: CatalogDb, dialect: Dialect, orderId: string, now = new Date().toISOString()): Promise<CatalogEvent[]> {
  const status = await orderStatus(trx, dialect, orderId);
  if (status === undefined) {
    await setOrderStatus(trx, orderId, 'cancelled', now);
    return [];
  }
  if (status !== 'reserved') return [];
  const held = await trx.selectFrom('reservations').select(['product_id', 'quantity']).where('order_id', '=', orderId).orderBy('product_id').execute();
  await lockProducts(trx, dialect, held.map((r) => r.product_id));
  for (const { product_id, quantity } of held) {
    await trx
      .updateTable('products')
      .set((eb) => ({ on_hand: eb('on_hand', '+', Number(quantity)), updated_at: now }))
      .where('id', '=', product_id)
      .execute();
  }
  await setOrderStatus(trx, orderId, 'released', now);
  const items = held.map((r) => ({ productId: r.product_id, quantity: Number(r.quantity) }));
  return items.length === 0 ? [] : [{ type: 'stock.released', source: CATALOG_SOURCE, data: { orderId, items, reason: 'order_cancelled' } }];
}
