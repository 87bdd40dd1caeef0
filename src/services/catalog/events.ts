/**
 * What the catalog publishes: products as event-carried state (`product.created` / `product.updated`
 * carry the whole product, so the orders service keeps its replica from them) and the stock facts.
 */
import type { PublishInput } from '../../bus/index.ts';
import type { EventData } from '../../contracts/index.ts';
import { productOf, type ProductRow } from './store.ts';

export const CATALOG_SOURCE = '/services/catalog';

export type CatalogEventType =
  | 'product.created'
  | 'product.updated'
  | 'stock.adjusted'
  | 'stock.reserved'
  | 'stock.reservation_failed'
  | 'stock.released'
  | 'stock.low';

/** One event the catalog publishes, typed from the catalog. */
export type CatalogEvent = { [K in CatalogEventType]: PublishInput<K> }[CatalogEventType];

/** The product fields every `product.*` event carries. */
export function productState(row: ProductRow): EventData<'product.created'> {
  const product = productOf(row);
  return {
    productId: product.id,
    number: product.number,
    sku: product.sku,
    name: product.name,
    ...(product.description === undefined ? {} : { description: product.description }),
    priceCents: product.priceCents,
    currency: product.currency,
    onHand: product.onHand,
    lowStockThreshold: product.lowStockThreshold,
    active: product.active,
  };
}

/**
 * Low means on hand at or below the threshold (the contract of `stock.low`); the event is published
 * only when a product becomes low, not on every change while it stays low.
 */
export function becameLow(before: { onHand: number; threshold: number }, after: { onHand: number; threshold: number }): boolean {
  return !(before.onHand <= before.threshold) && after.onHand <= after.threshold;
}

export function stockLowEvent(row: ProductRow, onHand: number): CatalogEvent {
  return {
    type: 'stock.low',
    source: CATALOG_SOURCE,
    data: { productId: row.id, sku: row.sku, name: row.name, onHand, threshold: Number(row.low_stock_threshold) },
  };
}
